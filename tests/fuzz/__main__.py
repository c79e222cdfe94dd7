"""`python -m tests.fuzz`: fuzz the API for a time budget with a fixed, printed seed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tests.fuzz.run import SOURCES, fuzz

DEFAULT_SEED = 19


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--seed", type=int,
                        default=int(os.environ.get("FUZZ_SEED") or DEFAULT_SEED))
    parser.add_argument("--seconds", type=float,
                        default=float(os.environ.get("FUZZ_SECONDS") or 600))
    parser.add_argument("--spec", choices=(*SOURCES, "both"),
                        default=os.environ.get("FUZZ_SPEC") or "both",
                        help="whose OpenAPI document drives the requests")
    parser.add_argument("--workdir", type=Path, default=Path("build/fuzz"),
                        help="server logs and summary.json")
    args = parser.parse_args()
    sources = SOURCES if args.spec == "both" else (args.spec,)
    print(f"fuzz seed: {args.seed} (FUZZ_SEED={args.seed} repeats this run)", flush=True)
    summary = fuzz(args.seed, args.seconds, sources, args.workdir,
                   say=lambda line: print(line, flush=True))
    (args.workdir / "summary.json").write_text(json.dumps(summary.as_json(), indent=2))
    print(summary.text())
    print(f"summary: {args.workdir / 'summary.json'}")
    return 1 if summary.findings else 0


if __name__ == "__main__":
    sys.exit(main())

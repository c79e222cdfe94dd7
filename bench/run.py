"""`python -m bench.run [core|all] ...` (what `make bench` runs): run benchmark modules and
rewrite each one's section of bench/RESULTS.md.

A benchmark module exposes ``SECTION`` (its marker name) and ``run(argv) -> str`` (its
Markdown section, starting with ``bench.results.run_header``); add it to ``MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from bench.results import RESULTS, replace_section

# name -> module; "all" runs them in this order.
MODULES: dict[str, str] = {
    "core": "bench.core",
    "kv": "bench.kv",
    "audit": "bench.audit",
    "leases": "bench.leases",
    "transit": "bench.transit",
    "cost": "bench.cost",
    "instructions": "bench.instructions",
    "logins": "bench.logins",
    "external": "bench.external",
    "database": "bench.database",
    "pki": "bench.pki",
    "scale": "bench.scale",
    "markers": "bench.markers",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="|".join([*MODULES, "all"]))
    names = parser.parse_args(argv).names or ["all"]
    unknown = set(names) - {*MODULES, "all"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    selected = list(MODULES) if "all" in names else list(dict.fromkeys(names))
    for name in selected:
        started = time.monotonic()
        print(f"bench: running {name} ...", flush=True)
        module = importlib.import_module(MODULES[name])
        section = module.run(argv)
        replace_section(module.SECTION, section)
        print(f"bench: {name} done in {time.monotonic() - started:.0f} s -> {RESULTS}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

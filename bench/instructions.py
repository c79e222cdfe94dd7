"""Instructions and simulated cache misses per warm request, under valgrind's callgrind.

The CPU figures of bench.core and bench.kv move by 2x between runs minutes apart on this
shared machine: most of a warm request's CPU is cache misses after the idle wait of its
DynamoDB call, and how cold the caches are depends on what else the host ran. Callgrind
counts instead of timing, so these figures repeat to within a few parts in a thousand
whatever the load; they measure our work, not the comparison with OpenBao (that stays in
the core and kv sections).

Each request runs in a `python -m bench.callgrind_target` process under callgrind, with
collection on for our code only (see that module): botocore and the waits are not counted,
and the caches are thrashed before each AWS call. The cache model is an L1 of 32 KiB and a
last level of 1 MiB (about this machine's L2 per core); the cycle estimate weighs a miss at
10 and 60 instructions, a model for ranking work, not a measurement of time.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.common import PYTHON, ROOT, BenchError, MotoServer, aws_environ, worker
from bench.results import run_header

SECTION = "instructions"
TITLE = "Instructions per warm request (callgrind)"

REQUESTS = 20  # per path; counts are per request and repeat run to run
PATHS = ("sys/mounts", "auth/token/lookup-self", "secret/data/bench-read")
CACHES = ("--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64")
L1_WEIGHT, LL_WEIGHT = 10, 60
# Callgrind's client requests, for ctypes: collection on and off from Python.
SHIM_SOURCE = """#include <valgrind/callgrind.h>
void collect_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
"""
_COLLECTED = re.compile(r"Collected : ([\d ]+)")
_EVENTS = ("Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw")


def missing_tools() -> list[str]:
    missing = [tool for tool in ("valgrind", "gcc") if shutil.which(tool) is None]
    if not Path("/usr/include/valgrind/callgrind.h").exists():
        missing.append("valgrind's headers")
    return missing


def build_shim(directory: str) -> str:
    source, library = Path(directory) / "shim.c", Path(directory) / "shim.so"
    source.write_text(SHIM_SOURCE)
    subprocess.run(
        ["gcc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(library)


def count(env: dict[str, str], shim: str, path: str, out_dir: str) -> dict[str, float]:
    """Per-request event counts of ``path`` (callgrind's totals / REQUESTS)."""
    command = [
        "valgrind", "--tool=callgrind", "--collect-atstart=no", "--cache-sim=yes", *CACHES,
        f"--callgrind-out-file={out_dir}/callgrind.out", PYTHON, "-m", "bench.callgrind_target",
        shim, path, str(REQUESTS),
    ]  # fmt: skip
    done = subprocess.run(
        command, env={**env, "PYTHONHASHSEED": "0"}, cwd=ROOT, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    found = _COLLECTED.search(done.stderr)
    if done.returncode or found is None:
        raise BenchError(f"callgrind failed on {path}: {done.stderr[-2000:]}")
    totals = dict(zip(_EVENTS, map(int, found.group(1).split()), strict=True))
    return {name: value / REQUESTS for name, value in totals.items()}


def run(argv: list[str]) -> str:
    header = run_header(TITLE, argv)
    missing = missing_tools()
    if missing:
        return header + f"Not run: {', '.join(missing)} missing on this machine.\n"
    with MotoServer() as moto, tempfile.TemporaryDirectory() as tmp:
        env = aws_environ(moto.url)
        with worker(env) as setup:
            setup.call("setup")
        shim = build_shim(tmp)
        counts = {path: count(env, shim, path, tmp) for path in PATHS}
    return render(header, counts)


def render(header: str, counts: dict[str, dict[str, float]]) -> str:
    rows = []
    for path, c in counts.items():
        l1 = c["I1mr"] + c["D1mr"] + c["D1mw"]
        last = c["ILmr"] + c["DLmr"] + c["DLmw"]
        estimate = c["Ir"] + L1_WEIGHT * l1 + LL_WEIGHT * last
        rows.append(
            f"| GET {path} | {c['Ir']:,.0f} | {l1:,.0f} | {last:,.0f} | **{estimate:,.0f}** |"
        )
    return "\n".join(
        [
            header,
            f"{REQUESTS} warm requests per path through `pipeline.handle` (after 100 to warm "
            "CPython's adaptive interpreter), root token, counted by callgrind on our code only:"
            " botocore and the AWS waits are not counted, and the caches are thrashed before "
            "each AWS call. Cache model: L1 32 KiB (instructions and data), last level 1 MiB. "
            f"Estimate = instructions + {L1_WEIGHT} x L1 misses + {LL_WEIGHT} x last-level "
            "misses. The counts repeat run to run whatever the machine's load: compare them "
            "between revisions.",
            "",
            "| request | instructions | L1 misses | last-level misses | cycle estimate |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )

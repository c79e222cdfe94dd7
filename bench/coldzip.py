"""Cold start from the packaged zip: `import app` + unseal against `import boto3`, one run.

``python -m bench.coldzip [build/package/deployment.zip] [RUNS]`` unpacks the zip, starts
moto with an initialised vault in it, then alternates fresh processes (ABBA, after one
discarded run of each):

- app: ``python -I -S bench/coldstart.py OUT --path UNPACKED`` (no site-packages: only the
  zip's modules and the standard library), as bench/core.py's cold start otherwise;
- baseline: ``python -I -S -c 'import boto3'`` with the venv's site-packages as the one
  path entry (its bytecode cached by the discarded run), the same interpreter flags.

Prints the medians and the median of per-pair ratios of (wall - first request) / boto3, and
the same by CPU time (the child's user + system time less its first request's), which a
loaded machine disturbs less. Not part of bench.run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from bench.common import PYTHON, ROOT, MotoServer, aws_environ, median, worker
from bench.core import bytecode_environ

CHILD = ROOT / "bench" / "coldstart.py"


class Timed(NamedTuple):
    wall: float
    cpu: float  # the process's user + system time: less sensitive to a loaded machine


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict[str, str]) -> Timed:
    started, cpu = time.perf_counter(), _cpu_of_children()
    subprocess.run(command, env=env, cwd=ROOT, capture_output=True, timeout=120, check=True)
    return Timed(time.perf_counter() - started, _cpu_of_children() - cpu)


class Variant(NamedTuple):
    name: str
    app: list[str]  # the output file follows
    app_options: list[str]
    boto3: list[str]


def variants(unpacked: Path) -> list[Variant]:
    """The zip, isolated, and for comparison the source tree as bench/core.py runs it."""
    site = sysconfig.get_paths()["purelib"]
    isolated_boto3 = f"import sys; sys.path.insert(0, {site!r}); import boto3"
    return [
        Variant("zip (python -I -S)", [PYTHON, "-I", "-S", str(CHILD)],
                ["--path", str(unpacked)], [PYTHON, "-I", "-S", "-c", isolated_boto3]),
        Variant("source tree (.pyc cached)", [PYTHON, "-m", "bench.coldstart"], [],
                [PYTHON, "-c", "import boto3"]),
    ]  # fmt: skip


def _app(variant: Variant, env: dict[str, str]) -> tuple[Timed, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cold.json"
        timed = _timed([*variant.app, str(out), *variant.app_options], env)
        return timed, json.loads(out.read_text())


def measure(variant: Variant, env: dict[str, str], runs: int) -> dict[str, list[float]]:
    """Alternating fresh processes (ABBA), after one discarded run of each."""
    samples: dict[str, list[float]] = defaultdict(list)
    _app(variant, env)
    _timed(variant.boto3, env)
    for index in range(runs):
        boto3 = _timed(variant.boto3, env) if index % 2 else None
        app, detail = _app(variant, env)
        boto3 = boto3 or _timed(variant.boto3, env)
        cold_wall = app.wall - detail["request_s"]  # start-up + import + unseal
        cold_cpu = app.cpu - detail["request_cpu_s"]
        sample = {
            "app": app.wall, "boto3": boto3.wall, "import": detail["import_s"],
            "unseal": detail["unseal_s"], "request": detail["request_s"],
            "ratio": cold_wall / boto3.wall, "app_cpu": cold_cpu, "boto3_cpu": boto3.cpu,
            "cpu_ratio": cold_cpu / boto3.cpu,
        }  # fmt: skip
        for key, value in sample.items():
            samples[key].append(value)
    return samples


def report(variant: Variant, samples: dict[str, list[float]]) -> str:
    ms = {key: round(median(values) * 1000) for key, values in samples.items()}
    return (
        f"- {variant.name}: app {ms['app']} ms (`import app` {ms['import']}, unseal "
        f"{ms['unseal']}, 1st request {ms['request']}); `import boto3` {ms['boto3']} ms; "
        f"(import + unseal) / boto3 = **{median(samples['ratio']):.2f}x** (pairs: "
        + ", ".join(f"{r:.2f}" for r in samples["ratio"]) + "); by CPU time: import + unseal "
        f"{ms['app_cpu']} ms, `import boto3` {ms['boto3_cpu']} ms, "
        f"**{median(samples['cpu_ratio']):.2f}x** (pairs: "
        + ", ".join(f"{r:.2f}" for r in samples["cpu_ratio"]) + ")"
    )


def main(argv: list[str]) -> int:
    archive = Path(argv[0]) if argv else ROOT / "build" / "package" / "deployment.zip"
    runs = int(argv[1]) if len(argv) > 1 else 9
    print(f"{archive} ({archive.stat().st_size / 1e6:.1f} MB), {runs} pairs per variant; "
          f"load average {os.getloadavg()[0]:.1f} at start")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, MotoServer() as moto:
        unpacked = Path(tmp) / "zip"
        with zipfile.ZipFile(archive) as source:
            source.extractall(unpacked)
        with tempfile.TemporaryDirectory() as cached:
            env = bytecode_environ(aws_environ(moto.url), cached, write=True)
            with worker(env) as setup:
                setup.call("setup")
            for variant in variants(unpacked):
                print(report(variant, measure(variant, env, runs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

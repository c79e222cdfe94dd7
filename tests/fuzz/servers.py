"""The two servers a fuzzing session talks to: ours under test, OpenBao as the reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.compat.conftest import ROOT_TOKEN, Server, start_openbao, start_server, stop_server

# The same mount table on both servers, so one document's paths mean the same on each
# (secret/ kv v2, cubbyhole/ and identity/ come with every dev server). OpenBao lacks a
# few of ours (aws, ldap): enabling them there fails and their requests are never compared.
SECRETS: dict[str, dict[str, Any]] = {
    "kv": {"type": "kv", "options": {"version": "1"}},
    "transit": {"type": "transit"},
    "pki": {"type": "pki"},
    "ssh": {"type": "ssh"},
    "database": {"type": "database"},
    "rabbitmq": {"type": "rabbitmq"},
    "aws": {"type": "aws"},
}
AUTH: tuple[str, ...] = ("userpass", "approle", "jwt", "ldap", "aws")
OPENAPI = "sys/internal/specs/openapi"


def _post(server: Server, path: str, body: dict[str, Any]) -> None:
    # A mount OpenBao's catalog lacks answers 400; the session goes on without it.
    requests.post(f"{server.address}/v1/{path}", json=body,
                  headers={"X-Vault-Token": ROOT_TOKEN}, timeout=30)


def mount_engines(server: Server) -> None:
    for path, body in SECRETS.items():
        _post(server, f"sys/mounts/{path}", body)
    for method in AUTH:
        _post(server, f"sys/auth/{method}", {"type": method})


def openapi(server: Server) -> dict[str, Any]:
    """The server's generated OpenAPI document (empty paths when it has none yet)."""
    reply = requests.get(f"{server.address}/v1/{OPENAPI}",
                         headers={"X-Vault-Token": ROOT_TOKEN}, timeout=120)
    document: dict[str, Any] = reply.json() if reply.status_code == 200 else {}
    return document if document.get("paths") else {}


@contextmanager
def lambdavault(workdir: Path) -> Iterator[Server]:
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], workdir / "server.log")
    try:
        mount_engines(server)
        yield server
    finally:
        stop_server(server)


class OpenBao:
    """`bao server -dev`, started on first use (a clean run never needs it)."""

    def __init__(self, workdir: Path) -> None:
        self.home = workdir / "openbao-home"
        self._server: Server | None = None

    @property
    def server(self) -> Server:
        if self._server is None:
            self.home.mkdir(parents=True, exist_ok=True)
            self._server = start_openbao(self.home)
            mount_engines(self._server)
        return self._server

    def close(self) -> None:
        if self._server is not None:
            stop_server(self._server)

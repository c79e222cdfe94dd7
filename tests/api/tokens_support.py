"""Helpers for the token API tests (create, look up, write policies) over HTTP."""

from __future__ import annotations

from typing import Any

import requests

from tests.support import VaultHTTP

MULTI_DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
DENIED = {"errors": ["permission denied"]}


def create(
    vault: VaultHTTP,
    body: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    path: str = "auth/token/create",
) -> dict[str, Any]:
    """Create a token and return the ``auth`` block (asserting success)."""
    reply = vault.post(path, body or {}, token=token)
    assert reply.status_code == 200, reply.text
    return reply.json()["auth"]


def create_reply(vault: VaultHTTP, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    return vault.post(kwargs.pop("path", "auth/token/create"), body, **kwargs)


def lookup(vault: VaultHTTP, token: str) -> requests.Response:
    return vault.post("auth/token/lookup", {"token": token})


def lookup_data(vault: VaultHTTP, token: str) -> dict[str, Any]:
    reply = lookup(vault, token)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def write_policy(vault: VaultHTTP, name: str, hcl: str) -> None:
    reply = vault.put(f"sys/policy/{name}", {"policy": hcl})
    assert reply.status_code == 204, reply.text


def allow(vault: VaultHTTP, name: str, path: str, *capabilities: str) -> None:
    """A policy granting ``capabilities`` on ``path``."""
    listed = ", ".join(f'"{c}"' for c in capabilities)
    write_policy(vault, name, f'path "{path}" {{ capabilities = [{listed}] }}')

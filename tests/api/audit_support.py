"""Helpers shared by the audit API tests: enable a device, read what a file device wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import VaultHTTP

CANARY = "canary-7f3e9c0b"
INTERNAL = {"errors": ["internal error"]}


def enable(vault: VaultHTTP, path: str, type_name: str, **options: Any) -> None:
    reply = vault.post(f"sys/audit/{path}", {"type": type_name, "options": options})
    assert reply.status_code == 204, reply.text


def records(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def audit_hash(vault: VaultHTTP, device: str, value: str) -> str:
    reply = vault.post(f"sys/audit-hash/{device}", {"input": value})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["hash"]


def of_request(log: Path, path: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in records(log) if r["request"]["path"] == path and r["type"] == kind]

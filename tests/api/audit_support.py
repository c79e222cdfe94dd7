"""Helpers shared by the audit API tests: enable a device, read what a file device wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import REGION, VaultHTTP

CANARY = "canary-7f3e9c0b"
INTERNAL = {"errors": ["internal error"]}
BUCKET = STREAM = "lambdavault-audit"  # the settings' defaults


def create_stream(name: str = STREAM) -> None:
    """A delivery stream into BUCKET, as infra/ and the dev server create it."""
    import boto3

    from chalicelib.cli.devenv import DevResources, _create_audit_stream, _create_firehose_role

    resources = DevResources(audit_bucket=BUCKET, audit_stream=name, region=REGION)
    role = _create_firehose_role(boto3.client("iam", region_name=REGION), name)
    _create_audit_stream(boto3.client("firehose", region_name=REGION), resources, role)


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

"""What reaches DynamoDB and the logs: no plaintext secrets, clear limits, fresh state."""

from __future__ import annotations

import logging

import boto3
import pytest

from chalicelib import observability
from chalicelib.core.runtime import Runtime
from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.support import REGION, VaultHTTP

CANARY = "canary-6f1d0c2e-plaintext-must-never-be-stored"


def _raw_table_dump() -> str:
    table = boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test")
    return repr(table.scan(ConsistentRead=True)["Items"])


def test_raw_scan_holds_no_plaintext_of_a_written_value(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/cubbyhole/tune", {"description": CANARY}).status_code == 204
    assert vault.get("sys/mounts/cubbyhole/tune").json()["data"]["description"] == CANARY
    dump = _raw_table_dump()
    assert "cubbyhole" not in dump  # even mount paths live inside the encrypted mount table
    assert CANARY not in dump


def test_raw_scan_holds_no_root_token(server: str) -> None:
    from chalicelib.core.dev import bootstrap_dev

    token = bootstrap_dev().root_token
    assert token not in _raw_table_dump()


def test_logs_never_contain_tokens_or_values(
    vault: VaultHTTP, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    observability.logger.setLevel(logging.DEBUG)  # the access line is DEBUG
    try:
        vault.post("sys/mounts/cubbyhole/tune", {"description": CANARY})
        vault.get("sys/mounts/cubbyhole/tune")
        vault.get("sys/mounts", token=CANARY)  # a bad token is a secret too
    finally:
        observability.logger.setLevel(logging.INFO)
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err
    assert "request" in everything  # the request log line was emitted
    assert CANARY not in everything
    assert vault.token not in everything.replace('"root"', "")


def test_value_too_large_for_one_item_is_a_clear_400(vault: VaultHTTP) -> None:
    reply = vault.post("sys/mounts/cubbyhole/tune", {"description": "x" * 420_000})
    assert reply.status_code == 400
    assert "too large" in reply.json()["errors"][0]
    assert vault.get("sys/mounts/cubbyhole/tune").status_code == 200


def test_seal_in_one_container_stops_another_on_its_next_request(vault: VaultHTTP) -> None:
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    assert not other.sealed
    assert vault.put("sys/seal").status_code == 204
    other.begin([])
    assert other.sealed


def test_rotation_in_one_container_reaches_another(vault: VaultHTTP) -> None:
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    assert vault.post("sys/rotate").status_code == 204
    other.begin([])
    assert other.barrier.keyring is not None and other.barrier.keyring.active_term == 2


def test_mount_change_in_one_container_reaches_another(vault: VaultHTTP) -> None:
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    vault.post("sys/mounts/cubbyhole/tune", {"description": "changed elsewhere"})
    other.begin([])
    entry = other.mounts.find("cubbyhole/")
    assert entry is not None and entry.description == "changed elsewhere"

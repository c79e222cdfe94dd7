"""KV v2 writes as production pays for them (AWS calls, item sizes), and what a write that
stops between its calls leaves behind.

A steady-state write (the secret has all its slots, 10 versions kept) is the request's one
BatchGetItem, then two single-item writes: the superseded version into a slot, then the
secret's record. A fault injected on the record's write stands for a Lambda that dies
between the two (nothing of ours runs after it either): readers must see the old state,
whole, and the next write must go through.
"""

from __future__ import annotations

import math
from typing import Any

import boto3
import pytest

from chalicelib.core.runtime import runtime
from chalicelib.storage.view import StorageView
from tests.api.fault_support import (
    FAULTS,
    Injector,
    fault_injector,  # noqa: F401 (fixture)
)
from tests.support import REGION, VaultHTTP

KEPT = 10  # the default max_versions
SECRET_BYTES = 1000  # the JSON of each version's data, about 1 KB
STEADY = ["dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:UpdateItem"]
RECORD_WRITE = 2  # the index of the record's UpdateItem in STEADY


@pytest.fixture(autouse=True)
def no_tally_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    # The barrier's encryption tally flushes once a minute, on whichever request: not a
    # cost of the write under test (tests/unit/storage covers it).
    monkeypatch.setattr("chalicelib.storage.encryptions.FLUSH_SECONDS", float("inf"))


def data(n: int, size: int = SECRET_BYTES) -> dict[str, str]:
    """Version n's data: JSON of exactly `size` bytes."""
    head = f'{{"n":"{n}","pad":""}}'
    return {"n": str(n), "pad": "x" * (size - len(head))}


def write(vault: VaultHTTP, path: str, n: int, size: int = SECRET_BYTES) -> Any:
    return vault.post(f"secret/data/{path}", {"data": data(n, size)})


def fill(vault: VaultHTTP, path: str, versions: int, size: int = SECRET_BYTES) -> None:
    for n in range(1, versions + 1):
        assert write(vault, path, n, size).json()["data"]["version"] == n


def dynamodb_calls(injector: Injector) -> list[str]:
    return [str(call) for call in injector.calls if call.service == "dynamodb"]


def assert_all_readable(vault: VaultHTTP, path: str, current: int) -> None:
    """The latest is `current`, and every version kept reads back as it was written."""
    metadata = vault.get(f"secret/metadata/{path}").json()["data"]
    assert metadata["current_version"] == current
    assert sorted(map(int, metadata["versions"])) == list(
        range(max(1, current - KEPT + 1), current + 1)
    )
    latest = vault.get(f"secret/data/{path}").json()["data"]
    assert (latest["metadata"]["version"], latest["data"]) == (current, data(current))
    for version in map(int, metadata["versions"]):
        read = vault.get(f"secret/data/{path}", params={"version": version})
        assert read.status_code == 200 and read.json()["data"]["data"] == data(version)


def kv_view() -> StorageView:
    rt = runtime()
    mount = rt.mounts.find("secret/")
    assert mount is not None
    return StorageView(rt.barrier, mount.storage_prefix)


def copies(path: str) -> dict[int, Any]:
    """What the secret's version items hold, by version: what a reader never sees."""
    view = kv_view()
    folder = f"version/{path}/"
    contents = [view.get_json(folder + name) for name in view.list(folder)]
    return {content[0]: content[1] for content in contents if content is not None}


# -- what a write costs ----------------------------------------------------------------------


def _number_bytes(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def _value_bytes(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind in ("S", "B"):
        return len(content.encode() if isinstance(content, str) else content)
    if kind == "N":
        return _number_bytes(content)
    if kind == "M":
        return 3 + sum(len(name.encode()) + _value_bytes(v) for name, v in content.items())
    if kind == "L":
        return 3 + sum(1 + _value_bytes(v) for v in content)
    return 1  # BOOL, NULL


def item_bytes(key: str) -> int:
    """The size DynamoDB bills for the item holding the mount's entry `key`: attribute
    names and values (found by its sealed value, whatever the table's key layout)."""
    entry = runtime().physical.get(kv_view().prefix + key)
    assert entry is not None
    client = boto3.client("dynamodb", region_name=REGION)
    pages = client.get_paginator("scan").paginate(TableName=runtime().physical.table_name)
    for item in (item for page in pages for item in page["Items"]):
        if any(value.get("B") == entry.value for value in item.values()):
            return sum(len(name.encode()) + _value_bytes(v) for name, v in item.items())
    raise AssertionError("no item holds the entry")


def test_a_steady_state_write_is_one_read_and_two_single_item_writes(
    vault: VaultHTTP, injector: Injector
) -> None:
    fill(vault, "app", KEPT + 2)
    for n in (KEPT + 3, KEPT + 4):
        injector.restart()
        assert write(vault, "app", n).json()["data"]["version"] == n
        assert dynamodb_calls(injector) == STEADY
    assert_all_readable(vault, "app", KEPT + 4)


def write_units(path: str) -> int:
    """What a steady-state write of the secret bills: DynamoDB charges the larger of an
    item before and after, per started KB (each version here has the same size)."""
    slots = [f"version/{path}/{name}" for name in kv_view().list(f"version/{path}/")]
    largest_slot = max(map(item_bytes, slots))
    return math.ceil(item_bytes(f"meta/{path}") / 1024) + math.ceil(largest_slot / 1024)


@pytest.mark.parametrize(("size", "units"), [(400, 2), (900, 3), (SECRET_BYTES, 4)])
def test_write_units_by_secret_size(vault: VaultHTTP, size: int, units: int) -> None:
    # The record is the data plus ~610 bytes (the metadata of 10 versions, key, sealing);
    # a slot item the data plus ~115 bytes (key, sealing, version number).
    fill(vault, "sized", KEPT + 2, size=size)
    assert write_units("sized") == units


def test_reading_an_older_version_is_one_more_round_trip(
    vault: VaultHTTP, injector: Injector
) -> None:
    fill(vault, "old", 3)
    vault.get("secret/data/old")  # warm
    injector.restart()
    assert vault.get("secret/data/old").json()["data"]["data"] == data(3)
    assert dynamodb_calls(injector) == ["dynamodb:BatchGetItem"]
    injector.restart()
    read = vault.get("secret/data/old", params={"version": 2})
    assert read.json()["data"]["data"] == data(2)
    assert dynamodb_calls(injector) == ["dynamodb:BatchGetItem", "dynamodb:GetItem"]


def test_a_config_change_is_read_once_then_kept(vault: VaultHTTP, injector: Injector) -> None:
    fill(vault, "cfg", KEPT + 1)
    assert vault.post("secret/config", {"cas_required": True}).status_code == 204
    injector.restart()
    refused = write(vault, "cfg", 0)
    assert refused.json() == {"errors": ["check-and-set parameter required for this call"]}
    assert dynamodb_calls(injector) == ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
    injector.restart()
    body = {"data": data(KEPT + 2), "options": {"cas": KEPT + 1}}
    assert vault.post("secret/data/cfg", body).json()["data"]["version"] == KEPT + 2
    assert dynamodb_calls(injector) == STEADY


# -- a write that stops between its calls ------------------------------------------------------


def stop_before_the_record_write(vault: VaultHTTP, injector: Injector, path: str, n: int) -> None:
    """A write whose record write never happens (the Lambda died after the slot write)."""
    injector.restart(FAULTS["InternalServerError"], RECORD_WRITE)
    reply = write(vault, path, n)
    assert [str(call) for call in injector.failed] == [STEADY[RECORD_WRITE]]
    assert reply.status_code == 503, reply.text
    injector.restart()


def test_a_write_stopped_after_its_slot_write_leaves_every_version_readable(
    vault: VaultHTTP, injector: Injector
) -> None:
    fill(vault, "crash", KEPT + 2)
    before = vault.get("secret/metadata/crash").json()["data"]
    stop_before_the_record_write(vault, injector, "crash", 99)
    # The slot that was free holds a copy of the current version; readers never look.
    assert copies("crash")[KEPT + 2] == data(KEPT + 2)
    assert vault.get("secret/metadata/crash").json()["data"] == before
    assert_all_readable(vault, "crash", KEPT + 2)

    # The next write finds the copy where its own would go, and takes it as it is.
    injector.restart()
    assert write(vault, "crash", KEPT + 3).json()["data"]["version"] == KEPT + 3
    assert dynamodb_calls(injector) == [
        "dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:UpdateItem",
    ]  # fmt: skip
    assert_all_readable(vault, "crash", KEPT + 3)
    injector.restart()
    assert write(vault, "crash", KEPT + 4).status_code == 200
    assert dynamodb_calls(injector) == STEADY
    assert_all_readable(vault, "crash", KEPT + 4)


def test_a_copy_left_by_a_stopped_write_goes_with_a_destroy(
    vault: VaultHTTP, injector: Injector
) -> None:
    fill(vault, "gone", KEPT + 2)
    stop_before_the_record_write(vault, injector, "gone", 99)
    current = KEPT + 2
    assert vault.post("secret/destroy/gone", {"versions": [current]}).status_code == 204
    assert current not in copies("gone")  # destroyed is destroyed, copies included
    # The next writes find a wiped slot where they expected another storage version:
    # they repair the record's note of it and go through.
    for n in (current + 1, current + 2):
        assert write(vault, "gone", n).json()["data"]["version"] == n
    read = vault.get("secret/data/gone", params={"version": current})
    assert read.status_code == 404 and read.json()["data"]["metadata"]["destroyed"] is True
    for version in range(current - KEPT + 3, current + 3):
        if version != current:
            read = vault.get("secret/data/gone", params={"version": version})
            assert read.json()["data"]["data"] == data(version)


def test_a_copy_left_while_the_secret_grows_goes_with_a_metadata_delete(
    vault: VaultHTTP, injector: Injector
) -> None:
    fill(vault, "young", 2)
    # While a secret grows, its write makes a new slot (and its folder's marker upkeep).
    injector.restart()
    write(vault, "young", 3)
    growing = [str(call) for call in injector.calls]
    record_write = len(growing) - 1
    assert growing[record_write] == "dynamodb:UpdateItem"
    injector.restart(FAULTS["InternalServerError"], record_write)
    assert write(vault, "young", 99).status_code == 503
    injector.restart()
    assert 3 in copies("young")
    assert_all_readable(vault, "young", 3)
    assert vault.delete("secret/metadata/young").status_code == 204
    assert kv_view().list("version/young/") == []  # the copy went with the rest
    assert write(vault, "young", 1).json()["data"]["version"] == 1


def test_lowering_max_versions_to_one_wipes_the_archived_data(vault: VaultHTTP) -> None:
    """With one version kept nothing is archived again, so no later write would reuse the
    slots: the versions the window drops leave no data behind (as OpenBao deletes them)."""
    fill(vault, "shrunk", 3)
    assert set(copies("shrunk")) == {1, 2}
    assert vault.post("secret/metadata/shrunk", {"max_versions": 1}).status_code == 204
    write(vault, "shrunk", 4)
    assert copies("shrunk") == {}
    read = vault.get("secret/data/shrunk").json()["data"]
    assert (read["metadata"]["version"], read["data"]) == (4, data(4))

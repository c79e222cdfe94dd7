"""KV v2 over HTTP: concurrent writers across containers, and what one DynamoDB item holds.

A dev server runs one invocation at a time, like one Lambda container, so real races need
several. Each "container" here is a DevServer with its own Chalice app (app.py loaded
again, as a new container imports it) and its own Runtime (keyring, mount tables), all on
the same moto table. moto applies a call's conditions and writes without a lock, so every
DynamoDB call is made atomic, as the service is; everything between calls races freely.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest

from chalicelib.core.runtime import Runtime
from tests.support import ROOT_TOKEN, VaultHTTP

CONTAINERS = 8
WRITERS = 16
CAS_MISMATCH = "check-and-set parameter did not match the current version"
ITEM_LIMIT = 400 * 1024  # DynamoDB's item size limit, key and attribute names included
MOTO_ITEM_LIMIT = 405_000  # moto's own, a little lower: what the dev server can store

_CONTAINER: ContextVar[Runtime | None] = ContextVar("container", default=None)


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Each DynamoDB call atomic, as the real service; counts the conditions that failed."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    failed: Counter[str] = Counter()
    original = DynamoHandler.call_action

    def serialised(handler: DynamoHandler) -> Any:
        with lock:
            status, headers, body = original(handler)
        if status == 400:  # moto answers errors as AWS does: "__type": "...#<name>"
            name = str(body).partition('#')[2].partition('"')[0]
            failed[name] += 1
        return status, headers, body

    monkeypatch.setattr(DynamoHandler, "call_action", serialised)
    return failed


def _start_container(number: int) -> Any:
    """A DevServer over a fresh import of app.py and a Runtime of its own."""
    from chalicelib.storage.dynamodb import DynamoDBPhysical
    from chalicelib.transports.devserver import DevServer

    spec = importlib.util.spec_from_file_location(
        f"app_container_{number}", Path(__file__).resolve().parents[2] / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    own = Runtime(DynamoDBPhysical())

    def invoke(event: dict[str, Any], context: Any) -> Any:
        token = _CONTAINER.set(own)
        try:
            return module.app(event, context)
        finally:
            _CONTAINER.reset(token)

    return DevServer(("127.0.0.1", 0), invoke, binary_types=module.app.api.binary_types).start()


@pytest.fixture
def containers(
    vault: VaultHTTP, atomic_dynamodb: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[str]]:
    """The base URLs of CONTAINERS warm containers of the initialised `vault` deployment."""
    from chalicelib.core import pipeline

    process_wide = pipeline.runtime
    monkeypatch.setattr(pipeline, "runtime", lambda: _CONTAINER.get() or process_wide())
    servers = [_start_container(number) for number in range(CONTAINERS)]
    try:
        for server in servers:  # cold start each one (unseal) before the races
            assert VaultHTTP(server.url, ROOT_TOKEN).get("sys/mounts").status_code == 200
        yield [server.url for server in servers]
    finally:
        for server in servers:
            server.close()


def run_writers(urls: list[str], work: Callable[[int, VaultHTTP, VaultHTTP], Any]) -> list[Any]:
    """WRITERS threads, released together; writer i writes through container i and reads
    through the next one (its own client each: a requests.Session is not thread-safe)."""
    start = threading.Barrier(WRITERS)

    def writer(number: int) -> Any:
        own = VaultHTTP(urls[number % len(urls)], ROOT_TOKEN)
        other = VaultHTTP(urls[(number + 1) % len(urls)], ROOT_TOKEN)
        start.wait(timeout=30)
        return work(number, own, other)

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(writer, range(WRITERS)))


def test_one_of_many_concurrent_writers_with_the_same_cas_wins(
    containers: list[str], atomic_dynamodb: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.engines.kv import store

    client = VaultHTTP(containers[0], ROOT_TOKEN)
    assert client.post("secret/data/race", {"data": {"writer": None}}).status_code == 200
    loaded = store.load

    def slow_load(*args: Any) -> Any:
        # Widen the read-validate-write window: every writer validates cas on version 1.
        found = loaded(*args)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(store, "load", slow_load)

    def write(number: int, own: VaultHTTP, other: VaultHTTP) -> tuple[int, Any]:
        reply = own.post("secret/data/race", {"data": {"writer": number}, "options": {"cas": 1}})
        return reply.status_code, reply.json()

    replies = run_writers(containers, write)
    winners = [body for status, body in replies if status == 200]
    losers = [body for status, body in replies if status != 200]
    assert len(winners) == 1 and winners[0]["data"]["version"] == 2
    assert {status for status, _ in replies} == {200, 400}
    assert all(body == {"errors": [CAS_MISMATCH]} for body in losers)
    # They raced at the conditional write, not only at the cas check.
    assert atomic_dynamodb["ConditionalCheckFailedException"] >= 1
    latest = client.get("secret/data/race").json()["data"]
    assert latest["metadata"]["version"] == 2 and latest["data"]["writer"] is not None
    assert client.get("secret/metadata/race").json()["data"]["current_version"] == 2


def test_concurrent_writers_get_contiguous_versions_and_read_their_writes(
    containers: list[str], atomic_dynamodb: Counter[str]
) -> None:
    client = VaultHTTP(containers[0], ROOT_TOKEN)
    writes_each = 4
    total = WRITERS * writes_each
    assert client.post("secret/metadata/count", {"max_versions": total}).status_code == 204

    def write(number: int, own: VaultHTTP, other: VaultHTTP) -> list[tuple[int, dict]]:
        acknowledged = []
        for sequence in range(writes_each):
            data = {"writer": number, "sequence": sequence}
            reply = own.post("secret/data/count", {"data": data})
            assert reply.status_code == 200, reply.text
            version = reply.json()["data"]["version"]
            acknowledged.append((version, data))
            # Read-your-write from another container: strongly consistent, never older.
            latest = other.get("secret/data/count").json()["data"]
            assert latest["metadata"]["version"] >= version
            mine = other.get("secret/data/count", params={"version": version}).json()["data"]
            assert mine["data"] == data
        return acknowledged

    acknowledged = [ack for acks in run_writers(containers, write) for ack in acks]
    assert atomic_dynamodb["ConditionalCheckFailedException"] > 0  # writers lost races, and retried
    versions = sorted(version for version, _ in acknowledged)
    assert versions == list(range(1, total + 1))  # contiguous: none lost, none given twice
    meta = client.get("secret/metadata/count").json()["data"]
    assert meta["current_version"] == total and len(meta["versions"]) == total
    for version, data in acknowledged:  # nothing was overwritten afterwards either
        read = client.get("secret/data/count", params={"version": version}).json()
        assert read["data"]["data"] == data


def test_writers_taking_turns_with_cas_get_distinct_contiguous_versions(
    containers: list[str], atomic_dynamodb: Counter[str]
) -> None:
    """Each writer reads the current version and writes with it as cas until it has won
    TURNS times: every success is a version of its own, none skipped, and every loser is
    told OpenBao's check-and-set mismatch."""
    client = VaultHTTP(containers[0], ROOT_TOKEN)
    turns = 2
    kept = {"max_versions": WRITERS * turns}
    assert client.post("secret/metadata/turns", kept).status_code == 204

    def write(number: int, own: VaultHTTP, other: VaultHTTP) -> tuple[list[tuple[int, dict]], int]:
        won: list[tuple[int, dict]] = []
        refused = 0
        while len(won) < turns:
            current = own.get("secret/metadata/turns").json()["data"]["current_version"]
            data = {"writer": number, "turn": len(won)}
            reply = own.post("secret/data/turns", {"data": data, "options": {"cas": current}})
            if reply.status_code == 200:
                assert reply.json()["data"]["version"] == current + 1
                won.append((current + 1, data))
            else:
                assert (reply.status_code, reply.json()) == (400, {"errors": [CAS_MISMATCH]})
                refused += 1
        return won, refused

    results = run_writers(containers, write)
    acknowledged = [ack for won, _ in results for ack in won]
    assert sorted(version for version, _ in acknowledged) == list(range(1, WRITERS * turns + 1))
    assert sum(refused for _, refused in results) > 0  # they did collide
    for version, data in acknowledged:
        read = client.get("secret/data/turns", params={"version": version}).json()
        assert read["data"]["data"] == data


# -- what one item holds ---------------------------------------------------------------------


def _write(vault: VaultHTTP, path: str, size: int) -> Any:
    return vault.post(f"secret/data/{path}", {"data": {"v": "x" * size}})


def _largest_value(vault: VaultHTTP) -> int:
    """The longest string value a new secret can hold, by bisection over HTTP.

    Every probe is a new secret with a path of the same length: a secret's record grows
    with its versions' metadata, so a fresh one is the fair measure.
    """
    low, high, probe = 0, ITEM_LIMIT, 0
    while high - low > 1:
        middle = (low + high) // 2
        probe += 1
        ok = _write(vault, f"big/{probe:03d}", middle).status_code == 200
        low, high = (middle, high) if ok else (low, middle)
    return low


def test_values_up_to_one_item_work_and_larger_get_a_clear_400(vault: VaultHTTP) -> None:
    largest = _largest_value(vault)
    # Only the key, the record's metadata and the barrier's 32 bytes are not the value.
    assert MOTO_ITEM_LIMIT - 1024 <= largest < MOTO_ITEM_LIMIT

    assert _write(vault, "big/max", largest).status_code == 200
    assert vault.get("secret/data/big/max").json()["data"]["data"]["v"] == "x" * largest
    too_big = _write(vault, "big/err", ITEM_LIMIT)
    assert too_big.status_code == 400
    (message,) = too_big.json()["errors"]
    assert message.startswith("entry too large: ") and f"at most {ITEM_LIMIT} bytes" in message
    assert vault.get("secret/data/big/err").status_code == 404

    # The previous version moves to an item of its own when a new version replaces it.
    # (Up to half an item here: moto counts the old value with the new one on UpdateItem.)
    half = MOTO_ITEM_LIMIT // 2 - 2048
    for version in (1, 2):
        assert _write(vault, "big/half", half + version).json()["data"]["version"] == version
    first = vault.get("secret/data/big/half", params={"version": 1}).json()["data"]["data"]
    assert first["v"] == "x" * (half + 1)
    grown = vault.request(
        "PATCH", "secret/data/big/half", {"data": {"more": "x" * ITEM_LIMIT}},
        headers={"Content-Type": "application/merge-patch+json"},
    )  # fmt: skip
    assert grown.status_code == 400 and grown.json()["errors"][0].startswith("entry too large")
    megabyte = _write(vault, "big/mb", 1024 * 1024)
    assert megabyte.status_code == 400 and "entry too large" in megabyte.json()["errors"][0]


def test_what_moto_refuses_still_gets_a_clear_400(vault: VaultHTTP) -> None:
    between = _write(vault, "big/gap", MOTO_ITEM_LIMIT)
    assert between.status_code == 400, between.text
    two_thirds = MOTO_ITEM_LIMIT * 2 // 3
    assert _write(vault, "big/large", two_thirds).status_code == 200
    overwrite = _write(vault, "big/large", two_thirds)  # DynamoDB takes it; moto cannot
    assert overwrite.status_code in (200, 400), overwrite.text


def test_kv_v1_values_have_the_same_limit(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/plain", {"type": "kv"}).status_code == 204
    size = MOTO_ITEM_LIMIT - 1024
    assert vault.post("plain/fits", {"v": "x" * size}).status_code == 204
    assert len(vault.get("plain/fits").json()["data"]["v"]) == size
    over = vault.post("plain/over", {"v": "x" * ITEM_LIMIT})
    assert over.status_code == 400 and over.json()["errors"][0].startswith("entry too large")

"""The cluster-wide rate-limit counter over a moto table, with time given, not waited for."""

from __future__ import annotations

from collections import Counter

import boto3
import pytest

from chalicelib.quotas import counter
from chalicelib.quotas.counter import Limiter, shard_count
from chalicelib.storage.dynamodb import DynamoDBPhysical

from .conftest import TABLE

KEY = "00000000abcdef"  # offset 0: windows start on multiples of the interval
T0 = 1_800_000_000.0  # a multiple of 3600 and of 1


def allowed(limiter: Limiter, count: int, tokens: int, interval: int, now: float,
            block: int = 0) -> int:
    return sum(limiter.take(KEY, tokens, interval, block, now).allowed for _ in range(count))


def test_containers_share_a_sharded_budget_exactly(
    physical: DynamoDBPhysical, calls: Counter[str]
) -> None:
    assert shard_count(1200, 1) == 3
    containers = [Limiter(DynamoDBPhysical()) for _ in range(3)]
    calls.clear()
    granted = sum(allowed(limiter, 500, 1200, 1, T0) for limiter in containers)
    assert granted == 1200
    assert calls["UpdateItem"] < 60  # claims in batches (a quarter of a shard at most)


def test_one_container_alone_gets_every_shard(physical: DynamoDBPhysical) -> None:
    assert allowed(Limiter(physical), 1300, 1200, 1, T0) == 1200


def test_a_new_window_brings_a_new_budget(physical: DynamoDBPhysical) -> None:
    limiter = Limiter(physical)
    assert allowed(limiter, 5, 3, 10, T0) == 3
    assert allowed(limiter, 5, 3, 10, T0 + 9.9) == 0
    first = limiter.take(KEY, 3, 10, 0, T0 + 9.5)
    assert (first.allowed, first.reset, first.retry_after) == (False, 0, 0)
    assert allowed(limiter, 5, 3, 10, T0 + 10) == 3
    assert allowed(Limiter(DynamoDBPhysical()), 5, 3, 10, T0 + 10) == 0  # spent elsewhere


def test_a_block_is_written_once_and_binds_every_container(physical: DynamoDBPhysical) -> None:
    first, second = Limiter(physical), Limiter(DynamoDBPhysical())
    assert allowed(first, 3, 2, 1, T0, block=60) == 2
    refused = second.take(KEY, 2, 1, 60, T0 + 5)  # a new window, but blocked
    assert (refused.allowed, refused.blocked, refused.retry_after) == (False, True, 55)
    assert allowed(second, 2, 2, 1, T0 + 61, block=60) == 2  # the block has ended


def test_counters_expire_after_their_window(physical: DynamoDBPhysical) -> None:
    Limiter(physical).take(KEY, 5, 60, 0, T0)
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    counters = [item for item in items if item["pk"]["S"].startswith("#quota/")]
    assert len(counters) == 1
    assert int(counters[0]["expires_at"]["N"]) > T0 + 60


def test_clients_gone_are_forgotten_even_with_budget_unspent(
    physical: DynamoDBPhysical, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container's memory stays bounded by its live clients: one that left with part of
    its last batch unspent (two requests: a batch of 1, then of 2) is dropped once its
    window and the next have ended."""
    monkeypatch.setattr(counter, "_PRUNE_AT", 4)
    limiter = Limiter(physical)
    clients = [f"{index:08x}abcdef" for index in range(4)]
    for key in clients:
        assert [limiter.take(key, 100, 10, 0, T0).allowed for _ in range(2)] == [True, True]
    assert len(limiter._allowances) == 4
    newcomer = "0000ffffabcdef"
    assert limiter.take(newcomer, 100, 10, 0, T0 + 30).allowed
    assert set(limiter._allowances) == {newcomer}

"""The barrier's encryption tally and the shared per-term counter it flushes into."""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.storage import Barrier, Keyring
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.encryptions import FLUSH_OPERATIONS, FLUSH_SECONDS, EncryptionTally
from chalicelib.storage.physical import Put
from tests.support import FakeClock


@pytest.fixture
def flushed() -> list[tuple[int, int]]:
    return []


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tally(flushed: list[tuple[int, int]], clock: FakeClock) -> EncryptionTally:
    return EncryptionTally(lambda term, count: flushed.append((term, count)), clock)


def test_flushes_at_the_operation_threshold(tally: EncryptionTally, flushed: list) -> None:
    for _ in range(FLUSH_OPERATIONS - 1):
        tally.add(1)
    assert flushed == [] and tally.unflushed(1) == FLUSH_OPERATIONS - 1
    tally.add(1)
    assert flushed == [(1, FLUSH_OPERATIONS)] and tally.unflushed(1) == 0


def test_flushes_on_the_first_encryption_after_the_interval(
    tally: EncryptionTally, flushed: list, clock: FakeClock
) -> None:
    tally.add(1, 3)
    clock.now += FLUSH_SECONDS
    assert flushed == []  # nothing happens between encryptions
    tally.add(1)
    assert flushed == [(1, 4)]


def test_a_new_term_drops_what_the_old_one_lacked(tally: EncryptionTally, flushed: list) -> None:
    tally.add(1, 5)
    tally.add(2, 1)
    assert tally.unflushed(1) == 0 and tally.unflushed(2) == 1
    tally.flush()
    assert flushed == [(2, 1)]


def test_a_failed_flush_keeps_the_tally_and_waits_before_trying_again(clock: FakeClock) -> None:
    attempts: list[int] = []

    def failing(term: int, count: int) -> None:
        attempts.append(count)
        raise ConnectionError("unreachable")

    tally = EncryptionTally(failing, clock)
    tally.add(1, FLUSH_OPERATIONS)
    assert tally.unflushed(1) == FLUSH_OPERATIONS
    for _ in range(2 * FLUSH_OPERATIONS):  # not one more call per write meanwhile
        tally.add(1)
    assert attempts == [FLUSH_OPERATIONS]
    clock.now += FLUSH_SECONDS
    tally.add(1)
    assert attempts == [FLUSH_OPERATIONS, 3 * FLUSH_OPERATIONS + 1]


def test_the_barrier_counts_each_sealed_value_once_stored(
    physical: DynamoDBPhysical, tally: EncryptionTally
) -> None:
    keyring = Keyring.generate()
    barrier = Barrier(physical, keyring, tally)
    barrier.put("a/b", b"1")
    barrier.transact([Put("a/c", b"2"), Put("a/d", b"3")])
    barrier.delete("a/b")
    assert tally.unflushed(keyring.active_term) == 3


def test_counters_are_per_term_and_one_call_each(
    physical: DynamoDBPhysical, calls: Counter[str]
) -> None:
    assert physical.encryptions(1) == 0
    assert physical.add_encryptions(1, 1000) == 1000
    assert physical.add_encryptions(1, 5) == 1005
    assert physical.add_encryptions(2, 7) == 7
    assert (physical.encryptions(1), physical.encryptions(2)) == (1005, 7)
    assert calls == {"GetItem": 3, "UpdateItem": 3}
    assert physical.list("") == []  # outside the storage key space

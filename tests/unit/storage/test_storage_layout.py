"""The key layout: an entry item per key (its own partition-key value) and a folder index
kept equal to the entries under concurrent creators and deleters of the same keys."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from chalicelib.core.errors import Unavailable
from chalicelib.storage import ConditionFailed, Delete, Entry, Put
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.dynamowire import MARKER_SHARDS
from chalicelib.storage.markerheat import SPREAD_SECONDS, MarkerHeat
from chalicelib.storage.physical import parent_folder
from tests.support import FakeClock, conflict_on


def layout(raw_items) -> tuple[set[str], set[str], set[str]]:
    """(keys with an entry item, keys with an index item, folders with a marker: the
    marker item or any of its shards)."""
    entries, index, markers = set(), set(), set()
    for item in raw_items():
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if not pk.startswith("/"):
            continue  # cluster state, counters
        if sk == "$":
            entries.add(pk[1:])
        elif "/" in sk:
            markers.add(pk[1:] + sk[: sk.index("/") + 1])
        else:
            index.add(pk[1:] + sk)
    return entries, index, markers


def assert_consistent(physical: DynamoDBPhysical, raw_items) -> set[str]:
    """Index items == entries, markers == folders holding something, LIST agrees; the keys."""
    entries, index, markers = layout(raw_items)
    assert index == entries
    assert markers == {parent_folder(path) for path in index | markers} - {""}
    for folder in {parent_folder(path) for path in index | markers} | {""}:
        names = {path[len(folder):] for path in index | markers if parent_folder(path) == folder}
        assert physical.list(folder) == sorted(names, key=str.encode)
    return entries


def test_an_entry_has_its_own_partition_key_and_its_folder_an_index(physical, raw_items):
    physical.put("a/b/c", b"v")
    physical.put("top", b"t")
    items = {(i["pk"]["S"], i["sk"]["S"]): i for i in raw_items()}
    assert set(items) == {
        ("/a/b/c", "$"), ("/a/b/", "c"), ("/a/", "b/"), ("/", "a/"), ("/top", "$"), ("/", "top")
    }  # fmt: skip
    assert items[("/a/b/c", "$")]["v"]["B"] == b"v"
    assert items[("/a/b/c", "$")]["ver"]["N"] == "1"
    assert set(items[("/a/b/", "c")]) == {"pk", "sk"}  # keys only
    assert physical.list("") == ["a/", "top"]
    assert physical.list("a/b/") == ["c"]


def test_keys_of_one_folder_are_read_under_distinct_partition_keys(physical, monkeypatch):
    keys = [f"sys/token/id/h{i:02d}" for i in range(20)]
    physical.transact([Put(key, b"t", 0) for key in keys])
    seen: list[str] = []
    original = DynamoDBPhysical._call

    def recording(self, operation, params):
        if operation == "GetItem":
            seen.append(params["Key"]["pk"]["S"])
        elif operation == "BatchGetItem":
            seen.extend(k["pk"]["S"] for t in params["RequestItems"].values() for k in t["Keys"])
        return original(self, operation, params)

    monkeypatch.setattr(DynamoDBPhysical, "_call", recording)
    for key in keys:
        assert physical.get(key) == Entry(key, b"t", 1)
        physical.read([key], with_state=False)
    assert len(set(seen)) == len(keys)
    assert seen[:2] == ["/sys/token/id/h00", "/sys/token/id/h00"]


def test_list_is_one_query_of_the_folder_index(physical, calls):
    physical.transact([Put(f"f/k{i:02d}", b"v", 0) for i in range(30)])
    physical.put("f/sub/x", b"v")
    calls.clear()
    assert physical.list("f/") == [*(f"k{i:02d}" for i in range(30)), "sub/"]
    assert calls == Counter(Query=1)


def test_an_unconditional_put_that_loses_the_creation_overwrites(physical, monkeypatch):
    """Interleaving: the overwrite finds no entry, another writer creates the key, our
    creation fails; the next round's overwrite succeeds."""
    original = DynamoDBPhysical._create
    raced = []

    def racing_create(self, key, value, due):
        if not raced:
            raced.append(key)
            original(self, key, b"theirs", None)
        return original(self, key, value, due)

    monkeypatch.setattr(DynamoDBPhysical, "_create", racing_create)
    assert physical.put("r/k", b"ours") == 2
    assert physical.get("r/k") == Entry("r/k", b"ours", 2)
    assert physical.list("r/") == ["k"]


def test_unconditional_writes_retry_a_transaction_conflict(physical, monkeypatch):
    monkeypatch.setattr("chalicelib.storage.dynamodb._CONTENDED_BACKOFF", 0)
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("TransactWriteItems", 2))
    assert physical.put("q/k", b"v") == 1
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("TransactWriteItems", 2))
    physical.delete("q/k")
    assert physical.get("q/k") is None
    assert physical.list("") == []
    # A conflict with a transaction in flight is no failed check: a conditional write is
    # sent again too, and only its own condition can make it a lost race.
    physical.put("q/k", b"v")
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("TransactWriteItems", 1))
    physical.delete("q/k", expected_version=1)
    assert physical.get("q/k") is None
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("TransactWriteItems", 1))
    assert physical.put("q/k", b"v", expected_version=0) == 1
    with pytest.raises(ConditionFailed):
        physical.delete("q/k", expected_version=2)
    # Contention that never ends is a 503, not a silent loss.
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("TransactWriteItems", 99))
    with pytest.raises(Unavailable):
        physical.delete("q/k")
    assert physical.get("q/k") == Entry("q/k", b"v", 1)


def test_a_transaction_too_big_for_its_index_items_is_followed_key_by_key(
    physical, raw_items, calls
):
    keys = [f"big/k{i:02d}" for i in range(60)]
    calls.clear()
    physical.transact([Put(key, b"v", 0) for key in keys])  # 60 entries + 60 index > 100
    assert calls["TransactWriteItems"] == 1 + 60
    assert assert_consistent(physical, raw_items) == set(keys)
    physical.transact([Delete(key) for key in keys])
    assert assert_consistent(physical, raw_items) == set()


def test_index_follow_ups_obey_the_entry(physical, raw_items):
    """A follow-up never adds an index item for a missing entry nor removes one of a
    present entry: whoever changed the entry since follows it up."""
    physical._index_created("gone/k")
    physical.put("here/k", b"v")
    physical._index_deleted("here/k")
    assert layout(raw_items)[:2] == ({"here/k"}, {"here/k"})


def test_delete_prefix_removes_entries_index_items_and_markers(physical, raw_items):
    for key in ["m/a", "m/b/c", "m/b/d/e", "n/x"]:
        physical.put(key, b"v")
    assert physical.delete_prefix("m/") == 3
    assert layout(raw_items) == ({"n/x"}, {"n/x"}, {"n/"})


def _spread(lowest: int):
    """A `MarkerHeat.shard` that finds every folder hot: a random shard, or the marker
    itself too when `lowest` is 0."""
    return lambda self, folder: random.randrange(lowest, MARKER_SHARDS)


def test_a_hot_folder_spreads_its_marker_and_still_lists_once(physical, raw_items, monkeypatch):
    """Creations in a folder the container found hot ADD to the marker's shards; the parent
    lists the folder once, and the folder's last deletion (or delete_prefix) removes every
    shard, so the folder leaves its parent's listing as with one marker."""
    physical.put("hot/f/first", b"v")  # the marker itself
    monkeypatch.setattr(MarkerHeat, "shard", _spread(lowest=1))
    for n in range(30):
        physical.put(f"hot/f/k{n}", b"v")
    physical.put("hot/g/only", b"v")
    shards = {i["sk"]["S"] for i in raw_items() if i["pk"]["S"] == "/hot/"}
    assert len(shards - {"f/", "g/"}) > 1 and all(sk.startswith(("f/", "g/")) for sk in shards)
    assert physical.list("hot/") == ["f/", "g/"]
    assert_consistent(physical, raw_items)
    for n in range(30):
        physical.delete(f"hot/f/k{n}")
    physical.delete("hot/f/first")
    assert physical.list("hot/") == ["g/"]
    assert {i["sk"]["S"] for i in raw_items() if i["pk"]["S"] == "/hot/"} <= {"g/"} | {
        f"g/#{n}" for n in range(MARKER_SHARDS)
    }
    assert physical.delete_prefix("hot/") == 1
    assert physical.list("") == [] and layout(raw_items) == (set(), set(), set())


def test_a_container_finds_a_folder_hot_from_what_every_container_created(
    physical, raw_items
):
    """The marker's count tells a container about the other containers' creations: after
    a hundred of theirs within 0.1 s between two of its own, its next ADD goes to a shard."""
    clock = FakeClock(50.0)
    physical._heat = MarkerHeat(clock)
    others = DynamoDBPhysical()  # another container on the same table
    physical.put("busy/mine-0", b"v")
    for n in range(100):
        others.put(f"busy/theirs-{n}", b"v")
    clock.now += 0.1
    physical.put("busy/mine-1", b"v")  # the marker's gen moved by 101: 1,010 creations/s
    assert {i["sk"]["S"] for i in raw_items() if i["pk"]["S"] == "/"} == {"busy/"}
    physical.put("busy/mine-2", b"v")
    assert len({i["sk"]["S"] for i in raw_items() if i["pk"]["S"] == "/"}) == 2
    assert physical.list("") == ["busy/"]
    clock.now += SPREAD_SECONDS
    physical.put("busy/mine-3", b"v")  # a minute on: the marker itself, to measure again
    assert assert_consistent(physical, raw_items) >= {"busy/mine-3"}


def test_an_unlisted_key_has_its_entry_only(physical, raw_items, calls):
    """A key written with listed=False (whose folder nothing lists) gets no index item and
    its folder no marker: its creation is the transaction alone, beside listed keys too."""
    physical.transact([Put("u/id/a", b"v", 0, listed=False)])
    assert calls == Counter(TransactWriteItems=1)
    physical.transact([Put("u/id/b", b"v", 0, listed=False), Put("u/acc/b", b"w", 0)])
    assert layout(raw_items) == ({"u/id/a", "u/id/b", "u/acc/b"}, {"u/acc/b"}, {"u/", "u/acc/"})
    assert physical.get("u/id/b") == Entry("u/id/b", b"v", 1) and physical.list("u/id/") == []
    assert physical.list("u/") == ["acc/"]
    calls.clear()
    physical.transact([Delete("u/id/a", listed=False), Delete("u/id/b", 1, listed=False)])
    assert calls == Counter(TransactWriteItems=1)  # no index item, no folder to prune
    assert physical.get("u/id/a") is None and physical.get("u/id/b") is None
    with pytest.raises(ConditionFailed):  # conditions hold as for any key
        physical.transact([Put("u/id/c", b"v", 0, listed=False), Put("u/acc/b", b"x", 0)])
    assert physical.get("u/id/c") is None


def test_delete_many_removes_entries_and_index_items(physical, raw_items):
    physical.transact([Put(f"d/{i}", b"v", 0) for i in range(30)])
    physical.delete_many([f"d/{i}" for i in range(29)] + ["d/missing"])
    assert assert_consistent(physical, raw_items) == {"d/29"}


KEYS = ["c/x/k0", "c/x/k1", "c/y/k2", "k3"]


def _random_writes(physical: DynamoDBPhysical, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        key, other = rng.sample(KEYS, 2)
        action = rng.randrange(6)
        try:
            if action == 0:
                physical.put(key, b"v")
            elif action == 1:
                physical.put(key, b"v", expected_version=0)
            elif action == 2:
                physical.delete(key)
            elif action == 3 and (found := physical.get(key)) is not None:
                physical.delete(key, expected_version=found.version)
            elif action == 4:
                physical.transact([Put(key, b"v", 0), Delete(other)])
            else:
                physical.transact([Delete(key), Put(other, b"v")])
        except ConditionFailed:
            pass  # a lost race: the invariants must hold all the same


@pytest.mark.parametrize("spread", [False, True], ids=["one marker", "marker shards"])
def test_concurrent_creators_and_deleters_of_the_same_keys(
    physical, raw_items, monkeypatch, spread
):
    """Index items equal entries after every request (each existence change carries its
    index item's in one transaction), and markers follow once every writer is done: with
    one marker per folder, and with every folder hot (each ADD to a random shard)."""
    if spread:
        monkeypatch.setattr(MarkerHeat, "shard", _spread(lowest=0))
    # DynamoDB applies each request atomically; moto's transactions do not lock. A pause
    # after each request lets the other threads' requests in between (moto answers in a
    # few ms, so without it one writer's steps would rarely interleave with another's).
    lock = threading.Lock()
    original = DynamoDBPhysical._call
    broken: list[str] = []

    def atomic(self, operation, params):
        with lock:
            answer = original(self, operation, params)
            entries, index, _ = layout(raw_items)
            if entries != index:
                broken.append(f"after {operation}: entries {entries}, index {index}")
        time.sleep(random.uniform(0, 0.005))
        return answer

    monkeypatch.setattr(DynamoDBPhysical, "_call", atomic)
    monkeypatch.setattr("chalicelib.storage.dynamodb._CONTENDED_ROUNDS", 50)
    threads = [threading.Thread(target=_random_writes, args=(physical, n)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert broken == []
    entries = assert_consistent(physical, raw_items)
    assert entries == {key for key in KEYS if physical.get(key) is not None}

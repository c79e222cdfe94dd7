"""DynamoDBPhysical against moto: semantics, folder markers, limits and AWS call counts."""

from collections import Counter

import pytest

from chalicelib.core.errors import BadRequest, EntryTooLarge, Unavailable
from chalicelib.storage import ClusterState, ConditionFailed, Delete, Entry, Put
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.storage.dynamowire import MAX_ITEM_BYTES, entry_size
from tests.support import conflict_on


def markers(raw_items) -> set[tuple[str, str]]:
    return {(i["pk"]["S"], i["sk"]["S"]) for i in raw_items() if "gen" in i}


# --- round trips and versions --------------------------------------------------------------


def test_put_get_round_trip_and_versions(physical):
    assert physical.get("core/mounts") is None
    assert physical.put("core/mounts", b"one") == 1
    assert physical.put("core/mounts", b"two") == 2
    assert physical.get("core/mounts") == Entry("core/mounts", b"two", 2)
    assert physical.put("top", b"") == 1
    assert physical.get("top") == Entry("top", b"", 1)


def test_expected_version_zero_means_create_only(physical):
    assert physical.put("k", b"a", expected_version=0) == 1
    with pytest.raises(ConditionFailed):
        physical.put("k", b"b", expected_version=0)
    assert physical.get("k").value == b"a"


def test_expected_version_n_is_check_and_set(physical):
    physical.put("k", b"a")
    assert physical.put("k", b"b", expected_version=1) == 2
    with pytest.raises(ConditionFailed):
        physical.put("k", b"c", expected_version=1)
    with pytest.raises(ConditionFailed):
        physical.put("missing", b"c", expected_version=1)
    assert physical.get("k") == Entry("k", b"b", 2)
    assert physical.get("missing") is None


def test_negative_expected_version_is_a_bug(physical):
    with pytest.raises(ValueError, match="expected_version"):
        physical.put("k", b"a", expected_version=-1)


def test_delete_with_and_without_conditions(physical):
    physical.put("d/k", b"a")
    physical.put("d/k", b"b")
    with pytest.raises(ConditionFailed):
        physical.delete("d/k", expected_version=1)
    with pytest.raises(ConditionFailed):
        physical.delete("d/k", expected_version=0)
    physical.delete("d/k", expected_version=2)
    assert physical.get("d/k") is None
    physical.delete("d/k")  # deleting a missing key is a no-op
    physical.delete("d/k", expected_version=0)  # "must not exist" holds
    with pytest.raises(ConditionFailed):
        physical.delete("d/k", expected_version=3)
    assert physical.list("") == []


def test_recreated_key_starts_again_at_version_1(physical):
    physical.put("k", b"a")
    physical.put("k", b"b")
    physical.delete("k")
    assert physical.put("k", b"c") == 1


@pytest.mark.parametrize("key", ["", "/a", "a/", "a//b", "/"])
def test_invalid_keys_are_rejected(physical, key):
    with pytest.raises(BadRequest):
        physical.put(key, b"x")
    with pytest.raises(BadRequest):
        physical.get(key)


@pytest.mark.parametrize("prefix", ["a", "/a/", "a//"])
def test_invalid_prefixes_are_rejected(physical, prefix):
    with pytest.raises(ValueError, match="prefix"):
        physical.list(prefix)


def test_overlong_key_is_rejected(physical):
    with pytest.raises(BadRequest, match="too long"):
        physical.put("a/" + "x" * 1025, b"v")


# --- transactions ---------------------------------------------------------------------------


def test_transact_commits_all(physical):
    physical.put("t/old", b"o")
    physical.put("t/gone", b"g")
    physical.transact(
        [
            Put("t/new", b"n", expected_version=0),
            Put("t/old", b"o2", expected_version=1),
            Delete("t/gone", expected_version=1),
            Put("u/x", b"x"),
        ]
    )
    assert physical.get("t/new") == Entry("t/new", b"n", 1)
    assert physical.get("t/old") == Entry("t/old", b"o2", 2)
    assert physical.get("t/gone") is None
    assert physical.list("") == ["t/", "u/"]
    assert physical.list("t/") == ["new", "old"]


def test_transact_is_all_or_nothing(physical):
    physical.put("t/a", b"a")
    with pytest.raises(ConditionFailed):
        physical.transact(
            [
                Put("t/b", b"b"),
                Delete("t/a"),
                Put("t/a2", b"x", expected_version=3),  # does not exist: fails
            ]
        )
    assert physical.get("t/a") == Entry("t/a", b"a", 1)
    assert physical.get("t/b") is None
    assert physical.list("t/") == ["a"]


def test_transact_delete_empties_folders(physical, raw_items):
    physical.put("x/y/z", b"1")
    physical.transact([Delete("x/y/z")])
    assert physical.list("") == []
    assert markers(raw_items) == set()


def test_transact_rejects_duplicate_keys_and_oversize(physical, calls):
    with pytest.raises(BadRequest, match="once"):
        physical.transact([Put("a", b"1"), Delete("a")])
    with pytest.raises(BadRequest, match="100"):
        physical.transact([Put(f"k{i}", b"") for i in range(101)])
    with pytest.raises(BadRequest, match="bytes"):
        physical.transact([Put(f"k{i}", b"x" * 400_000) for i in range(11)])
    assert sum(calls.values()) == 0  # rejected before any AWS call


def test_empty_transaction_is_a_no_op(physical, calls):
    physical.transact([])
    assert sum(calls.values()) == 0


# --- listing and folder markers ---------------------------------------------------------------


def test_list_nested_folders_appear_and_disappear(physical, raw_items):
    for key in ["a/b/c", "a/b/d", "a/e", "f", "a/g/h/i"]:
        physical.put(key, b"v")
    assert physical.list("") == ["a/", "f"]
    assert physical.list("a/") == ["b/", "e", "g/"]
    assert physical.list("a/b/") == ["c", "d"]
    assert physical.list("a/g/") == ["h/"]
    assert physical.list("nothing/") == []

    physical.delete("a/b/c")
    assert physical.list("a/") == ["b/", "e", "g/"]
    physical.delete("a/b/d")
    assert physical.list("a/") == ["e", "g/"]
    physical.delete("a/g/h/i")
    assert physical.list("a/") == ["e"]
    physical.delete("a/e")
    assert physical.list("") == ["f"]
    assert markers(raw_items) == set()

    physical.put("a/b/c", b"again")
    assert physical.list("") == ["a/", "f"]
    assert markers(raw_items) == {("/", "a/"), ("/a/", "b/")}


def test_overwrites_do_not_touch_markers(physical, raw_items):
    physical.put("m/k", b"1")
    before = {(i["pk"]["S"], i["sk"]["S"]): i["gen"]["N"] for i in raw_items() if "gen" in i}
    physical.put("m/k", b"2")
    after = {(i["pk"]["S"], i["sk"]["S"]): i["gen"]["N"] for i in raw_items() if "gen" in i}
    assert before == after == {("/", "m/"): "1"}


def test_key_and_folder_of_the_same_name_coexist(physical):
    physical.put("a", b"leaf")
    physical.put("a/b", b"child")
    assert physical.list("") == ["a", "a/"]
    physical.delete("a/b")
    assert physical.list("") == ["a"]


def test_list_paginates(physical, monkeypatch, calls):
    for i in range(30):
        physical.put(f"p/k{i:02d}", b"v")
    original = DynamoDBPhysical._call

    def small_pages(self, operation, params):
        if operation == "Query":
            params = {"Limit": 7, **params}
        return original(self, operation, params)

    monkeypatch.setattr(DynamoDBPhysical, "_call", small_pages)
    calls.clear()
    assert physical.list("p/") == [f"k{i:02d}" for i in range(30)]
    assert calls["Query"] == 5


def test_prune_stops_when_a_creator_touches_the_marker(physical, monkeypatch):
    """Interleaving: the creator writes after the deleter's second Query but ADDs before its
    conditional delete. The delete must fail and the folder stay listed."""
    physical.put("r/old", b"v")
    original = DynamoDBPhysical._is_empty
    seen: list[str] = []

    def racing_is_empty(self, folder):
        empty = original(self, folder)
        seen.append(folder)
        if folder == "r/" and len(seen) == 2:  # the second Query of the prune
            self.put("r/new", b"v")  # key write + marker ADD (gen 1 -> 2)
        return empty

    monkeypatch.setattr(DynamoDBPhysical, "_is_empty", racing_is_empty)
    physical.delete("r/old")
    monkeypatch.undo()
    assert physical.list("") == ["r/"]
    assert physical.list("r/") == ["new"]


def test_marker_recreated_when_creator_adds_after_the_prune(physical, raw_items):
    """If the deleter removed the marker first, the creator's ADD recreates it (gen 1) and
    climbs, so the ancestors come back as well."""
    physical.put("s/t/u", b"v")
    physical.delete("s/t/u")
    assert markers(raw_items) == set()
    physical.put("s/t/w", b"v")
    assert physical.list("") == ["s/"]
    assert physical.list("s/") == ["t/"]


# --- batch reads -----------------------------------------------------------------------------


def test_get_many_chunks_and_skips_missing(physical, calls):
    keys = [f"many/k{i:03d}" for i in range(250)]
    for key in keys[:240]:
        physical.put(key, key.encode())
    calls.clear()
    found = physical.get_many([*keys, keys[0]])  # duplicates are fine
    assert calls == Counter(BatchGetItem=3)
    assert set(found) == set(keys[:240])
    assert found["many/k007"] == Entry("many/k007", b"many/k007", 1)
    assert physical.get_many([]) == {}


def test_read_fetches_entries_and_cluster_state_in_one_call(physical, calls):
    keys = [f"hot/k{i:02d}" for i in range(99)]
    for key in keys:
        physical.put(key, b"v")
    physical.update_cluster_state(term=4, bump=["policy"])
    calls.clear()
    entries, state = physical.read(keys)
    assert calls == Counter(BatchGetItem=1)
    assert len(entries) == 99
    assert state == ClusterState(sealed=False, term=4, generations={"policy": 1})


def test_read_with_more_than_100_keys(physical, calls):
    keys = [f"big/k{i:03d}" for i in range(150)]
    for key in keys[::2]:
        physical.put(key, b"v")
    calls.clear()
    entries, state = physical.read(keys)
    assert calls == Counter(BatchGetItem=2)
    assert set(entries) == set(keys[::2])
    assert state == ClusterState()


def test_batch_get_retries_unprocessed_keys(physical, monkeypatch, calls):
    for i in range(10):
        physical.put(f"u/k{i}", b"v")
    original = DynamoDBPhysical._call
    throttled = [True]

    def partial(self, operation, params):
        if operation == "BatchGetItem" and (throttled.pop() if throttled else False):
            ((table, request),) = params["RequestItems"].items()
            first = {"RequestItems": {table: {**request, "Keys": request["Keys"][:4]}}}
            data = original(self, operation, first)
            data["UnprocessedKeys"] = {table: {**request, "Keys": request["Keys"][4:]}}
            return data
        return original(self, operation, params)

    monkeypatch.setattr(DynamoDBPhysical, "_call", partial)
    calls.clear()
    found = physical.get_many([f"u/k{i}" for i in range(10)])
    assert len(found) == 10
    assert calls == Counter(BatchGetItem=2)


# --- cluster state --------------------------------------------------------------------------


def test_cluster_state_defaults_and_updates(physical, calls):
    assert physical.cluster_state() == ClusterState()
    assert physical.cluster_state().generation("policy") == 0

    state = physical.update_cluster_state(sealed=True, term=2)
    assert state == ClusterState(sealed=True, term=2)
    # The term never goes back: an older rotation's update landing late is left out.
    assert physical.update_cluster_state(term=1) == ClusterState(sealed=True, term=2)

    calls.clear()
    state = physical.update_cluster_state(bump=["policy", "mounts"])  # first bump ever
    assert calls == Counter(UpdateItem=2)
    assert state == ClusterState(sealed=True, term=2, generations={"policy": 1, "mounts": 1})

    calls.clear()
    state = physical.update_cluster_state(sealed=False, bump=["policy", "policy", "new"])
    assert calls == Counter(UpdateItem=1)
    assert state.generations == {"policy": 2, "mounts": 1, "new": 1}
    assert state.sealed is False
    assert physical.cluster_state() == state


def test_a_transaction_bumps_generations_with_its_writes(physical, calls):
    physical.transact([Put("policy/a", b"1", 0)], bump=["policies"])  # no map yet: made
    assert physical.cluster_state().generations == {"policies": 1}
    calls.clear()
    physical.transact([Put("policy/a", b"2", 1), Delete("policy/b")], bump=["policies", "x"])
    assert calls == Counter(TransactWriteItems=1)
    assert physical.cluster_state().generations == {"policies": 2, "x": 1}
    assert physical.get("policy/a") == Entry("policy/a", b"2", 2)
    # A failed check leaves both the entry and the generations as they were, and costs
    # no call more (the cancellation reasons say the state item's condition held).
    calls.clear()
    with pytest.raises(ConditionFailed):
        physical.transact([Put("policy/a", b"3", 1)], bump=["policies"])
    assert calls == Counter(TransactWriteItems=1)
    assert physical.cluster_state().generations == {"policies": 2, "x": 1}
    assert physical.get("policy/a") == Entry("policy/a", b"2", 2)
    physical.transact([], bump=["x"])  # nothing to write: the bump alone
    assert physical.cluster_state().generation("x") == 2


def test_a_bumping_transaction_outlasts_other_admin_writes(physical, monkeypatch):
    """Every bump shares the state item: a conflict there is sent again, and a plain
    UpdateItem of the state item refused while a transaction holds it is too."""
    monkeypatch.setattr("chalicelib.storage.dynamodb._CONTENDED_BACKOFF", 0)
    physical.update_cluster_state(bump=["policies"])
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("TransactWriteItems", 2))
    physical.transact([Put("policy/a", b"1", 0)], bump=["policies"])
    assert physical.cluster_state().generation("policies") == 2
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("UpdateItem", 2))
    assert physical.update_cluster_state(bump=["policies"]).generation("policies") == 3
    monkeypatch.setattr(DynamoDBPhysical, "_call", conflict_on("UpdateItem", 6))
    with pytest.raises(Unavailable):
        physical.update_cluster_state(bump=["policies"])


def test_cluster_state_is_not_a_storage_key(physical):
    physical.update_cluster_state(sealed=True, bump=["x"])
    assert physical.list("") == []
    assert physical.delete_prefix("") == 0
    assert physical.cluster_state().sealed is True


def test_cluster_state_is_immutable(physical):
    physical.update_cluster_state(bump=["a"])
    for state in (physical.cluster_state(), physical.read([])[1]):
        assert state.generations == {"a": 1}
        with pytest.raises(TypeError):
            state.generations["a"] = 2  # type: ignore[index]
        with pytest.raises(AttributeError):
            state.term = 3  # type: ignore[misc]


# --- prefix operations ------------------------------------------------------------------------


def test_delete_prefix(physical, raw_items):
    for key in ["logical/m1/a", "logical/m1/b/c", "logical/m1/b/d/e", "logical/m2/x", "core/y"]:
        physical.put(key, b"v")
    assert physical.delete_prefix("logical/m1/") == 3
    assert physical.list("logical/") == ["m2/"]
    assert physical.get("logical/m2/x") is not None
    assert physical.delete_prefix("logical/") == 1
    assert physical.list("") == ["core/"]
    assert markers(raw_items) == {("/", "core/")}
    assert physical.delete_prefix("nothing/") == 0


def test_delete_prefix_many_items(physical, raw_items):
    for i in range(60):
        physical.put(f"bulk/{i % 3}/k{i}", b"v")
    assert physical.delete_prefix("bulk/") == 60
    assert raw_items() == []


# --- size limits -------------------------------------------------------------------------------


def test_entry_size_counts_names_and_values():
    # pk "/a/" (2+3) + sk "b" (2+1) + v (1+10) + ver (3+21)
    assert entry_size("/a/", "b", b"x" * 10) == 43


def test_entry_too_large_at_the_limit(physical, calls):
    pk, sk = "/big/k", "$"  # the entry item of "big/k"
    room = MAX_ITEM_BYTES - entry_size(pk, sk, b"")
    with pytest.raises(EntryTooLarge) as info:
        physical.put("big/k", b"x" * (room + 1))
    assert info.value.status == 400
    assert str(MAX_ITEM_BYTES) in info.value.message
    assert str(MAX_ITEM_BYTES + 1) in info.value.message
    assert sum(calls.values()) == 0
    with pytest.raises(EntryTooLarge):
        physical.transact([Put("big/k", b"x" * (room + 1))])
    # moto refuses items above ~405,000 bytes (below the real 409,600), so the exact
    # boundary is checked on entry_size above and a large item is stored here.
    assert physical.put("big/k", b"x" * 400_000) == 1
    assert len(physical.get("big/k").value) == 400_000


# --- AWS call counts ----------------------------------------------------------------------------


def test_call_counts(physical, calls):
    def count(fn, *args, **kwargs):
        calls.clear()
        fn(*args, **kwargs)
        return dict(calls)

    # A new key: the overwrite that finds no entry, then entry + index item in one
    # transaction (the root has no marker).
    assert count(physical.put, "root", b"v") == {"UpdateItem": 1, "TransactWriteItems": 1}
    # ... + 2 new markers
    assert count(physical.put, "a/b/c", b"v") == {"UpdateItem": 3, "TransactWriteItems": 1}
    # ... + the existing marker
    assert count(physical.put, "a/b/d", b"v") == {"UpdateItem": 2, "TransactWriteItems": 1}
    assert count(physical.put, "a/b/d", b"w") == {"UpdateItem": 1}  # overwrite
    assert count(physical.put, "a/b/d", b"x", expected_version=2) == {"UpdateItem": 1}
    # Known to be new: the transaction and the marker.
    assert count(physical.put, "a/n", b"v", expected_version=0) == {
        "TransactWriteItems": 1,
        "UpdateItem": 1,
    }
    physical.delete("a/n")
    assert count(physical.get, "a/b/d") == {"GetItem": 1}
    assert count(physical.get, "nope") == {"GetItem": 1}
    assert count(physical.read, ["a/b/c", "a/b/d"]) == {"BatchGetItem": 1}
    assert count(physical.list, "a/") == {"Query": 1}
    assert count(physical.cluster_state) == {"GetItem": 1}
    # Entry and index item go in one transaction; a missing key fails its condition.
    assert count(physical.delete, "nope") == {"TransactWriteItems": 1}
    # Folder still holds a/b/d: one Query shows it is not empty.
    assert count(physical.delete, "a/b/c") == {"TransactWriteItems": 1, "Query": 1}
    # Emptying a/b/ (Query, Query of the marker and its shards, Query, DeleteItem) then a/
    # (the same).
    assert count(physical.delete, "a/b/d") == {
        "TransactWriteItems": 1,
        "DeleteItem": 2,
        "Query": 6,
    }
    # The root has no marker.
    assert count(physical.delete, "root") == {"TransactWriteItems": 1}
    assert count(physical.delete, "root", expected_version=0) == {"DeleteItem": 1}
    physical.put("t/x", b"v")
    assert count(physical.transact, [Put("t/y", b"v", expected_version=0)]) == {
        "TransactWriteItems": 1,
        "UpdateItem": 1,
    }
    assert count(physical.transact, [Put("t/y", b"w", expected_version=1)]) == {
        "TransactWriteItems": 1
    }


def test_delete_many_deletes_in_batches_ignores_missing_keys_and_prunes(physical):
    for key in ("a/1", "a/2", "a/3", "b/c/1"):
        physical.put(key, b"x")
    keys = [f"a/{n}" for n in (1, 2)] + ["b/c/1", "a/missing"]
    physical.delete_many(keys)
    assert physical.list("a/") == ["3"]
    assert physical.list("") == ["a/"]  # b/ and b/c/ emptied: their markers are gone
    physical.delete_many([])
    assert physical.get("a/3") is not None

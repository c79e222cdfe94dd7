"""HMAC of values as OpenBao's hash walker does it."""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.audit.hashing import (
    elide_list,
    hash_data,
    hasher,
    hmac_value,
    is_timestamp,
    new_salt,
    sorted_copy,
)


def test_hmac_value_is_identified_hmac_sha256_keyed_by_the_salt_string() -> None:
    salt = "b3f1c0de"
    expected = hmac.new(b"b3f1c0de", b"secret", hashlib.sha256).hexdigest()
    assert hmac_value(salt, "secret") == f"hmac-sha256:{expected}"
    assert hmac_value(salt, "") != ""  # OpenBao hashes empty strings too


def test_salts_are_random_and_long() -> None:
    assert len(new_salt()) == 64 and new_salt() != new_salt()


def test_every_string_value_is_hashed_and_nothing_else() -> None:
    fn = hasher("s")
    data = {
        "data": {"v": "CANARY", "n": 5, "b": True, "none": None, "l": ["a", 1]},
        "created_time": "2024-01-01T00:00:00.123456789Z",
        "empty": "",
    }
    hashed = hash_data(data, fn)
    assert hashed == {
        "created_time": "2024-01-01T00:00:00.123456789Z",
        "data": {"b": True, "l": [fn("a"), 1], "n": 5, "none": None, "v": fn("CANARY")},
        "empty": fn(""),
    }
    assert data["data"]["v"] == "CANARY"  # a copy: the request's own data is untouched


def test_maps_come_out_sorted_like_go() -> None:
    assert list(hash_data({"b": 1, "a": {"d": 1, "c": 2}}, hasher("s"))) == ["a", "b"]
    assert list(sorted_copy({"b": 1, "a": {"d": 1, "c": 2}})["a"]) == ["c", "d"]


def test_non_hmac_keys_apply_to_the_nearest_map_key() -> None:
    fn = hasher("s")
    hashed = hash_data({"keep": ["x", "y"], "nested": {"keep": "z"}, "other": "w"}, fn, ["keep"])
    assert hashed == {"keep": ["x", "y"], "nested": {"keep": "z"}, "other": fn("w")}


def test_timestamps_are_recognised_as_go_parses_rfc3339() -> None:
    assert is_timestamp("2026-11-23T00:15:36.653051771Z")
    assert is_timestamp("2026-11-23T00:15:36+02:00")
    assert not is_timestamp("2026-11-23")
    assert not is_timestamp("2026-13-23T00:15:36Z")
    assert not is_timestamp("not 2026-11-23T00:15:36Z")


def test_elide_list_counts_keys_and_key_info() -> None:
    assert elide_list({"keys": ["a", "b"], "key_info": {"a": {}}, "x": "y"}) == {
        "keys": 2, "key_info": 1, "x": "y",
    }
    assert elide_list({"keys": "not-a-list"}) == {"keys": "not-a-list"}

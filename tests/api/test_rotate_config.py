"""sys/rotate/keyring, its automatic-rotation config, and the rotations it makes: by the
encryption count summed over containers, and by age in the rotate-keyring job."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from chalicelib import jobs
from chalicelib.core.runtime import Runtime, runtime
from chalicelib.seal import rotation
from chalicelib.storage import encryptions
from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.support import VaultHTTP

DEFAULTS = {"enabled": True, "interval": 0, "max_operations": 3865470566}


def _term(vault: VaultHTTP) -> int:
    return vault.get("sys/key-status").json()["term"]


@pytest.mark.parametrize("path", ["sys/rotate/config", "sys/rotate/keyring/config"])
def test_config_defaults_and_partial_updates(vault: VaultHTTP, path: str) -> None:
    assert vault.get(path).json()["data"] == DEFAULTS
    assert vault.post(path, {"interval": "4320h"}).status_code == 204
    assert vault.post(path, {"max_operations": 2_000_000_000}).status_code == 204
    expected = {"enabled": True, "interval": "4320h0m0s", "max_operations": 2_000_000_000}
    assert vault.get("sys/rotate/config").json()["data"] == expected
    assert vault.post(path, {"enabled": False, "interval": 0}).status_code == 204
    expected.update(enabled=False, interval=0)
    assert vault.get("sys/rotate/keyring/config").json()["data"] == expected


OUT_OF_RANGE = "max_operations must be in the range [1000000,3865470566]"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"max_operations": 5}, OUT_OF_RANGE),
        ({"max_operations": 3865470567}, OUT_OF_RANGE),
        ({"interval": "1h"}, "interval must be greater or equal to 24h0m0s"),
    ],
)
def test_config_out_of_range_is_refused_and_left_unchanged(
    vault: VaultHTTP, body: dict, error: str
) -> None:
    reply = vault.post("sys/rotate/keyring/config", body)
    assert (reply.status_code, reply.json()) == (400, {"errors": [error]})
    assert vault.get("sys/rotate/keyring/config").json()["data"] == DEFAULTS


@pytest.mark.parametrize("path", ["sys/rotate", "sys/rotate/keyring"])
def test_rotation_keeps_everything_written_before_readable(vault: VaultHTTP, path: str) -> None:
    assert vault.post("secret/data/before", {"data": {"v": "1"}}).status_code == 200
    assert vault.post(path).status_code == 204
    assert _term(vault) == 2
    assert vault.get("secret/data/before").json()["data"]["data"] == {"v": "1"}


def test_key_status_counts_this_terms_encryptions(vault: VaultHTTP) -> None:
    before = vault.get("sys/key-status").json()
    assert before["install_time"].endswith("Z")
    for n in range(3):
        vault.post(f"secret/data/k{n}", {"data": {"n": n}})
    # Each KV write seals at least one value.
    assert vault.get("sys/key-status").json()["encryptions"] >= before["encryptions"] + 3
    vault.post("sys/rotate/keyring")
    assert vault.get("sys/key-status").json()["encryptions"] == 0


@pytest.fixture
def flush_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encryptions, "FLUSH_OPERATIONS", 1)


def _write_through(rt: Runtime, key: str) -> None:
    rt.begin([])
    rt.barrier.put(key, b"value")


def _sealed_term(rt: Runtime, key: str) -> int:
    """The keyring term in the header of `key`'s stored blob."""
    entry = rt.physical.get(key)
    assert entry is not None
    return int.from_bytes(entry.value[:4], "big")


def test_two_containers_share_one_count_and_rotate_once(
    vault: VaultHTTP, flush_every_write: None
) -> None:
    """Two runtimes on one table stand for two Lambda containers."""
    assert vault.post("sys/rotate/config", {"max_operations": 1_000_000}).status_code == 204
    first, second = runtime(), Runtime(DynamoDBPhysical())
    first.begin([])
    second.begin([])
    term = first.keyring_record.keyring.active_term
    # The cluster's earlier traffic, just short of the limit.
    first.physical.add_encryptions(term, 1_000_000 - first.physical.encryptions(term) - 1)
    _write_through(first, "sys/test/a")  # the total reaches 1,000,000: not past it
    _write_through(second, "sys/test/b")  # past it: the second container rotates
    assert second.keyring_record.keyring.active_term == term + 1
    assert _term(vault) == term + 1
    _write_through(first, "sys/test/c")  # its next request notices the new term
    assert first.keyring_record.keyring.active_term == term + 1
    assert rotation.encryptions(first, term + 1) == 1  # the new term counts from zero
    for rt in (first, second):
        assert {rt.barrier.get(f"sys/test/{k}").value for k in "abc"} == {b"value"}


def test_a_count_past_the_limit_rotates_only_the_term_it_counted(
    vault: VaultHTTP, flush_every_write: None
) -> None:
    vault.post("sys/rotate/config", {"max_operations": 1_000_000})
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    term = other.keyring_record.keyring.active_term
    vault.post("sys/rotate")  # someone rotated meanwhile; this container has not looked
    rotation.after_flush(other, term, 2_000_001)
    assert _term(vault) == term + 1


def test_no_rotation_by_count_while_disabled(vault: VaultHTTP, flush_every_write: None) -> None:
    vault.post("sys/rotate/config", {"max_operations": 1_000_000, "enabled": False})
    rt = runtime()
    rt.begin([])
    rt.physical.add_encryptions(rt.keyring_record.keyring.active_term, 2_000_000)
    _write_through(rt, "sys/test/a")
    assert _term(vault) == 1
    assert jobs.run(jobs.ROTATE_KEYRING) is True
    assert _term(vault) == 1


def test_the_job_rotates_a_term_older_than_the_interval(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert jobs.run(jobs.ROTATE_KEYRING) is True
    assert _term(vault) == 1  # no interval: never by age
    vault.post("sys/rotate/config", {"interval": "48h"})
    installed = rotation.installed_at(runtime(), 1)
    assert installed is not None
    monkeypatch.setattr(rotation, "utcnow", lambda: installed + timedelta(hours=47))
    jobs.run(jobs.ROTATE_KEYRING)
    assert _term(vault) == 1
    monkeypatch.setattr(rotation, "utcnow", lambda: installed + timedelta(hours=49))
    jobs.run(jobs.ROTATE_KEYRING)
    assert _term(vault) == 2
    renewed = rotation.installed_at(runtime(), 2)
    assert renewed is not None
    monkeypatch.setattr(rotation, "utcnow", lambda: renewed + timedelta(hours=1))
    jobs.run(jobs.ROTATE_KEYRING)  # the new term is young
    assert _term(vault) == 2


def test_the_job_makes_a_count_due_rotation_no_container_made(vault: VaultHTTP) -> None:
    vault.post("sys/rotate/config", {"max_operations": 1_000_000})
    rt = runtime()
    rt.physical.add_encryptions(1, 1_000_001)  # a flush whose container then failed
    jobs.run(jobs.ROTATE_KEYRING)
    assert _term(vault) == 2


def test_a_failed_flush_keeps_the_tally_and_the_write(
    vault: VaultHTTP, flush_every_write: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime()
    rt.begin([])

    def unavailable(term: int, count: int) -> int:
        raise ConnectionError("dynamodb unreachable")

    monkeypatch.setattr(rt.physical, "add_encryptions", unavailable)
    _write_through(rt, "sys/test/a")
    assert rt.barrier.get("sys/test/a").value == b"value"
    assert rt.barrier.tally is not None and rt.barrier.tally.pending == 1


def test_racing_rotations_leave_every_container_on_the_newest_term(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch, calls: Counter[str]
) -> None:
    """Container B's whole rotation lands between A's keyring write and A's state update:
    A's late update must not move the cluster back to A's (superseded) term."""
    first, second = Runtime(DynamoDBPhysical()), Runtime(DynamoDBPhysical())
    first.begin([])
    second.begin([])
    update = first.physical.update_cluster_state

    def after_the_other_rotation(**change: object) -> object:
        second.begin([])
        assert second.rotate_keyring() is not None  # reads A's term 2, installs term 3
        return update(**change)  # type: ignore[arg-type]

    monkeypatch.setattr(first.physical, "update_cluster_state", after_the_other_rotation)
    first.rotate_keyring()
    assert first.physical.cluster_state().term == 3
    calls.clear()
    _write_through(first, "sys/test/a")  # its next request reloads the keyring
    assert first.keyring_record.keyring.active_term == 3
    assert _sealed_term(first, "sys/test/a") == 3
    calls.clear()
    first.begin([])  # and later ones read only the state
    assert dict(calls) == {"BatchGetItem": 1}


def test_a_value_sealed_under_a_term_rotated_in_meanwhile_still_opens(vault: VaultHTTP) -> None:
    """Another container rotates and writes while this one serves a request (it read the
    cluster state before the rotation): the barrier reloads the keyring, never fails."""
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    assert vault.post("sys/rotate").status_code == 204
    _write_through(runtime(), "sys/test/new")
    assert _sealed_term(other, "sys/test/new") == 2
    assert other.barrier.get("sys/test/new").value == b"value"
    assert other.keyring_record.keyring.active_term == 2


def test_a_rotation_that_loses_the_keyring_write_rotates_the_winners_keyring(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two sys/rotate calls at once both add a term; neither is refused."""
    first, second = Runtime(DynamoDBPhysical()), Runtime(DynamoDBPhysical())
    first.begin([])
    second.begin([])
    put = first.physical.put
    raced = []

    def after_the_other_rotation(*args: object, **kwargs: object) -> int:
        if not raced:
            raced.append(second.rotate_keyring())  # wins the race to term 2
        return put(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(first.physical, "put", after_the_other_rotation)
    record = first.rotate_keyring()
    assert record is not None and record.keyring.active_term == 3
    assert sorted(record.keyring.terms) == [1, 2, 3]
    assert first.physical.cluster_state().term == 3

"""The cluster-state item is read at most once per container per TTL (1 s in production),
and every change to it still reaches every container within that TTL.

Two "containers" (runtimes) share the table with the one behind the HTTP API; their clock
is a fake one, so the TTL is exercised without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.support import FakeClock, VaultHTTP

STATE_PK = "#cluster"  # the reserved partition key of the cluster-state item


@pytest.fixture
def batch_gets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """The partition keys each DynamoDB BatchGetItem asked for, in call order."""
    seen: list[list[str]] = []
    original = DynamoDBPhysical._call  # every DynamoDB call of the runtime goes through it

    def recording(self: DynamoDBPhysical, operation: str, params: dict[str, Any]) -> Any:
        if operation == "BatchGetItem":
            keys = [key for table in params["RequestItems"].values() for key in table["Keys"]]
            seen.append([key["pk"]["S"] for key in keys])
        return original(self, operation, params)

    monkeypatch.setattr(DynamoDBPhysical, "_call", recording)
    yield seen


@pytest.fixture
def container(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[FakeClock], Any]]:
    """Make another container of the same deployment, with the production TTL."""
    from chalicelib.core.runtime import Runtime
    from chalicelib.settings import settings
    from chalicelib.storage.dynamodb import DynamoDBPhysical

    monkeypatch.setenv("LAMBDAVAULT_CLUSTER_STATE_TTL", "1")
    settings.cache_clear()

    def make(clock: FakeClock) -> Runtime:
        other = Runtime(DynamoDBPhysical(), clock=clock)
        other.begin([])
        return other

    yield make
    settings.cache_clear()


def _token_key(rt: Any, token: str) -> str:
    from chalicelib.tokens.ids import id_key

    return id_key(rt.token_salt, token)


def test_the_state_is_read_at_most_once_per_ttl(
    vault: VaultHTTP, container: Callable[[FakeClock], Any], batch_gets: list[list[str]]
) -> None:
    clock = FakeClock(1000.0)
    other = container(clock)
    token = vault.post("auth/token/create", {"ttl": "1h"}).json()["auth"]["client_token"]
    key = _token_key(other, token)
    batch_gets.clear()
    for step in range(1, 100):
        clock.now = 1000.0 + step / 100  # a hundred requests within the second
        assert key in other.begin([key])  # the token is read on every request
    assert batch_gets and all(STATE_PK not in keys for keys in batch_gets)
    assert len(batch_gets) == 99
    batch_gets.clear()
    other.begin([])  # nothing to read and a fresh state: no call at all
    assert batch_gets == []
    clock.now = 1001.0
    other.begin([key])  # the copy is a second old: reread with the token, one round trip
    assert len(batch_gets) == 1 and STATE_PK in batch_gets[0]


def _mount(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/kv-late", {"type": "kv"}).status_code == 204


def _policy(vault: VaultHTTP) -> None:
    body = {"policy": 'path "secret/*" { capabilities = ["read"] }'}
    assert vault.put("sys/policies/acl/late", body).status_code == 204


def _audit(vault: VaultHTTP) -> None:
    body = {"type": "file", "options": {"file_path": "discard"}}
    assert vault.post("sys/audit/late", body).status_code == 204


CHANGES = {
    "mount": (_mount, lambda rt: rt.mounts.find("kv-late/") is not None),
    "policy": (_policy, lambda rt: rt.state.generation("policies") > 0),
    "audit device": (_audit, lambda rt: rt.state.generation("audit") > 0),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_reaches_another_container_within_the_ttl(
    vault: VaultHTTP, container: Callable[[FakeClock], Any], change: str
) -> None:
    make_change, seen = CHANGES[change]
    clock = FakeClock(1000.0)
    other = container(clock)
    before = other.state
    make_change(vault)
    clock.now += 0.5
    other.begin([])
    assert other.state == before  # still within the TTL of its last read
    clock.now += 0.5
    other.begin([])
    assert seen(other)


def test_a_seal_reaches_another_container_within_the_ttl(
    vault: VaultHTTP, container: Callable[[FakeClock], Any]
) -> None:
    clock = FakeClock(1000.0)
    other = container(clock)
    assert not other.sealed
    assert vault.put("sys/seal", {}).status_code == 204
    clock.now += 1.0
    other.begin([])
    assert other.sealed and other.barrier.keyring is None


def test_a_revoked_token_is_gone_everywhere_at_once(
    vault: VaultHTTP, container: Callable[[FakeClock], Any]
) -> None:
    clock = FakeClock(1000.0)
    other = container(clock)
    token = vault.post("auth/token/create", {"ttl": "1h"}).json()["auth"]["client_token"]
    key = _token_key(other, token)
    assert key in other.begin([key])
    assert vault.post("auth/token/revoke", {"token": token}).status_code == 204
    clock.now += 0.01  # well within the TTL: the token's own item is read anyway
    assert key not in other.begin([key])


def test_a_containers_own_change_applies_to_its_next_request(
    vault: VaultHTTP, container: Callable[[FakeClock], Any]
) -> None:
    clock = FakeClock(1000.0)
    other = container(clock)
    other.update_state(bump=["policies"])
    generation = other.state.generation("policies")
    other.begin([])  # within the TTL: keeps the copy its own write returned
    assert other.state.generation("policies") == generation


# -- a change and the bump that announces it commit together ------------------------------

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


class _Stopped(Exception):
    """The Lambda stopped: nothing it would send after this point reaches DynamoDB."""


def _pks(params: Any) -> Iterator[str]:
    """Every partition key named anywhere in a DynamoDB request."""
    if isinstance(params, dict):
        if "pk" in params and isinstance(params["pk"], dict):
            yield params["pk"]["S"]
        for value in params.values():
            yield from _pks(value)
    elif isinstance(params, list):
        for value in params:
            yield from _pks(value)


@pytest.fixture
def stop_after_first_entry_write(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """While armed, the first DynamoDB write that touches a storage entry (a pk starting
    with "/") goes through and every call after it fails, as if the Lambda had died there."""
    original = DynamoDBPhysical._call
    armed = {"on": False, "stopped": False}

    def dying(self: DynamoDBPhysical, operation: str, params: dict[str, Any]) -> Any:
        if armed["stopped"]:
            raise _Stopped
        answer = original(self, operation, params)
        if armed["on"] and operation in _WRITES and any(p.startswith("/") for p in _pks(params)):
            armed["stopped"] = True
        return answer

    def arm(on: bool) -> None:
        armed.update(on=on, stopped=False)

    monkeypatch.setattr(DynamoDBPhysical, "_call", dying)
    return arm


_POLICY = {"policy": 'path "secret/*" { capabilities = ["read"] }'}
_AUDIT = {"type": "file", "options": {"file_path": "discard"}}
Call = tuple[str, str, dict[str, Any] | None]  # method, path, body

# name: (a request to set up, the change, a read that shows it, its generation)
ANNOUNCED: dict[str, tuple[Call | None, Call, Call, str]] = {
    "mount": (None, ("POST", "sys/mounts/kv-late", {"type": "kv"}),
              ("GET", "sys/mounts/kv-late/tune", None), "mounts"),
    "policy write": (None, ("PUT", "sys/policies/acl/late", _POLICY),
                     ("GET", "sys/policies/acl/late", None), "policies"),
    "policy delete": (("PUT", "sys/policies/acl/late", _POLICY),
                      ("DELETE", "sys/policies/acl/late", None),
                      ("GET", "sys/policies/acl/late", None), "policies"),
    "audit device": (None, ("POST", "sys/audit/late", _AUDIT), ("GET", "sys/audit", None),
                     "audit"),
    "kv config": (("POST", "sys/mounts/kv-late", {"type": "kv-v2"}),
                  ("POST", "kv-late/config", {"max_versions": 3}),
                  ("GET", "kv-late/config", None), "kv-config"),
    "transit key": (("POST", "sys/mounts/transit-late", {"type": "transit"}),
                    ("POST", "transit-late/keys/late", {}),
                    ("GET", "transit-late/keys/late", None), "transit"),
    "group": (None, ("POST", "identity/group", {"name": "late"}),
              ("GET", "identity/group/name/late", None), "identity"),
    "rate-limit quota": (None, ("POST", "sys/quotas/rate-limit/late", {"rate": 10}),
                         ("GET", "sys/quotas/rate-limit/late", None), "quotas"),
}  # fmt: skip


def _send(vault: VaultHTTP, call: Call) -> Any:
    """The answer's status and body (None when it has none)."""
    method, path, body = call
    answer = vault.request(method, path, body)
    return answer.status_code, answer.json() if answer.content else None


@pytest.mark.parametrize("change", sorted(ANNOUNCED))
def test_a_change_never_lands_without_its_announcement(
    vault: VaultHTTP,
    container: Callable[[FakeClock], Any],
    stop_after_first_entry_write: Callable[[bool], None],
    change: str,
) -> None:
    """A Lambda that dies right after its first write of the change (before anything it
    would send next) leaves a change that other containers still learn of within the TTL:
    the write and its generation bump are one transaction."""
    setup, make_change, show, generation = ANNOUNCED[change]
    if setup is not None:
        assert _send(vault, setup)[0] in (200, 204)
    shown_before = _send(vault, show)
    clock = FakeClock(1000.0)
    other = container(clock)
    before = other.state.generation(generation)
    stop_after_first_entry_write(True)
    _send(vault, make_change)  # the client gets an error: the Lambda died after that write
    stop_after_first_entry_write(False)
    assert _send(vault, show) != shown_before  # the change landed
    clock.now += 1.0
    other.begin([])
    assert other.state.generation(generation) > before

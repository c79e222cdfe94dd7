"""AWS faults at every call of a KV v2 write (warm and cold), a token creation, a lease
revocation and an audited read.

Each operation's calls are first counted with the injector (they change as storage
changes; the test follows them), then each call in turn answers each fault that can come
from its service. The client must get the status its fault calls for -- 503 with
``Retry-After`` for throttling and outages, Vault's 500 for a failed audit, success when
only best-effort folder upkeep failed or a partial batch was re-requested -- always in
Vault's envelope; once the fault clears, storage must hold the old state or the new one,
never a mix, and a success must mean the new one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

import pytest
import requests

from chalicelib.leases.secret import LeaseInfo
from chalicelib.storage.view import StorageView
from tests.api import lease_support
from tests.api.fault_support import (
    FAULTS,
    Call,
    Fault,
    Injector,
    fault_injector,  # noqa: F401 (fixture)
)
from tests.api.lease_support import lease_engine  # noqa: F401 (fixture)
from tests.api.test_audit_s3 import s3  # noqa: F401 (fixture)
from tests.api.test_leases import engine_state
from tests.support import VaultHTTP

UNAVAILABLE = re.compile(r"^(AWS throttled|AWS could not serve|cannot reach AWS) .*retry later$")
INTERNAL = {"errors": ["internal error"]}


class Operation(Protocol):
    success: int

    def prepare(self, vault: VaultHTTP) -> None: ...
    def act(self, vault: VaultHTTP, n: int) -> requests.Response: ...
    def settle(self, vault: VaultHTTP, n: int, reply: requests.Response) -> None: ...


class KVWrite:
    """A KV v2 write over an existing secret; ``cold`` starts each from a new container."""

    success = 200
    path = "secret/data/faulty"

    def __init__(self, cold: bool = False) -> None:
        self.cold = cold
        self.version, self.value = 0, {}

    def prepare(self, vault: VaultHTTP) -> None:
        assert vault.post(self.path, {"data": {"n": -1}}).status_code == self.success
        self.settle(vault, -1, None)

    def act(self, vault: VaultHTTP, n: int) -> requests.Response:
        if self.cold:
            from chalicelib.core.runtime import runtime

            runtime.cache_clear()
        return vault.post(self.path, {"data": {"n": n}})

    def settle(self, vault: VaultHTTP, n: int, reply: requests.Response | None) -> None:
        read = vault.get(self.path)
        assert read.status_code == 200, read.text
        version, value = read.json()["data"]["metadata"]["version"], read.json()["data"]["data"]
        metadata = vault.get("secret/metadata/faulty").json()["data"]
        assert metadata["current_version"] == version
        if reply is None or reply.status_code == self.success:
            assert value == {"n": n}
        else:
            assert (version, value) in [(self.version, self.value), (self.version + 1, {"n": n})]
        self.version, self.value = version, value


class TokenCreate:
    success = 200

    def prepare(self, vault: VaultHTTP) -> None:
        self.accessors = self._accessors(vault)

    @staticmethod
    def _accessors(vault: VaultHTTP) -> set[str]:
        reply = vault.request("LIST", "auth/token/accessors")
        assert reply.status_code == 200, reply.text
        return set(reply.json()["data"]["keys"])

    def act(self, vault: VaultHTTP, n: int) -> requests.Response:
        return vault.post("auth/token/create", {"policies": ["default"], "meta": {"n": str(n)}})

    def settle(self, vault: VaultHTTP, n: int, reply: requests.Response) -> None:
        accessors = self._accessors(vault)
        new = accessors - self.accessors
        if reply.status_code == self.success:
            auth = reply.json()["auth"]
            assert new == {auth["accessor"]}
            found = vault.post("auth/token/lookup", {"token": auth["client_token"]})
            assert found.status_code == 200 and found.json()["data"]["meta"] == {"n": str(n)}
        assert len(new) <= 1
        for accessor in new:  # a token stored is a whole token
            found = vault.post("auth/token/lookup-accessor", {"accessor": accessor})
            assert found.status_code == 200 and found.json()["data"]["meta"] == {"n": str(n)}
        self.accessors = accessors


def _idempotent_revoke(view: StorageView, lease: LeaseInfo) -> None:
    # As real engines' revocations are: a second one finds the secret gone and succeeds.
    view.delete(f"issued/{lease.internal['id']}")
    view.put(f"revoked/{lease.internal['id']}", json.dumps(lease.lease_id).encode())


class LeaseRevoke:
    success = 204

    def prepare(self, vault: VaultHTTP) -> None:
        assert vault.post("sys/mounts/things", {"type": "leasetest"}).status_code == 204
        assert vault.post("things/roles/r", {"ttl": "1h"}).status_code == 204
        # A lease that stays, as on a busy role: its folders never empty, so a revocation
        # makes a few upkeep calls rather than thirty (the test's time).
        self.issue(vault)

    def act(self, vault: VaultHTTP, n: int) -> requests.Response:
        return vault.post("sys/leases/revoke", {"lease_id": self.lease["lease_id"]})

    def issue(self, vault: VaultHTTP) -> None:
        reply = vault.get("things/creds/r")
        assert reply.status_code == 200, reply.text
        self.lease = reply.json()

    def settle(self, vault: VaultHTTP, n: int, reply: requests.Response) -> None:
        lease_id, secret = self.lease["lease_id"], self.lease["data"]["id"]
        if vault.post("sys/leases/lookup", {"lease_id": lease_id}).status_code == 200:
            assert reply.status_code != self.success
            # Still leased: revoking again finishes the job.
            assert self.act(vault, n).status_code == self.success
        assert vault.post("sys/leases/lookup", {"lease_id": lease_id}).status_code == 400
        issued, revoked = engine_state(vault)
        assert secret in revoked and secret not in issued  # no lease without its secret


class AuditedRead:
    success = 200
    path = "secret/data/audited"

    def prepare(self, vault: VaultHTTP) -> None:
        assert vault.post(self.path, {"data": {"v": "1"}}).status_code == 200
        assert vault.post("sys/audit/s3", {"type": "s3"}).status_code == 204

    def act(self, vault: VaultHTTP, n: int) -> requests.Response:
        return vault.get(self.path)

    def settle(self, vault: VaultHTTP, n: int, reply: requests.Response) -> None:
        if reply.status_code == self.success:
            assert reply.json()["data"]["data"] == {"v": "1"}
        assert self.act(vault, n).json()["data"]["data"] == {"v": "1"}


def expected_status(operation: Operation, fault: Fault, call: Call) -> int:
    """What the client is told when ``fault`` hits ``call``."""
    if call.upkeep or fault.name in ("UnprocessedKeys", "UnprocessedItems"):
        return operation.success  # best effort after the commit / re-requested
    if call.service == "firehose":
        return 500  # audit fails closed
    if fault.name == "TransactionConflict":
        return operation.success  # a conditional transaction: retried against fresh state
    return 503


def assert_reply(reply: requests.Response, status: int, context: str) -> None:
    assert reply.status_code == status, f"{context}: {reply.status_code} {reply.text}"
    if status == 503:
        assert reply.headers["Retry-After"] in ("1", "5"), context
        [message] = reply.json()["errors"]
        assert UNAVAILABLE.match(message), f"{context}: {message}"
    elif status == 500:
        assert reply.json() == INTERNAL, context


OPERATIONS: dict[str, type[Any] | tuple[type[Any], bool]] = {
    "kv-write": KVWrite,
    "kv-write-cold": (KVWrite, True),
    "token-create": TokenCreate,
    "lease-revoke": LeaseRevoke,
    "audited-read": AuditedRead,
}


def _build(name: str) -> Any:
    spec = OPERATIONS[name]
    return spec[0](*spec[1:]) if isinstance(spec, tuple) else spec()


@pytest.fixture
def idempotent_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lease_support, "_revoke", _idempotent_revoke)


def rehearse(vault: VaultHTTP, faults: Injector, operation: Operation) -> list[Call]:
    """The calls the operation makes once in its steady state (a first run may make more:
    folder markers, a first token under a parent)."""
    calls: list[Call] = []
    for n in range(2):
        if isinstance(operation, LeaseRevoke):
            operation.issue(vault)
        faults.restart()
        reply = operation.act(vault, n)
        calls = list(faults.calls)
        assert reply.status_code == operation.success, reply.text
        operation.settle(vault, n, reply)
    assert calls, "the operation made no AWS call"
    return calls


def fault_plan(calls: list[Call]) -> list[tuple[int, Call, Fault]]:
    """Every call with every fault its service can give; folder upkeep (the bulk of a
    revocation's calls, one code path repeated) with one fault each, taking turns."""
    plan = []
    for index, call in enumerate(calls):
        faults = [fault for fault in FAULTS.values() if fault.applies(call)]
        if call.upkeep:
            faults = [faults[index % len(faults)]]
        plan += [(index, call, fault) for fault in faults]
    return plan


@pytest.mark.usefixtures("s3", "lease_engine", "idempotent_leases")
@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_fault_at_every_call(vault: VaultHTTP, injector: Injector, name: str) -> None:
    operation = _build(name)
    operation.prepare(vault)
    calls = rehearse(vault, injector, operation)
    for n, (index, call, fault) in enumerate(fault_plan(calls), start=2):
        if isinstance(operation, LeaseRevoke):
            operation.issue(vault)
        injector.restart(fault, index)
        reply = operation.act(vault, n)
        failed = injector.failed
        injector.restart()
        context = f"{fault.name} at call {index} ({call}) of {[str(c) for c in calls]}"
        # Only upkeep after a commit may move: an earlier fault left a marker to redo.
        assert failed == [call] or (call.upkeep and len(failed) <= 1), context
        status = expected_status(operation, fault, failed[0]) if failed else operation.success
        assert_reply(reply, status, context)
        operation.settle(vault, n, reply)


def test_a_batch_delete_left_unprocessed_is_sent_again_then_refused(
    vault: VaultHTTP, injector: Injector
) -> None:
    fault = FAULTS["UnprocessedItems"]
    for name in ("kv1", "kv2"):
        assert vault.post(f"sys/mounts/{name}", {"type": "kv"}).status_code == 204
        assert vault.post(f"{name}/a", {"v": "1"}).status_code == 204
    injector.restart()
    assert vault.delete("sys/mounts/kv1").status_code == 204  # a rehearsal, to count calls
    first = [str(call) for call in injector.calls].index("dynamodb:BatchWriteItem")
    injector.restart(fault, first)
    assert vault.delete("sys/mounts/kv2").status_code == 204  # re-sent once, then done
    assert [str(call) for call in injector.failed] == ["dynamodb:BatchWriteItem"]
    assert "kv2/" not in vault.get("sys/mounts").json()["data"]
    assert vault.post("sys/mounts/kv3", {"type": "kv"}).status_code == 204
    assert vault.post("kv3/a", {"v": "1"}).status_code == 204
    with injector.down(fault):
        reply = vault.delete("sys/mounts/kv3")
    assert_reply(reply, 503, "unprocessed for good")
    message = "AWS throttled BatchWriteItem (UnprocessedItems); retry later"
    assert reply.json()["errors"] == [message]
    # As Vault, the mount was unrouted before its data went: it is gone either way.
    assert "kv3/" not in vault.get("sys/mounts").json()["data"]

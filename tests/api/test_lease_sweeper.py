"""The scheduled sweep: due leases (and expired tokens) are revoked with no client action."""

from __future__ import annotations

import time

import pytest

from tests.api.lease_support import (  # noqa: F401 (fixtures)
    lease_engine,
    short_and_long_roles,
)
from tests.api.test_leases import engine_state, issue, lookup, sweep
from tests.support import VaultHTTP

pytestmark = pytest.mark.usefixtures("lease_engine")


def test_an_expired_lease_is_revoked_by_the_sweep_alone(things: VaultHTTP):
    body = issue(things, "short")
    assert sweep().revoked == 0  # not due yet
    report = sweep(10)
    assert (report.revoked, report.index_items_read, report.leases_read) == (1, 1, 1)
    assert body["data"]["id"] in engine_state(things)[1]
    assert lookup(things, body["lease_id"]).status_code == 400


def test_a_sweep_reads_only_what_is_due(things: VaultHTTP):
    for _ in range(5):
        issue(things, "long")
    due = [issue(things, "short") for _ in range(2)]
    report = sweep(10)
    assert report.revoked == 2
    assert report.index_items_read == 2 and report.leases_read == 2
    assert {d["data"]["id"] for d in due} <= engine_state(things)[1]
    assert sweep(10).index_items_read == 0


def test_a_renewed_lease_is_not_revoked_at_its_old_expiry(things: VaultHTTP):
    body = issue(things, "short")
    reply = things.post("sys/leases/renew", {"lease_id": body["lease_id"], "increment": 3600})
    assert reply.status_code == 200
    assert sweep(10).revoked == 0
    assert lookup(things, body["lease_id"]).status_code == 200


def test_failures_back_off_then_the_lease_becomes_irrevocable(things: VaultHTTP):
    body = issue(things, "short")
    assert things.post("things/config/fail", {"fail": True}).status_code == 204
    offset = 10
    report = sweep(offset)
    assert report.failed == 1
    data = lookup(things, body["lease_id"]).json()["data"]
    assert data["revoke_error"] == "the test engine refuses to revoke"
    assert sweep(offset + 1).index_items_read == 0  # backing off: not due again yet
    for _ in range(5):
        offset += 3600
        assert sweep(offset).failed == 1
    data = lookup(things, body["lease_id"]).json()["data"]
    assert data["revoke_error"].startswith("failed to revoke after 6 attempts: ")
    assert data["renewable"] is False
    # Irrevocable leases leave the due index; an operator can still revoke-force them.
    assert sweep(offset + 10**6).index_items_read == 0
    assert things.post("sys/leases/revoke-force/things").status_code == 204
    assert lookup(things, body["lease_id"]).status_code == 400


def test_overlapping_sweeps_revoke_each_lease_once(things: VaultHTTP):
    """Sweep B runs to completion between sweep A's read of the leases and its claims."""
    from chalicelib.core.runtime import runtime
    from chalicelib.leases import manager
    from chalicelib.leases.sweeper import SweepReport, _revoke_due

    bodies = [issue(things, "short") for _ in range(4)]
    rt = runtime()
    stale = [manager.store(rt).load(body["lease_id"]) for body in bodies]
    assert sweep(10).revoked == 4
    late = SweepReport()
    for lease in stale:
        _revoke_due(rt, lease, int(time.time()) + 10, late, [], lambda _: True)
    assert (late.revoked, late.failed, late.skipped) == (0, 0, 4)
    assert engine_state(things)[1] == {body["data"]["id"] for body in bodies}


def test_a_claimed_lease_is_left_to_its_claimant_until_the_claim_lapses(things: VaultHTTP):
    from chalicelib.core.runtime import runtime
    from chalicelib.leases import manager

    body = issue(things, "short")
    store = manager.store(runtime())
    lease = store.load(body["lease_id"])
    claim_until = int(time.time()) + 10 + manager.CLAIM_SECONDS
    store.save(lease.evolve(due_at=claim_until))  # another sweep's claim, then it crashed
    assert sweep(10).revoked == 0
    assert sweep(10 + manager.CLAIM_SECONDS + 1).revoked == 1


def test_an_expired_token_is_revoked_with_its_leases(things: VaultHTTP):
    auth = things.post("auth/token/create", {"policies": ["root"], "ttl": "3s"}).json()["auth"]
    body = issue(things, "long", token=auth["client_token"])
    report = sweep(10)
    assert report.tokens_revoked == 1
    assert body["data"]["id"] in engine_state(things)[1]
    reply = things.post("auth/token/lookup-accessor", {"accessor": auth["accessor"]})
    assert reply.status_code == 400


def test_a_sweep_does_nothing_while_sealed(things: VaultHTTP):
    issue(things, "short")
    assert things.put("sys/seal").status_code == 204
    report = sweep(10)
    assert report.revoked == 0 and report.index_items_read == 0


def test_the_cursor_moves_past_emptied_hours(things: VaultHTTP):
    first = sweep(0)
    assert len(first.hours) == 25  # a table's first sweep looks back a day
    assert sweep(0).hours == [first.hours[-1]]
    issue(things, "short")
    later = sweep(3 * 3600)
    assert later.revoked == 1 and len(later.hours) == 4
    assert len(sweep(3 * 3600).hours) == 1



def test_a_run_out_of_time_leaves_the_rest_due_for_the_next(things: VaultHTTP):
    from chalicelib.leases.sweeper import sweep as run

    due = [issue(things, "short") for _ in range(3)]
    stopped = run(now=int(time.time()) + 10, seconds=0.0)
    assert (stopped.revoked, stopped.out_of_time) == (0, True)
    assert all(lookup(things, body["lease_id"]).status_code == 200 for body in due)
    finished = sweep(10)
    assert (finished.revoked, finished.out_of_time) == (3, False)

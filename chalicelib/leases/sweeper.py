"""The scheduled sweep: revoke what is due, reading only what is due.

Each run reads the cluster state and the sweep cursor in one round trip, queries the
`lease-due` index for every time bucket from the cursor's hour to now (keys only, items
due by now), reads those leases in batches, claims each with a conditional write (so two
overlapping sweeps never revoke the same lease twice, and a crashed sweep's claim lapses
after CLAIM_SECONDS), and revokes it through its engine; a failure is retried with
backoff and, after the last attempt, the lease is kept as irrevocable (lookup shows why).
The cursor then moves past every hour it emptied. Once a day, as OpenBao, a sweep also
tries again the irrevocable leases that expired over an hour ago (an engine may have
recovered); the cursor records when.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chalicelib.core import jsonio
from chalicelib.leases import layout, manager
from chalicelib.leases.entry import LeaseEntry
from chalicelib.observability import logger
from chalicelib.storage.physical import ConditionFailed
from chalicelib.tokens import ids
from chalicelib.tokens.clock import NANOS

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime

# Leases handled per run at most: the rest waits for the next run (Lambda's time limit).
DEFAULT_LIMIT = 1000
# Wall seconds a run may spend claiming and revoking: a revocation that reaches a database
# or a broker takes tens of milliseconds, so 1,000 of them can outlast the function's 28 s
# timeout. Leases not claimed by then stay due for the next run (one a minute).
RUN_SECONDS = 20.0
# Without a cursor (the first sweep of a table) look back this far.
FIRST_LOOKBACK = 24 * layout.HOUR
_READ_CHUNK = 100  # BatchGetItem's limit
# OpenBao's retry of irrevocable leases: once a day, those expired for over an hour.
IRREVOCABLE_RETRY_SECONDS = 24 * layout.HOUR
IRREVOCABLE_GRACE = layout.HOUR


@dataclass(slots=True)
class SweepReport:
    index_items_read: int = 0
    leases_read: int = 0
    revoked: int = 0
    failed: int = 0
    skipped: int = 0
    tokens_revoked: int = 0
    irrevocable_retried: bool = False
    hours: list[str] = field(default_factory=list)
    out_of_time: bool = False  # the run stopped at RUN_SECONDS with due leases left


def sweep(
    rt: Runtime | None = None, *, now: int | None = None, limit: int = DEFAULT_LIMIT,
    seconds: float = RUN_SECONDS,
) -> SweepReport:  # fmt: skip
    """One sweep of at most ``limit`` leases and ``seconds`` of revocations; does nothing
    while the vault is sealed or uninitialised."""
    deadline = time.monotonic() + seconds
    if rt is None:
        from chalicelib.core.runtime import runtime

        rt = runtime()
    values = rt.begin([layout.CURSOR_KEY])  # begin loads a cold container first
    report = SweepReport()
    if rt.sealed or not rt.initialized:
        return report
    now = int(time.time()) if now is None else now
    cursor_entry = values.get(layout.CURSOR_KEY)
    saved = jsonio.loads(rt.barrier.open(cursor_entry).value) if cursor_entry else {}
    cursor = saved.get("hour", layout.hour_of(now - FIRST_LOOKBACK))
    emptied = cursor

    def due_now(lease: LeaseEntry) -> bool:
        return lease.due_at <= now and not lease.irrevocable

    budget = limit
    for hour in range(cursor, layout.hour_of(now) + 1, layout.HOUR):
        report.hours.append(layout.bucket(hour, 0).partition("#")[0])
        complete = True
        for shard in range(layout.SHARDS):
            keys, read = rt.physical.due_keys(layout.bucket(hour, shard), now, budget)
            report.index_items_read += read
            budget -= len(keys)
            complete &= _handle(rt, keys, now, report, deadline, due_now) and budget > 0
            if budget <= 0:
                break
        if not complete or budget <= 0:
            break
        if hour < layout.hour_of(now):
            emptied = hour + layout.HOUR
    retried = saved.get("irrevocable", 0)
    if budget > 0 and now - retried >= IRREVOCABLE_RETRY_SECONDS:
        # Marked done even if time ran out: the rest waits a day, as a failing one does.
        report.irrevocable_retried, retried = True, now
        expired_by = now - IRREVOCABLE_GRACE
        keys, _ = rt.physical.due_keys(layout.IRREVOCABLE_BUCKET, expired_by, budget)
        _handle(rt, keys, now, report, deadline, lambda lease: lease.irrevocable)
    if emptied != cursor or retried != saved.get("irrevocable", 0):
        rt.barrier.put(
            layout.CURSOR_KEY, jsonio.dumpb({"hour": emptied, "irrevocable": retried})
        )
    logger.info(
        "lease sweep",
        extra={
            "revoked": report.revoked,
            "failed": report.failed,
            "out_of_time": report.out_of_time,
            "read": report.index_items_read + report.leases_read,
        },
    )
    return report


def _handle(
    rt: Runtime, keys: list[str], now: int, report: SweepReport, deadline: float,
    wanted: Callable[[LeaseEntry], bool],
) -> bool:  # fmt: skip
    """Act on due keys (the `wanted` leases among them: the index may lag); False if
    something could not be dealt with, or time ran out before it was (the hour stays)."""
    ok = True
    token_keys = [key for key in keys if key.startswith(ids.ID_PREFIX)]
    lease_keys = [key for key in keys if key.startswith(layout.ENTRY_PREFIX)]
    for key in token_keys:
        ok &= _expire_token(rt, key, now, report)
    store = manager.store(rt)
    revoked: list[LeaseEntry] = []
    for start in range(0, len(lease_keys), _READ_CHUNK):
        leases = store.load_many(lease_keys[start:start + _READ_CHUNK])
        report.leases_read += len(leases)
        for lease in leases:
            if time.monotonic() >= deadline:
                report.out_of_time, ok = True, False  # unclaimed: due for the next run
                break
            ok &= _revoke_due(rt, lease, now, report, revoked, wanted)
    try:
        manager.forget_many(rt, revoked)
    except Exception:
        # The secrets are revoked; their claims lapse and a later sweep drops the leases
        # (revocation callbacks are idempotent).
        logger.exception("lease sweep could not drop revoked leases")
        return False
    return ok


def _revoke_due(
    rt: Runtime, lease: LeaseEntry, now: int, report: SweepReport, revoked: list[LeaseEntry],
    wanted: Callable[[LeaseEntry], bool],
) -> bool:  # fmt: skip
    if not wanted(lease):
        report.skipped += 1  # the index lagged a renewal or another sweep's claim
        return True
    try:
        claimed = manager.store(rt).save(lease.evolve(due_at=now + manager.CLAIM_SECONDS))
    except ConditionFailed:
        report.skipped += 1  # another sweep (or a renewal) got there first
        return True
    try:
        if manager.revoke_secret(rt, claimed, now):
            report.revoked += 1
            revoked.append(claimed)
        else:
            report.failed += 1
    except Exception:
        logger.exception("lease sweep could not record a revocation")
        return False
    return True


def _expire_token(rt: Runtime, key: str, now: int, report: SweepReport) -> bool:
    """A token's own expiry mark: revoke it (and with it its children and leases)."""
    from chalicelib.tokens.context import token_store
    from chalicelib.tokens.revoke import revoke_tree
    from chalicelib.tokens.store import open_entry

    found = rt.barrier.get(key)
    if found is None:
        return True
    if not open_entry(found).expired(now * NANOS):
        report.skipped += 1  # renewed since the mark was read
        return True
    try:
        revoke_tree(token_store(rt), key.rpartition("/")[2])
    except Exception:
        logger.exception("lease sweep could not revoke an expired token")
        return False
    report.tokens_revoked += 1
    return True

"""Upgrading a KV mount from version 1 to 2 (`bao kv enable-versioning`).

Every v1 secret becomes a v2 secret whose version 1 is the old value, created now (v1
kept no times), exactly as OpenBao's upgrade does. Each secret moves in a transaction
that creates its v2 item and deletes its v1 entry, so the upgrade can stop anywhere
(a Lambda timeout) and simply be run again: what is left under v1/ is what remains.

OpenBao upgrades in a goroutine after the tune answers; a Lambda cannot keep working
after its response. The contract here instead:

1. The tune records `upgrade` = {since_ns, settled: false} in the mount's view BEFORE the
   mount table says version 2 (`prepare_upgrade`), then runs one pass within its own
   time budget (`run_upgrade`).
2. Every request to a version-2 mount goes through `UpgradeGate.ensure` first. A mount
   with no `upgrade` record was created as version 2; a settled one is done for good.
   Otherwise the request runs a pass itself (a single Query once v1/ is empty) and is
   answered OpenBao's "Upgrading ..." 400 if the pass does not finish in its budget, so an
   interrupted upgrade is finished by the next requests, whichever container serves them.
3. A container that loaded the mount table before the tune may still write a v1 entry
   after the first pass (a straggler). It cannot do so later than STRAGGLER_WINDOW after
   `since`, so passes continue until one that began past that window completes; that one
   marks the record settled. Each container then remembers the mount as settled: a warm
   request pays nothing, a cold container one GetItem per mount.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.engines.kv.layout import UPGRADE_KEY, V1_PREFIX, meta_key
from chalicelib.engines.kv.versioning import KvConfig, SecretRecord, now_ns
from chalicelib.settings import settings
from chalicelib.storage import writeguard
from chalicelib.storage.physical import ConditionFailed, Delete, Entry, Put
from chalicelib.storage.view import StorageView

_READ_CHUNK = 100  # keys per BatchGetItem
_MAX_SECRETS = 49  # two operations each, within a transaction's 100
_MAX_BYTES = 3_000_000  # under a transaction's 4 MB, with room for keys and overhead
# The tune's own pass stays under the function's 28 s timeout and API Gateway's 29 s.
TUNE_BUDGET_SECONDS = 20.0
# A request finishing an interrupted upgrade leaves itself time to do its own work.
REQUEST_BUDGET_SECONDS = 5.0
# Longer than any request can run (the function times out at 28 s), plus how long a
# container may trust a cached cluster state, i.e. an old mount table.
STRAGGLER_WINDOW_SECONDS = 60.0
UPGRADING = (
    "Upgrading from non-versioned to versioned data. This backend will be unavailable for "
    "a brief period and will resume service shortly."
)


def upgrade_v1_to_v2(view: StorageView, deadline: float | None = None) -> bool:
    """Move every v1 secret of the mount at `view` into the v2 layout. Idempotent.

    Safe to run again, or concurrently with itself: each move is conditional on the v1
    entry being unchanged and the v2 secret not existing yet. If a v2 write created the
    secret first, that newer write wins and the v1 entry is dropped. Stops between
    batches once `time.monotonic()` passes `deadline`; returns whether it finished.
    """
    now = now_ns()
    for keys in _v1_keys(view):
        for start in range(0, len(keys), _READ_CHUNK):
            entries = view.get_many(keys[start : start + _READ_CHUNK])
            for batch in _batches(list(entries.values())):
                if deadline is not None and time.monotonic() > deadline:
                    return False
                _move_batch(view, batch, now)
    return True


def prepare_upgrade(view: StorageView) -> None:
    """Record a pending upgrade; call before the mount table says version 2."""
    view.put_json(UPGRADE_KEY, {"since_ns": now_ns(), "settled": False})


def run_upgrade(view: StorageView) -> bool:
    """The tune's pass, after the mount table commit; the gate finishes what it leaves."""
    return upgrade_v1_to_v2(view, time.monotonic() + TUNE_BUDGET_SECONDS)


def _window_ns() -> int:
    return int((STRAGGLER_WINDOW_SECONDS + settings().cluster_state_ttl) * 1e9)


@dataclass
class UpgradeGate:
    """Per container: which version-2 mounts (by storage prefix) have no v1 data left."""

    settled: set[str] = field(default_factory=set)
    pending_since: dict[str, int] = field(default_factory=dict)

    def ensure(self, view: StorageView) -> None:
        """Before serving a v2 request: finish the mount's upgrade, if one is under way."""
        if view.prefix in self.settled:
            return
        since = self.pending_since.get(view.prefix)
        if since is None:
            since = self._pending(view)
            if since is None:
                return
        started = now_ns()
        with writeguard.upkeep():  # the mount's migration, whatever the request asks
            if not upgrade_v1_to_v2(view, time.monotonic() + REQUEST_BUDGET_SECONDS):
                raise BadRequest(UPGRADING)
            if started - since >= _window_ns():
                view.put_json(UPGRADE_KEY, {"since_ns": since, "settled": True})
                self._settle(view.prefix)

    def _pending(self, view: StorageView) -> int | None:
        """The pending upgrade's start, from storage; None (and remembered) if settled."""
        record = view.get_json(UPGRADE_KEY)
        if record is None or record["settled"]:
            self._settle(view.prefix)
            return None
        since = int(record["since_ns"])
        self.pending_since[view.prefix] = since
        return since

    def _settle(self, prefix: str) -> None:
        self.settled.add(prefix)
        self.pending_since.pop(prefix, None)


def _v1_keys(view: StorageView) -> Iterator[list[str]]:
    """The v1 entry keys, one folder at a time (depth first, listing as it goes)."""
    folders = [V1_PREFIX]
    while folders:
        folder = folders.pop()
        names = view.list(folder)
        folders += [folder + name for name in names if name.endswith("/")]
        yield [folder + name for name in names if not name.endswith("/")]


def _batches(entries: list[Entry]) -> Iterator[list[Entry]]:
    batch: list[Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) == _MAX_SECRETS or size + len(entry.value) > _MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += len(entry.value)
    if batch:
        yield batch


def _record(entry: Entry, now: int) -> bytes:
    record = SecretRecord()
    # OpenBao adds the version with max_versions 1, which also sets oldest_version to 1.
    record.add_version(jsonio.loads(entry.value), now, KvConfig(max_versions=1))
    return jsonio.dumpb(record.to_storage())


def _moves(entry: Entry, now: int) -> list[Put | Delete]:
    path = entry.key[len(V1_PREFIX) :]
    return [
        Put(meta_key(path), _record(entry, now), expected_version=0),
        Delete(entry.key, expected_version=entry.version),
    ]


def _move_batch(view: StorageView, batch: list[Entry], now: int) -> None:
    try:
        view.transact([op for entry in batch for op in _moves(entry, now)])
    except ConditionFailed:
        # Someone else touched one of them: settle each secret on its own.
        for entry in batch:
            _move_one(view, entry, now)


def _move_one(view: StorageView, entry: Entry | None, now: int) -> None:
    while entry is not None:
        try:
            view.transact(_moves(entry, now))
            return
        except ConditionFailed:
            pass
        path = entry.key[len(V1_PREFIX) :]
        if view.get(meta_key(path)) is not None:
            try:
                view.delete(entry.key, expected_version=entry.version)
                return
            except ConditionFailed:
                pass
        entry = view.get(entry.key)  # changed (or gone: then there is nothing left to do)

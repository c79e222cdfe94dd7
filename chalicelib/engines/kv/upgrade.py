"""Upgrading a KV mount from version 1 to 2 (`bao kv enable-versioning`).

Every v1 secret becomes a v2 secret whose version 1 is the old value, created now (v1
kept no times), exactly as OpenBao's upgrade does. Each secret moves in a transaction
that creates its v2 item and deletes its v1 entry, so the upgrade can stop anywhere
(a Lambda timeout) and simply be run again: what is left under v1/ is what remains.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from chalicelib.engines.kv.layout import V1_PREFIX, meta_key
from chalicelib.engines.kv.store import encode
from chalicelib.engines.kv.versioning import KvConfig, SecretRecord, now_ns
from chalicelib.storage.physical import ConditionFailed, Delete, Entry, Put
from chalicelib.storage.view import StorageView

_READ_CHUNK = 100  # keys per BatchGetItem
_MAX_SECRETS = 49  # two operations each, within a transaction's 100
_MAX_BYTES = 3_000_000  # under a transaction's 4 MB, with room for keys and overhead


def upgrade_v1_to_v2(view: StorageView) -> None:
    """Move every v1 secret of the mount at `view` into the v2 layout. Idempotent.

    Safe to run again, or concurrently with itself: each move is conditional on the v1
    entry being unchanged and the v2 secret not existing yet. If a v2 write created the
    secret first, that newer write wins and the v1 entry is dropped.
    """
    now = now_ns()
    for keys in _v1_keys(view):
        for start in range(0, len(keys), _READ_CHUNK):
            entries = view.get_many(keys[start : start + _READ_CHUNK])
            for batch in _batches(list(entries.values())):
                _move_batch(view, batch, now)


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
    record.add_version(json.loads(entry.value), now, KvConfig(max_versions=1))
    return encode(record.to_storage())


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

"""KV v2 storage: one item per secret (metadata + current data), one per older version.

Every change is a conditional write of the secret's item on the storage version read
before it (check-and-set), together with the version items it adds or removes, in one
transaction. A writer that loses the race re-reads and re-validates (`retrying`), so
concurrent writers get contiguous version numbers and a stale `cas` fails as in OpenBao.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.core import jsonio
from chalicelib.core.errors import InternalError, PreconditionFailed
from chalicelib.engines.kv.layout import CONFIG_KEY, meta_key, version_key
from chalicelib.engines.kv.versioning import KvConfig, SecretRecord, now_ns
from chalicelib.storage.physical import ConditionFailed, Delete, Entry, Put, WriteOp
from chalicelib.storage.view import StorageView

T = TypeVar("T")

MAX_TRANSACTION_OPS = 100  # DynamoDB's TransactWriteItems limit
# Enough for a burst of concurrent writers to one secret to all get through in turn.
MAX_ATTEMPTS = 40


@dataclass(slots=True)
class Loaded:
    """A secret's record and the storage version it was read at (for check-and-set)."""

    record: SecretRecord
    item_version: int


def _loaded(entry: Entry | None) -> Loaded | None:
    if entry is None:
        return None
    return Loaded(SecretRecord.from_storage(jsonio.loads(entry.value)), entry.version)


def load(view: StorageView, path: str) -> Loaded | None:
    """The secret at `path`: one GetItem (or none when the pipeline prefetched it)."""
    return _loaded(view.get(meta_key(path)))


def load_with_config(view: StorageView, path: str) -> tuple[KvConfig, Loaded | None]:
    """Config and secret together, in one BatchGetItem: what every write needs."""
    entries = view.get_many([CONFIG_KEY, meta_key(path)])
    config = entries.get(CONFIG_KEY)
    return (
        KvConfig.from_storage(jsonio.loads(config.value) if config else None),
        _loaded(entries.get(meta_key(path))),
    )


def read_config(view: StorageView) -> KvConfig:
    return KvConfig.from_storage(view.get_json(CONFIG_KEY))


@dataclass(slots=True)
class VersionRead:
    """One version of a secret as a read found it; `data` is only meaningful if readable."""

    record: SecretRecord
    number: int
    data: Any


def read_version(view: StorageView, path: str, requested: int) -> VersionRead | None:
    """The latest version (`requested` <= 0, as OpenBao) or version `requested`.

    Latest: one GetItem. A given version: one BatchGetItem of the secret and that
    version's item (the current version has no item, its data is in the record).
    """
    meta = meta_key(path)
    if requested > 0:
        entries = view.get_many([meta, version_key(path, requested)])
    else:
        entries = {meta: entry} if (entry := view.get(meta)) else {}
    loaded = _loaded(entries.get(meta))
    if loaded is None:
        return None
    record = loaded.record
    number = requested if requested > 0 else record.current_version
    info = record.versions.get(number)
    if info is None:
        return None
    if number == record.current_version or not info.is_readable(now_ns()):
        return VersionRead(record, number, record.data)
    item = entries.get(version_key(path, number))
    if item is None:
        raise InternalError()  # a readable archived version always has its item
    return VersionRead(record, number, jsonio.loads(item.value))


def retrying(attempt: Callable[[], T]) -> T:
    """Run a read-validate-write attempt again whenever its conditional write lost a race."""
    for tries in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except ConditionFailed:
            # A little jitter spreads the losers so the next round is not another pile-up.
            time.sleep(random.uniform(0, 0.002 * min(tries + 1, 10)))  # noqa: S311
    raise PreconditionFailed("the secret is being changed concurrently; retry the request")


def commit(
    view: StorageView,
    path: str,
    loaded: Loaded | None,
    record: SecretRecord,
    extra: Sequence[WriteOp] = (),
) -> None:
    """Write the secret's item on the version it was read at, plus `extra`, atomically."""
    expected = loaded.item_version if loaded else 0
    if not extra:
        view.put(meta_key(path), jsonio.dumpb(record.to_storage()), expected_version=expected)
        return
    view.transact([Put(meta_key(path), jsonio.dumpb(record.to_storage()), expected), *extra])


def purge_ops(path: str, record: SecretRecord, room: int) -> list[WriteOp]:
    """Deletes for queued version items, as many as fit in `room` transaction slots."""
    taken, record.purge = record.purge[:room], record.purge[room:]
    return [Delete(version_key(path, number)) for number in taken]


def commit_purging(
    view: StorageView,
    path: str,
    loaded: Loaded | None,
    record: SecretRecord,
    ops: Sequence[WriteOp] = (),
) -> None:
    """Commit with as many queued deletes as fit; then drain the queue, if any is left.

    A queued version is never readable (pruned, destroyed), so a crash between the
    transactions leaves only unreachable items, which the next change deletes.
    """
    room = MAX_TRANSACTION_OPS - 1 - len(ops)
    commit(view, path, loaded, record, [*ops, *purge_ops(path, record, room)])
    if record.purge:
        retrying(lambda: _drain(view, path))


def _drain(view: StorageView, path: str) -> None:
    while (loaded := load(view, path)) is not None and loaded.record.purge:
        record = loaded.record
        commit(view, path, loaded, record, purge_ops(path, record, MAX_TRANSACTION_OPS - 1))


def write_version(
    view: StorageView,
    path: str,
    loaded: Loaded | None,
    config: KvConfig,
    data: Any,
    now: int,
) -> SecretRecord:
    """Add `data` as the new current version: the previous one moves to its own item."""
    record = loaded.record if loaded else SecretRecord()
    previous, previous_data = record.current_version, record.data
    record.add_version(data, now, config)
    ops: list[WriteOp] = []
    kept = record.versions.get(previous)
    if kept is not None and not kept.destroyed:
        ops.append(Put(version_key(path, previous), jsonio.dumpb(previous_data)))
    commit_purging(view, path, loaded, record, ops)
    return record


def destroy_versions(view: StorageView, path: str, loaded: Loaded, numbers: list[int]) -> None:
    """Mark versions destroyed and delete their data for good (OpenBao's destroy)."""
    record = loaded.record
    doomed = [
        n for n in dict.fromkeys(numbers)
        if n in record.versions and not record.versions[n].destroyed
    ]
    if not doomed:
        return
    for number in doomed:
        record.versions[number].destroyed = True
    if record.current_version in doomed:
        record.data = None  # the current version's data lives in the record itself
    record.purge += [n for n in doomed if n != record.current_version]
    commit_purging(view, path, loaded, record)


def delete_secret(view: StorageView, path: str, loaded: Loaded) -> None:
    """Remove the secret and every version item (metadata delete), the record last."""
    record = loaded.record
    record.purge += [
        n for n, info in record.versions.items()
        if n != record.current_version and not info.destroyed
    ]
    if len(record.purge) >= MAX_TRANSACTION_OPS:
        # Too many for one transaction: make every version unreadable first, then drain.
        for info in record.versions.values():
            info.destroyed = True
        record.data = None
        commit_purging(view, path, loaded, record)
        loaded = load(view, path) or loaded
    final = Delete(meta_key(path), expected_version=loaded.item_version)
    deletes = purge_ops(path, loaded.record, MAX_TRANSACTION_OPS - 1)
    if deletes:
        view.transact([*deletes, final])
    else:
        view.delete(final.key, expected_version=final.expected_version)

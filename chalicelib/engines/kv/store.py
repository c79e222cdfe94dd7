"""KV v2 storage: one item per secret (metadata + current data), a few slots for older ones.

Every change is a conditional write of the secret's item on the storage version read
before it (check-and-set). A new version first moves its predecessor into a slot
(archive.py): two single-item writes, no transaction. Changes that delete or wipe other
items (destroy, pruning legacy items, metadata delete) make them in one transaction with
the record. A writer that loses a race re-reads and re-validates (`retrying`), so
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
from chalicelib.engines.kv import archive
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


def read_config(view: StorageView) -> KvConfig:
    """The mount's config as stored (writes use the container's copy: configs.py)."""
    return KvConfig.from_storage(view.get_json(CONFIG_KEY))


@dataclass(slots=True)
class VersionRead:
    """One version of a secret as a read found it; `data` is only meaningful if readable."""

    record: SecretRecord
    number: int
    data: Any


def read_version(view: StorageView, path: str, requested: int) -> VersionRead | None:
    """The latest version (`requested` <= 0, as OpenBao) or version `requested`.

    Latest: one GetItem (none when the pipeline prefetched it). An older version: the
    record says where its data is, then one GetItem of that slot (or legacy item).
    """
    loaded = load(view, path)
    if loaded is None:
        return None
    record = loaded.record
    number = requested if requested > 0 else record.current_version
    info = record.versions.get(number)
    if info is None:
        return None
    if number == record.current_version or not info.is_readable(now_ns()):
        return VersionRead(record, number, record.data)
    if info.slot is None:
        item = view.get(version_key(path, number))
        return VersionRead(record, number, jsonio.loads(_found(item).value))
    item = view.get(archive.key_of(path, record, info.slot))
    try:
        return VersionRead(record, number, archive.slot_data(_found(item).value, number))
    except ValueError:
        raise InternalError() from None  # never served: another version's data


def _found(item: Entry | None) -> Entry:
    if item is None:
        raise InternalError()  # a readable archived version always has its item
    return item


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
    """The queued deletes of legacy items, then the queued wipes of free slots, as many as
    fit in `room` transaction operations.

    A wipe is unconditional: the record's conditional put in the same transaction proves
    the slot is still free. The slot's storage version is then at least one more than the
    record said, and that is what the record keeps (a lower bound is safe: archive.py).
    """
    deletes, record.purge = record.purge[:room], record.purge[room:]
    wipes, record.scrub = record.scrub[: room - len(deletes)], record.scrub[room - len(deletes) :]
    for slot in wipes:
        record.set_slot_version(slot, record.slot_version(slot) + 1)
    return [
        *(Delete(version_key(path, number)) for number in deletes),
        *(Put(archive.key_of(path, record, slot), archive.WIPED) for slot in wipes),
    ]


def commit_purging(
    view: StorageView,
    path: str,
    loaded: Loaded | None,
    record: SecretRecord,
    ops: Sequence[WriteOp] = (),
) -> None:
    """Commit (with `ops`) and as many queued deletes and wipes as fit; then drain the rest.

    What is queued is never readable (pruned, destroyed), so a crash between the
    transactions leaves only unreachable data, which the next change removes.
    """
    room = MAX_TRANSACTION_OPS - 1 - len(ops)
    commit(view, path, loaded, record, [*ops, *purge_ops(path, record, room)])
    if record.purge or record.scrub:
        retrying(lambda: _drain(view, path))


def _drain(view: StorageView, path: str) -> None:
    while (loaded := load(view, path)) is not None and (
        loaded.record.purge or loaded.record.scrub
    ):
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
    """Add `data` as the new current version: the previous one moves into a slot first
    (unless it is destroyed, or max_versions 1 drops it at once)."""
    record = loaded.record if loaded else SecretRecord()
    previous = record.versions.get(record.current_version)
    archived = None
    if loaded is not None and previous is not None and not previous.destroyed and (
        record.keep(config) > 1
    ):
        archived = archive.archive_current(view, path, record, loaded.item_version)
    record.add_version(data, now, config)
    if archived is not None:
        archive.settle(record, archived)
    try:
        commit_purging(view, path, loaded, record)
    except ConditionFailed:
        if archived is not None:
            fresh = load(view, path)
            archive.clean_up(view, path, record, archived, fresh.record if fresh else None)
        raise
    return record


def destroy_versions(view: StorageView, path: str, loaded: Loaded, numbers: list[int]) -> None:
    """Mark versions destroyed and wipe their data for good (OpenBao's destroy)."""
    record = loaded.record
    doomed = [
        n for n in dict.fromkeys(numbers)
        if n in record.versions and not record.versions[n].destroyed
    ]
    if doomed:
        _destroy(view, path, loaded, doomed)


def _destroy(view: StorageView, path: str, loaded: Loaded, doomed: list[int]) -> None:
    """Destroy `doomed`, and wipe every slot no version holds: a writer that crashed or
    lost a race may have left a copy of a destroyed version in one. The next slot, which
    no record names yet, is deleted instead (it may not exist: a wipe would create it)."""
    record = loaded.record
    for number in doomed:
        info = record.versions[number]
        info.destroyed = True
        if number == record.current_version:
            record.data = None  # the current version's data lives in the record itself
        elif info.slot is None:
            record.purge.append(number)
        info.slot = None
    record.scrub = sorted({*record.scrub, *record.free_slots()})
    next_slot = Delete(archive.key_of(path, record, len(record.slots)))
    commit_purging(view, path, loaded, record, [next_slot])


def _item_keys(path: str, record: SecretRecord) -> list[str]:
    """Every item a secret may have besides its record: each slot and the next one (a
    crashed writer's copy may sit there), and the legacy items of listed versions."""
    legacy = [
        n for n, info in record.versions.items()
        if n != record.current_version and info.slot is None and not info.destroyed
    ]
    return [
        *(archive.key_of(path, record, slot) for slot in range(len(record.slots) + 1)),
        *(version_key(path, number) for number in [*legacy, *record.purge]),
    ]


def delete_secret(view: StorageView, path: str, loaded: Loaded) -> None:
    """Remove the secret and every item it has (metadata delete), the record last."""
    keys = _item_keys(path, loaded.record)
    if len(keys) >= MAX_TRANSACTION_OPS:
        # Too many for one transaction: destroy every version and wipe every slot first
        # (each step keeps the record), so that what outlives the record holds no data.
        versions = loaded.record.versions
        _destroy(view, path, loaded, [n for n, info in versions.items() if not info.destroyed])
        loaded = load(view, path) or loaded
        keys = _item_keys(path, loaded.record)
    room = MAX_TRANSACTION_OPS - 1
    final = Delete(meta_key(path), expected_version=loaded.item_version)
    view.transact([*map(Delete, keys[:room]), final])
    for start in range(room, len(keys), MAX_TRANSACTION_OPS):
        view.transact(list(map(Delete, keys[start : start + MAX_TRANSACTION_OPS])))

"""Moving a secret's current version into a slot before a new version replaces it.

A write is two conditional writes after the request's read: the superseded version's data
into a slot item (`version/<path>/<k>.<tag>`), then the secret's item with the new version
(check-and-set on its storage version). No transaction: each item bills 1 WRU per KB once.

Why it is safe (the "era" of a writer is the storage version m of the record it read):
* Every writer of era m archives the same version (the current one of that record, whose
  data never changes) into the same slot: the smallest one free in that record, with the
  slot's storage version the record names as the condition. Only a record commit made
  on era m (the unique commit m -> m+1) can make that slot write live.
* A slot is written only where the committed record read says it is free, and only on
  the storage version that record names (or a lower bound of it); storage versions only
  rise within an incarnation: slots are overwritten, never deleted until the secret is
  (only the next slot, which no record names yet, may be). So a writer with an old
  record finds the slot moved on and fails: it never replaces a version a newer record
  lists.
* A slot write that finds the slot moved on (a racing writer of the same era, or one
  that crashed or lost after its slot write) reads the slot: if it holds the version this
  writer archives, it adopts it as is; otherwise the slot holds nothing a record lists,
  and the writer commits the record unchanged but for that slot's storage version (on
  era m, so only if the slot is still free) and starts over.

Crash windows: before the slot write, nothing changed. Between the slot write and the
record's commit, the slot (free in the committed record) holds a copy of the current
version, which readers never look at: they see the old versions, all intact; the next
writer adopts the copy. After the commit, the write is done.
"""

from __future__ import annotations

from contextlib import suppress
from typing import NamedTuple

from chalicelib.core import jsonio
from chalicelib.engines.kv.layout import incarnation_tag, meta_key, slot_key
from chalicelib.engines.kv.versioning import SecretRecord
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView

# What a slot holds once its data was wiped (a destroyed version, a pruned one).
WIPED = jsonio.dumpb(None)


class Archived(NamedTuple):
    """Version `number` copied into `slot`, whose item is now at `storage_version`;
    `created`: this writer made the item (an orphan if the secret vanishes meanwhile)."""

    number: int
    slot: int
    storage_version: int
    created: bool


def slot_value(number: int, data: object) -> bytes:
    return jsonio.dumpb([number, data])


def slot_number(value: bytes) -> int | None:
    """The version a slot item holds (None: wiped, or not a slot value at all)."""
    content = jsonio.loads(value)
    return content[0] if isinstance(content, list) and content else None


def slot_data(value: bytes, number: int) -> object:
    """Version `number`'s data from its slot item; ValueError if the slot holds another."""
    content = jsonio.loads(value)
    if not isinstance(content, list) or len(content) != 2 or content[0] != number:
        raise ValueError("the slot holds another version")
    return content[1]


def key_of(path: str, record: SecretRecord, slot: int) -> str:
    return slot_key(path, slot, incarnation_tag(record.created_ns))


def archive_current(view: StorageView, path: str, record: SecretRecord, m: int) -> Archived:
    """Write the record's current version into its smallest free slot (see the module).

    `record` is the committed record as read at storage version `m`, unchanged. Raises
    ConditionFailed when the attempt must start over from a fresh read.
    """
    number, slot = record.current_version, record.free_slot()
    key = key_of(path, record, slot)
    expected = record.slot_version(slot)
    try:
        written = view.put(key, slot_value(number, record.data), expected_version=expected)
        return Archived(number, slot, written, created=expected == 0)
    except ConditionFailed:
        pass
    found = view.get(key)
    if found is not None and slot_number(found.value) == number:
        return Archived(number, slot, found.version, created=False)  # the same copy: adopt it
    record.set_slot_version(slot, found.version if found else 0)
    view.put(meta_key(path), jsonio.dumpb(record.to_storage()), expected_version=m)
    raise ConditionFailed("the slot was repaired; start over")


def settle(record: SecretRecord, archived: Archived) -> None:
    """Record where the archived version went, in the record about to be committed."""
    info = record.versions.get(archived.number)
    if info is not None:
        info.slot = archived.slot
    record.set_slot_version(archived.slot, archived.storage_version)
    if archived.slot in record.scrub:  # overwritten: nothing left to wipe
        record.scrub.remove(archived.slot)


def clean_up(
    view: StorageView, path: str, record: SecretRecord, archived: Archived,
    now_record: SecretRecord | None,
) -> None:
    """After a lost commit, what the slot write left where nothing will remove it.

    A slot item this writer created belongs to no record if the secret was deleted (or
    deleted and written again) meanwhile: it goes. A copy of a version destroyed
    meanwhile is wiped (the destroy wiped the free slots before this copy landed).
    Either only if nobody wrote the slot since (they own it then).
    """
    key = key_of(path, record, archived.slot)
    copied = now_record.versions.get(archived.number) if now_record else None
    with suppress(ConditionFailed):
        if now_record is None or now_record.created_ns != record.created_ns:
            if archived.created:
                view.delete(key, expected_version=archived.storage_version)
        elif copied is not None and copied.destroyed:
            view.put(key, WIPED, expected_version=archived.storage_version)

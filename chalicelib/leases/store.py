"""Lease entries and their token index over the barrier, written together or not at all."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from chalicelib.leases import layout
from chalicelib.leases.entry import LeaseEntry
from chalicelib.storage.barrier import Barrier
from chalicelib.storage.physical import Delete, Put


class LeaseStore:
    def __init__(self, barrier: Barrier) -> None:
        self.barrier = barrier

    def load(self, lease_id: str) -> LeaseEntry | None:
        if not lease_id or lease_id.startswith("/") or "//" in lease_id:
            return None
        found = self.barrier.get(layout.entry_key(lease_id.rstrip("/")))
        return None if found is None else LeaseEntry.from_entry(found)

    def load_many(self, keys: Sequence[str]) -> list[LeaseEntry]:
        """Leases by storage key, 100 per BatchGetItem; missing ones are left out."""
        return [LeaseEntry.from_entry(found) for found in self.barrier.get_many(keys).values()]

    def load_ids(self, lease_ids: Sequence[str]) -> list[LeaseEntry]:
        return self.load_many([layout.entry_key(lease_id) for lease_id in lease_ids])

    def create(self, lease: LeaseEntry) -> None:
        """The lease and its token index in one transaction (both new)."""
        key = layout.entry_key(lease.lease_id)
        writes = [Put(key, lease.to_bytes(), 0, layout.due_mark(key, lease.due_at))]
        if lease.token:
            index = layout.token_index_key(lease.token, lease.lease_id)
            writes.append(Put(index, lease.lease_id.encode(), 0))
        self.barrier.transact(writes)

    def save(self, lease: LeaseEntry) -> LeaseEntry:
        """Rewrite a lease read at `lease.version`; ConditionFailed if someone else did."""
        key = layout.entry_key(lease.lease_id)
        due = (
            layout.irrevocable_mark(lease.expires_ns) if lease.irrevocable
            else layout.due_mark(key, lease.due_at)
        )  # fmt: skip
        version = self.barrier.put(key, lease.to_bytes(), expected_version=lease.version, due=due)
        return lease.evolve(key=key, version=version)

    def delete(self, lease: LeaseEntry) -> None:
        """Remove a revoked lease and its token index entry in one transaction
        (ConditionFailed if the lease changed since it was read)."""
        ops = [Delete(layout.entry_key(lease.lease_id), lease.version)]
        if lease.token and not lease.is_token:
            ops.append(Delete(layout.token_index_key(lease.token, lease.lease_id)))
        self.barrier.transact(ops)

    def drop(self, leases: Sequence[LeaseEntry]) -> None:
        """Remove revoked leases and their index entries without conditions (the sweeper's
        claimed leases: nothing else may change them once due), in batches."""
        keys = []
        for lease in leases:
            keys.append(layout.entry_key(lease.lease_id))
            if lease.token and not lease.is_token:
                keys.append(layout.token_index_key(lease.token, lease.lease_id))
        self.barrier.delete_many(keys)

    def list(self, prefix: str) -> list[str]:
        return self.barrier.list(layout.ENTRY_PREFIX + prefix)

    def walk(self, prefix: str) -> Iterator[str]:
        """Every lease id under `prefix` (a folder, "" for all), depth first."""
        for name in self.list(prefix):
            if name.endswith("/"):
                yield from self.walk(prefix + name)
            else:
                yield prefix + name

    def by_token(self, salted_token: str) -> list[str]:
        folder = layout.token_folder(salted_token)
        names = self.barrier.list(folder)
        found = self.barrier.get_many([folder + name for name in names if "/" not in name])
        return [entry.value.decode() for entry in found.values()]

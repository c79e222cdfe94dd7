"""The token store over the barrier: look up, persist, count uses.

Every read here is strongly consistent and nothing is cached across requests, so a
revocation made through any container applies to the very next request everywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.leases import layout
from chalicelib.leases.entry import TOKEN_LEASE, LeaseEntry
from chalicelib.storage.barrier import Barrier
from chalicelib.storage.physical import ConditionFailed, Due, Entry, Put
from chalicelib.tokens import ids
from chalicelib.tokens.batch import BatchCodec
from chalicelib.tokens.clock import now_ns
from chalicelib.tokens.entry import BATCH, REVOCATION_PENDING, TokenEntry

_RETRIES = 5


def open_entry(entry: Entry) -> TokenEntry:
    """The token entry stored in ``entry`` (its value opened by the barrier)."""
    return TokenEntry.from_storage(jsonio.loads(entry.value), key=entry.key, version=entry.version)


_OPENED_MAX = 512
_opened: dict[tuple[str, int, bytes], TokenEntry] = {}
_opening = threading.Lock()


def open_sealed(barrier: Barrier, entry: Entry) -> TokenEntry:
    """The token entry in ``entry`` as physical storage holds it (sealed), as read by this
    request: validity is never cached.

    Memoised by the sealed bytes: a container sees the same few tokens request after
    request, and decrypting, parsing and building one costs ~60,000 instructions where a
    hit costs a hash of the bytes just read. The same key, version and ciphertext always
    open to the same entry (the key is the ciphertext's associated data, every write is a
    new version with a fresh nonce), so a hit is what decrypting would give. The memo holds
    neither token IDs nor keys.
    """
    memo_key = (entry.key, entry.version, entry.value)
    found = _opened.get(memo_key)
    if found is None:
        found = open_entry(barrier.open(entry))
        with _opening:
            if len(_opened) >= _OPENED_MAX:
                del _opened[next(iter(_opened))]  # the oldest
            _opened[memo_key] = found
    return found


def encode(entry: TokenEntry) -> bytes:
    return jsonio.dumpb(entry.to_storage())


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class AccessorRecord(NamedTuple):
    accessor: str
    salted_id: str

    def to_bytes(self) -> bytes:
        return jsonio.dumpb({"accessor": self.accessor, "salted_id": self.salted_id})

    @classmethod
    def from_bytes(cls, raw: bytes) -> AccessorRecord:
        return cls(**jsonio.loads(raw))


def expiry_mark(key: str, entry: TokenEntry) -> Due | None:
    """The due-index mark that has the lease sweeper revoke the token when it expires."""
    if not entry.expires_ns:
        return None
    return layout.due_mark(key, layout.due_second(entry.expires_ns))


def service_token_writes(salt: bytes, token_id: str, entry: TokenEntry) -> list[Put]:
    """The items of a new service token, in plaintext (the barrier seals them).

    Its entry, its accessor index and, with a parent, the parent's child index; each
    must be new, so a duplicate custom ID fails the whole write. Nothing lists the token
    IDs (tidy and sys/leases go by accessor and lease), so the entry is unlisted: no index
    item or folder marker that every login in the cluster would write.
    """
    salted = ids.salted_id(salt, token_id)
    key = ids.salted_key(salted)
    writes = [
        Put(key, encode(entry), expected_version=0, due=expiry_mark(key, entry), listed=False),
        Put(
            ids.accessor_key(salt, entry.accessor),
            AccessorRecord(entry.accessor, salted).to_bytes(),
            expected_version=0,
        ),
    ]
    if entry.parent:
        writes.append(Put(ids.parent_key(entry.parent, salted), b"", expected_version=0))
    # Its lease, so sys/leases can look up, list and revoke tokens as Vault does.
    lease = token_lease(salted, entry)
    writes.append(Put(layout.entry_key(lease.lease_id), lease.to_bytes(), expected_version=0))
    return writes


def token_lease(salted: str, entry: TokenEntry) -> LeaseEntry:
    """A token's lease entry: a pointer to the token, whose own entry keeps the times."""
    return LeaseEntry(
        lease_id=f"{entry.path.rstrip('/')}/{salted}",
        path=entry.path,
        mount_uuid="",
        secret_type=TOKEN_LEASE,
        internal={},
        renewable=False,
        issued_ns=entry.issued_ns,
        expires_ns=entry.expires_ns,
        token=salted,
    )


class TokenStore:
    """Token entries, their accessor and parent indexes, and batch tokens."""

    def __init__(
        self,
        barrier: Barrier,
        salt: bytes,
        batch_key: bytes,
        revoke_hooks: Sequence[Callable[[TokenEntry], None]] = (),
    ) -> None:
        self.barrier = barrier
        self.salt = salt
        self.codec = BatchCodec(batch_key)
        # Called with each token about to be deleted (its cubbyhole, later its leases).
        self.revoke_hooks = tuple(revoke_hooks)

    # -- lookups -------------------------------------------------------------------------

    def lookup(self, token_id: str, *, tainted: bool = False) -> TokenEntry | None:
        """A live token by its ID (Vault's ``Lookup``); ``tainted`` accepts a last use."""
        if not token_id:
            return None
        if ids.is_batch(token_id):
            return self.lookup_batch(token_id)
        return self.lookup_salted(ids.salted_id(self.salt, token_id), tainted=tainted)

    def lookup_salted(self, salted: str, *, tainted: bool = False) -> TokenEntry | None:
        found = self.barrier.get(ids.salted_key(salted))
        if found is None:
            return None
        entry = open_entry(found)
        return entry if entry.live(now_ns(), tainted=tainted) else None

    def lookup_batch(self, token_id: str) -> TokenEntry | None:
        """A batch token is valid until it expires and, unless an orphan, while its parent is."""
        entry = self.codec.open(token_id)
        if entry is None or entry.expired(now_ns()):
            return None
        if entry.parent and self.lookup_salted(entry.parent) is None:
            return None
        return entry

    def accessor_record(self, accessor: str) -> AccessorRecord | None:
        if not accessor:
            return None
        found = self.barrier.get(ids.accessor_key(self.salt, accessor))
        return None if found is None else AccessorRecord.from_bytes(found.value)

    # -- writes --------------------------------------------------------------------------

    def create_service(self, token_id: str, entry: TokenEntry, parent: TokenEntry | None) -> None:
        """Persist a new service token in one transaction.

        A child also rewrites its parent unchanged at the version this request read: if the
        parent is being revoked (revocation marks it first), the transaction fails instead of
        leaving a child outside the revocation tree.
        """
        writes = service_token_writes(self.salt, token_id, entry)
        for _ in range(_RETRIES):
            guard: list[Put] = []
            if parent is not None and entry.parent:
                guard = [Put(parent.key, encode(parent), expected_version=parent.version)]
            try:
                self.barrier.transact([*writes, *guard])
                return
            except ConditionFailed:
                if self.barrier.get(writes[0].key) is not None:
                    raise BadRequest("cannot create a token with a duplicate ID") from None
            if not entry.parent:
                break
            # The parent changed (renewed, used) or went away: retry against its fresh self.
            parent = self.lookup_salted(entry.parent)
            if parent is None:
                raise BadRequest("parent token not found")
        raise PreconditionFailed("the parent token is being changed concurrently; retry")

    def issue_batch(self, entry: TokenEntry) -> str:
        if entry.type != BATCH:
            raise ValueError("only batch entries are sealed into tokens")
        return self.codec.seal(entry)

    def update(
        self, entry: TokenEntry, change: Callable[[TokenEntry], TokenEntry | None]
    ) -> TokenEntry | None:
        """Read-modify-write with a version check, retried against concurrent writers.

        ``change`` sees the freshest entry and returns the new one (None: leave it alone).
        Returns what was written, or None once the token no longer exists.
        """
        current: TokenEntry | None = entry
        for _ in range(_RETRIES):
            if current is None:
                return None
            updated = change(current)
            if updated is None:
                return current
            moved = updated.expires_ns != current.expires_ns
            try:
                version = self.barrier.put(
                    current.key,
                    encode(updated),
                    expected_version=current.version,
                    due=expiry_mark(current.key, updated) if moved else None,
                )
            except ConditionFailed:
                found = self.barrier.get(current.key)
                current = None if found is None else open_entry(found)
                continue
            return updated.evolve(version=version)
        raise PreconditionFailed("the token is being changed concurrently; retry")

    def use(self, entry: TokenEntry) -> TokenEntry | None:
        """Spend one use of a limited token atomically (Vault's ``UseToken``).

        The last use leaves the entry marked REVOCATION_PENDING: invalid for every later
        request; the caller revokes it once the current request is done.
        """
        if entry.num_uses == 0:
            return entry

        def spend(current: TokenEntry) -> TokenEntry:
            if current.num_uses <= 0:  # spent meanwhile (or revoked): refuse this use
                raise _Exhausted
            remaining = REVOCATION_PENDING if current.num_uses == 1 else current.num_uses - 1
            return current.evolve(num_uses=remaining)

        try:
            return self.update(entry, spend)
        except _Exhausted:
            return None


class _Exhausted(Exception):
    """A limited-use token had no use left by the time this request tried to spend one."""

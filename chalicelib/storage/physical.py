"""The physical storage contract: opaque byte values under hierarchical string keys.

Keys look like Vault's (`core/mounts`, `logical/<uuid>/config`): segments separated by
"/", never empty, never starting or ending with "/". A *prefix* names a folder: it is ""
(the root) or ends with "/". Values are opaque here; the barrier encrypts them before
they reach a physical backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple, Protocol

from chalicelib.core.errors import BadRequest

# Entry, Due, Put and Delete are NamedTuples: they are defined on every cold start, and a
# frozen dataclass costs ~7x more to define (it compiles its generated methods).


class Entry(NamedTuple):
    """A stored value and its version (1 on creation, +1 per write)."""

    key: str
    value: bytes
    version: int


class Due(NamedTuple):
    """A plaintext mark that lists an entry in the due index: due at `at` (Unix seconds),
    found by querying `bucket` (see `Physical.due_keys`). `NOT_DUE` removes the mark."""

    bucket: str
    at: int


NOT_DUE = Due("", 0)


class Put(NamedTuple):
    """Write `value` at `key`.

    expected_version: None writes unconditionally, 0 requires that the key does not
    exist, N > 0 requires that it is currently at version N.
    due: None leaves the entry's due mark as it is; a `Due` sets it (NOT_DUE clears it).
    listed: False for a key whose folder nothing ever lists (`transact` gives it no index
    item and its folder no marker): one write less per creation, and no collection that
    every creation in the folder writes. Its Delete must say so too.
    """

    key: str
    value: bytes
    expected_version: int | None = None
    due: Due | None = None
    listed: bool = True


class Delete(NamedTuple):
    """Delete `key` (expected_version and listed as for `Put`)."""

    key: str
    expected_version: int | None = None
    listed: bool = True


WriteOp = Put | Delete


# A NamedTuple (not a frozen dataclass): every request builds one, and positional tuple
# construction is the cheapest way to do it.
class ClusterState(NamedTuple):
    """The small, plaintext, shared state every container polls (see ARCHITECTURE §3).

    Frozen all the way down: storage backends build ``generations`` with
    :func:`frozen_generations`, so a cached state cannot be mutated by whoever reads it.
    """

    sealed: bool = False
    term: int = 0
    generations: Mapping[str, int] = MappingProxyType({})

    def generation(self, name: str) -> int:
        """The generation counter `name`; 0 when it was never bumped."""
        return self.generations.get(name, 0)


def frozen_generations(counts: dict[str, int]) -> Mapping[str, int]:
    """A read-only view of ``counts``, which the caller hands over (and no longer changes)."""
    return MappingProxyType(counts)


class QuotaCounter(NamedTuple):
    """A rate-limit counter: its window, the requests claimed in it cluster-wide, and until
    when (Unix seconds) its client is blocked (0: never)."""

    window: int = 0
    claimed: int = 0
    blocked_until: int = 0


class QuotaClaim(NamedTuple):
    """A claim on a counter: ``amount`` of window ``window``'s ``limit`` at time ``now``;
    the item expires (DynamoDB TTL) at ``expires_at``."""

    window: int
    amount: int
    limit: int
    now: int
    expires_at: int


class ConditionFailed(Exception):
    """A conditional write lost (version mismatch or a concurrent transaction).

    Internal: callers translate it into the client error that fits (usually 412 / a
    check-and-set failure).
    """


class Physical(Protocol):
    """What the barrier needs from a storage backend. Every read is strongly consistent."""

    def get(self, key: str) -> Entry | None: ...

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]: ...

    def read(
        self, keys: Sequence[str], *, with_state: bool = True
    ) -> tuple[dict[str, Entry], ClusterState | None]:
        """`get_many(keys)` and, if `with_state`, `cluster_state()` in one round trip
        (None for the state otherwise; no call at all when there is nothing to read)."""
        ...

    def put(
        self, key: str, value: bytes, *, expected_version: int | None = None, due: Due | None = None
    ) -> int:
        """Write and return the new version; ConditionFailed when expected_version is not met."""
        ...

    def delete(self, key: str, *, expected_version: int | None = None) -> None: ...

    def transact(self, ops: Sequence[WriteOp], *, bump: Sequence[str] = ()) -> None:
        """All or nothing; ConditionFailed if any condition fails. Each name in `bump` has
        its generation incremented in the same transaction (see `update_cluster_state`),
        so no write lands without the bump that tells other containers of it."""
        ...

    def delete_many(self, keys: Sequence[str]) -> None:
        """Delete these keys unconditionally, in batches (not atomic; a missing key is no
        error): cheaper than a transaction where no condition is needed."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Immediate children of `prefix`: leaf names and "sub/" folder names, sorted."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete everything under `prefix`, recursively; returns the number of entries."""
        ...

    def due_keys(self, bucket: str, until: int, limit: int) -> tuple[list[str], int]:
        """Keys marked due in `bucket` at or before `until`, soonest first, at most `limit`;
        and the number of index items read. Eventually consistent: callers re-read."""
        ...

    def cluster_state(self) -> ClusterState: ...

    def add_encryptions(self, term: int, count: int) -> int:
        """Add `count` to keyring term `term`'s shared encryption counter, atomically
        (a counter starts at 0); returns the new total."""
        ...

    def encryptions(self, term: int) -> int:
        """Keyring term `term`'s shared encryption counter (0 when never added to)."""
        ...

    def update_cluster_state(
        self,
        *,
        sealed: bool | None = None,
        term: int | None = None,
        bump: Sequence[str] = (),
    ) -> ClusterState:
        """One atomic update; each name in `bump` has its generation incremented by 1.
        `term` only ever rises (a smaller or equal one is left out); it is written first,
        on its own."""
        ...

    # -- rate-limit quota counters (plain items: nothing secret; see chalicelib/quotas) --

    def claim_quota(self, key: str, claim: QuotaClaim, *, opens: bool) -> int | None:
        """Claim ``claim.amount`` requests of ``claim.window`` on counter ``key`` unless its
        client is blocked. ``opens``: start that window (the item is absent or in an older
        one) at ``amount``; else add to it, within ``claim.limit``. The window's new total,
        or None when the condition does not hold."""
        ...

    def quota_counter(self, key: str) -> QuotaCounter:
        """Counter ``key`` as stored (zeros when absent)."""
        ...

    def block_quota(self, key: str, until: int, now: int, expires_at: int) -> int:
        """Block counter ``key``'s client until ``until`` unless a block is already in force
        at ``now`` (the first blocker wins); returns the block in force."""
        ...


def check_key(key: str) -> None:
    """Reject keys that cannot name an entry (the message shows no key: it may be secret)."""
    if not key or key.startswith("/") or key.endswith("/") or "//" in key:
        raise BadRequest("invalid storage key: empty path segment")


def check_prefix(prefix: str) -> None:
    """A prefix is the root ("") or a folder ending with "/"; anything else is a caller bug."""
    if prefix and (not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix):
        raise ValueError("a storage prefix must be empty or end with a single '/'")


def parent_folder(path: str) -> str:
    """The folder holding a key or a folder: "a/b/c" and "a/b/c/" are both in "a/b/"."""
    head, _, _ = path.rstrip("/").rpartition("/")
    return f"{head}/" if head else ""


def check_version(expected_version: int | None) -> None:
    if expected_version is not None and expected_version < 0:
        raise ValueError("expected_version must be None, 0 or a positive version")

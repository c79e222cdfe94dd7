"""Per-container state: the barrier's keys, the mount tables and the cluster state.

A Lambda container keeps this between invocations. It rereads the small cluster-state
item (in the same BatchGetItem as its token) when its copy is older than
`cluster_state_ttl` (1 s by default) and reloads only what a generation bump says has
changed, so seal, rotation, mount, policy and audit changes made through any container
apply everywhere within that time. One shared item read by every request would cap the
whole cluster at its partition's 3,000 reads/s; read at most once per container per
second, it costs containers/s instead (ARCHITECTURE §3).
"""

from __future__ import annotations

import base64
import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed, Unavailable, VaultError
from chalicelib.core.mounts import AUTH_KEY, MOUNTS_KEY, MountTable
from chalicelib.identity.resolve import IdentityCache
from chalicelib.seal import kms
from chalicelib.seal.config import KEYRING_KEY, SEAL_CONFIG_KEY, SealConfig
from chalicelib.seal.rootkey import open_with_root, seal_with_root
from chalicelib.settings import settings
from chalicelib.storage.barrier import Barrier, Keyring
from chalicelib.storage.encryptions import EncryptionTally
from chalicelib.storage.physical import (
    ClusterState,
    ConditionFailed,
    Entry,
    Physical,
    Put,
    WriteOp,
    frozen_generations,
)
from chalicelib.tokens.acl_cache import ACLCache
from chalicelib.tokens.ids import BATCH_KEY, SALT_KEY

if TYPE_CHECKING:
    from chalicelib.audit.broker import Broker
    from chalicelib.storage.view import StorageView

TABLE_KEYS = {"mounts": MOUNTS_KEY, "auth": AUTH_KEY}
# Loaded with the keyring at unseal, like the tables: what the token store needs per request.
UNSEAL_KEYS = [KEYRING_KEY, MOUNTS_KEY, AUTH_KEY, SALT_KEY, BATCH_KEY]


T = TypeVar("T")  # what a cached barrier entry decodes to


# A plain class, not a dataclass: defined on every cold start, where a dataclass costs
# ~50x more to define (it compiles its generated methods).
class KeyringRecord:
    """The keyring plus when each term was installed (for sys/key-status)."""

    __slots__ = ("installed", "keyring")

    def __init__(self, keyring: Keyring, installed: dict[int, str] | None = None) -> None:
        self.keyring = keyring
        self.installed: dict[int, str] = {} if installed is None else installed

    def to_bytes(self) -> bytes:
        payload = {
            "keyring": base64.b64encode(self.keyring.to_bytes()).decode(),
            "installed": {str(term): when for term, when in self.installed.items()},
        }
        return jsonio.dumpb(payload)

    @classmethod
    def from_bytes(cls, raw: bytes) -> KeyringRecord:
        payload = jsonio.loads(raw)
        installed = {int(term): when for term, when in payload["installed"].items()}
        return cls(Keyring.from_bytes(base64.b64decode(payload["keyring"])), installed)


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run a cold start's allocations with the cyclic collector paused.

    A cold load creates ~75,000 long-lived objects (botocore's parsed models and endpoint
    data, the modules it imports): collecting while they are created rescans them again and
    again, ~60 ms of a cold start here, to free nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@cache
def freeze_container_objects() -> None:
    """Exempt everything alive now from later collections (once per process).

    Left in the collected generations, those objects would be rescanned by every full
    collection, which botocore's allocations trigger every few warm requests. Once only: a
    process that rebuilds its runtime (tests) must not make its later garbage immortal.
    """
    gc.freeze()


class Runtime:
    """What one container knows; created once per process by :func:`runtime`."""

    def __init__(
        self, physical: Physical, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.physical = physical
        self._clock = clock
        self._state_ttl = settings().cluster_state_ttl
        # When the request that read `state` was sent: a change committed after that is
        # seen once the copy is older than the TTL, so within the TTL of its commit.
        self._state_read_at = -float("inf")
        self.barrier = Barrier(
            physical, None, EncryptionTally(self._add_encryptions), self._reload_keyring
        )
        self.seal_config: SealConfig | None = None
        self.state = ClusterState()
        self.keyring_record: KeyringRecord | None = None
        self.tables: dict[str, MountTable] = {"mounts": MountTable(), "auth": MountTable()}
        self.token_salt: bytes | None = None
        self.batch_key: bytes | None = None
        # Compiled ACLs by policy set, valid for one generation of the policies.
        self.acls = ACLCache()
        # Token -> entity hints, the group graph and compiled entities (identity.resolve).
        self.identity = IdentityCache()
        # This container's audit devices, made on first use (chalicelib.audit.broker).
        self.audit_broker: Broker | None = None
        self._root_key: bytes | None = None
        # Why the last auto-unseal failed (KMS unreachable, ...): what a request that needs
        # the barrier is told while this container stays sealed; retried on every request.
        self.unseal_error: VaultError | None = None
        self._unseal_tried = False
        self._generations: dict[str, int] = {}
        self._loaded = False

    # -- state --------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return self.seal_config is not None

    @property
    def sealed(self) -> bool:
        return self.barrier.keyring is None

    @property
    def mounts(self) -> MountTable:
        return self.tables["mounts"]

    @property
    def auth(self) -> MountTable:
        return self.tables["auth"]

    def begin(self, extra_keys: list[str]) -> dict[str, Entry]:
        """The per-request read: cluster state plus ``extra_keys`` in one round trip.

        Returns the extra keys that exist, still sealed (``barrier.open`` opens one: a
        prefetched entry is decrypted only if the request uses it), with their versions (for
        conditional writes such as a token's use count); empty while sealed.
        """
        if not self._loaded:  # not ensure_loaded(): that starts a new unseal attempt
            self._cold_load()
        try:
            sent = self._clock()
            stale = self.sealed or sent - self._state_read_at >= self._state_ttl
            keys = extra_keys if not self.sealed else []
            entries, state = self.physical.read(keys, with_state=stale)
            if state is not None:
                self._apply(state)
                self._state_read_at = sent  # applied whole: a failed reload rereads next time
        finally:
            self._unseal_tried = False  # the next request (or job run) may try again
        return {} if self.sealed else entries

    def ensure_loaded(self) -> None:
        """Load a new container: the pipeline's first step (jobs go straight to begin).
        A loaded container forgets any earlier attempt to unseal: this request may try."""
        if not self._loaded:
            self._cold_load()
        else:
            self._unseal_tried = False

    def _cold_load(self) -> None:
        """A new container: seal config, keyring, tables and salt in one BatchGetItem."""
        with collector_paused():  # the AWS clients are built by this first read
            keys = [SEAL_CONFIG_KEY, *UNSEAL_KEYS]
            sent = self._clock()
            entries, state = self.physical.read(keys)
            assert state is not None
            self._state_read_at = sent
            config = entries.get(SEAL_CONFIG_KEY)
            self._loaded = True
            if config is not None:
                self.seal_config = SealConfig.from_bytes(config.value)
                self.state = state
                if not state.sealed:
                    self._auto_unseal(entries)
        freeze_container_objects()

    def _auto_unseal(self, prefetched: dict[str, Entry] | None = None) -> None:
        """Unseal with KMS, or stay sealed and keep why: the seal endpoints still answer
        (sealed), and the next request tries again (no failure outlives a request)."""
        self._unseal_tried = True
        try:
            self._unseal(prefetched)
        except (Unavailable, kms.SealError) as error:
            self.unseal_error = error

    def _unseal(self, prefetched: dict[str, Entry] | None = None) -> None:
        """Exactly one KMS Decrypt, then everything else opens from memory."""
        assert self.seal_config is not None
        entries = prefetched if prefetched is not None else self.physical.get_many(UNSEAL_KEYS)
        self._root_key = kms.unwrap_root_key(
            self.seal_config.wrapped_root_key_bytes, cluster_id=self.seal_config.cluster_id
        )
        self._install_keyring(entries[KEYRING_KEY])
        for name, key in TABLE_KEYS.items():
            self._install_table(name, entries.get(key))
        self._install_token_keys(entries)
        self._generations = dict(self.state.generations)
        self.unseal_error = None

    def _install_keyring(self, entry: Entry) -> Keyring:
        assert self._root_key is not None
        record = KeyringRecord.from_bytes(open_with_root(self._root_key, entry.key, entry.value))
        self.keyring_record = record
        self.barrier.keyring = record.keyring
        return record.keyring

    def _reload_keyring(self) -> Keyring:
        """The stored keyring, installed: another container rotated since this one looked."""
        entry = self.physical.get(KEYRING_KEY)
        assert entry is not None
        return self._install_keyring(entry)

    def _install_token_keys(self, entries: dict[str, Entry]) -> None:
        salt, batch_key = entries.get(SALT_KEY), entries.get(BATCH_KEY)
        self.token_salt = self.barrier.open(salt).value if salt else None
        self.batch_key = self.barrier.open(batch_key).value if batch_key else None

    def _install_table(self, name: str, entry: Entry | None) -> None:
        raw = jsonio.loads(self.barrier.open(entry).value) if entry else []
        self.tables[name] = MountTable.from_storage(raw)

    def _apply(self, state: ClusterState) -> None:
        """React to what other containers did since this one last looked."""
        self.state = state
        if not self.initialized:
            if state.term:  # initialised elsewhere since our cold load
                self._loaded = False
                self._cold_load()
            return
        if state.sealed:
            self._drop_keys()
            return
        if self.sealed:
            if not self._unseal_tried:  # at most one KMS attempt per request
                self._auto_unseal()
            return
        # Newer only: a rotation that stopped between its keyring write and its state update
        # leaves the state a term behind the keyring (which the barrier then reloads on the
        # first value sealed under the new term); "!=" would reread it on every request.
        if self.barrier.keyring is not None and state.term > self.barrier.keyring.active_term:
            self._reload_keyring()
        for name, key in TABLE_KEYS.items():
            if state.generation(name) != self._generations.get(name, 0):
                self._install_table(name, self.physical.get(key))
                self._generations[name] = state.generation(name)

    def _drop_keys(self) -> None:
        """Sealed: forget every key this container holds."""
        self.barrier.keyring = None
        self.unseal_error = None
        self.keyring_record = None
        self._root_key = None
        self.token_salt = None
        self.batch_key = None

    # -- writes that other containers must notice --------------------------------------

    def update_state(
        self, *, sealed: bool | None = None, term: int | None = None, bump: Sequence[str] = ()
    ) -> ClusterState:
        """Change the cluster state (see `Physical.update_cluster_state`) and keep what it
        answered as this container's copy, so the change applies here at once. The TTL keeps
        running from the last read: what other containers changed, which the answer also
        holds, is applied (keys, tables) by that read's successor, within the TTL."""
        self.state = self.physical.update_cluster_state(sealed=sealed, term=term, bump=bump)
        return self.state

    def commit(
        self, store: Barrier | StorageView, ops: Sequence[WriteOp], bump: Sequence[str]
    ) -> ClusterState:
        """Write `ops` and bump these generations in one transaction, so a Lambda stopped
        halfway cannot leave a change that other containers never hear of."""
        store.transact(ops, bump=bump)
        return self.after_commit(bump)

    def after_commit(self, bump: Sequence[str]) -> ClusterState:
        """This container's copy of the state after its own transaction bumped `bump`.

        A transaction answers nothing, so each generation counts one more than held here:
        never more than the table now has (others may have bumped too, and a later read
        that shows more reloads what they changed), so nothing is ever marked loaded that
        was not; a read after a bump of someone else's costs one reload too many at worst.
        """
        counts = dict(self.state.generations)
        for name in set(bump):
            counts[name] = counts.get(name, 0) + 1
        self.state = self.state._replace(generations=frozen_generations(counts))
        return self.state

    def update_table(self, name: str, change: Callable[[MountTable], MountTable]) -> MountTable:
        """Read-modify-write of a mount table with a version check and a generation bump."""
        updated = self.update_entry(
            TABLE_KEYS[name], name, lambda raw: MountTable.from_storage(raw or []),
            lambda table: table.to_storage(), change,
        )
        if updated is None:
            raise PreconditionFailed("the mount table is being changed concurrently; retry")
        self.tables[name] = updated
        self._generations[name] = self.state.generation(name)
        return updated

    def update_entry(
        self,
        key: str,
        generation: str,
        load: Callable[[Any], T],
        dump: Callable[[T], Any],
        change: Callable[[T], T],
    ) -> T | None:
        """Read-modify-write of one JSON barrier entry every container caches, conditional
        on the version read and committed with the cluster-state bump that tells the others
        to reread; None when every attempt lost a race."""
        for _ in range(5):
            entry = self.barrier.get(key)
            updated = change(load(jsonio.loads(entry.value) if entry else None))
            put = Put(key, jsonio.dumpb(dump(updated)), entry.version if entry else 0)
            try:
                self.commit(self.barrier, [put], [generation])
            except ConditionFailed:
                continue
            return updated
        return None

    def _add_encryptions(self, term: int, count: int) -> None:
        """The barrier's tally flushed: add it to the shared count, then rotate if due."""
        total = self.physical.add_encryptions(term, count)
        from chalicelib.seal import rotation  # only once a flush happens

        rotation.after_flush(self, term, total)

    def rotate_keyring(self, only_term: int | None = None) -> KeyringRecord | None:
        """sys/rotate: a new term; old terms stay so older values still decrypt.

        A rotation that loses the keyring write to another one rotates what that one
        wrote (as OpenBao's single active node would run them one after the other). With
        `only_term` (automatic rotation), only if that term is still the active one: None
        when another container rotated first, so a due rotation happens once.
        """
        assert self.keyring_record is not None and self._root_key is not None
        for _ in range(5):
            entry = self.physical.get(KEYRING_KEY)
            assert entry is not None
            stored = open_with_root(self._root_key, entry.key, entry.value)
            current = KeyringRecord.from_bytes(stored)
            if only_term is not None and current.keyring.active_term != only_term:
                return None
            rotated = current.keyring.rotate()
            record = KeyringRecord(rotated, {**current.installed, rotated.active_term: now_iso()})
            blob = seal_with_root(self._root_key, KEYRING_KEY, record.to_bytes())
            try:
                self.physical.put(KEYRING_KEY, blob, expected_version=entry.version)
            except ConditionFailed:
                continue
            self.update_state(term=rotated.active_term)
            self.keyring_record = record
            self.barrier.keyring = rotated
            return record
        raise PreconditionFailed("the keyring is being rotated concurrently; retry")

    def install_initial(self, config: SealConfig, root_key: bytes, state: ClusterState) -> None:
        """After sys/init: this container is unsealed with what it just created."""
        self.seal_config = config
        self._root_key = root_key
        self._loaded = True
        self.state = state
        entries = self.physical.get_many(UNSEAL_KEYS)
        self._install_keyring(entries[KEYRING_KEY])
        for name, key in TABLE_KEYS.items():
            self._install_table(name, entries.get(key))
        self._install_token_keys(entries)
        self._generations = dict(state.generations)

    def mark_sealed(self, sealed: bool) -> None:
        self.update_state(sealed=sealed)
        if sealed:
            self._drop_keys()
        else:
            self._unseal()


@cache
def runtime() -> Runtime:
    """The container's runtime over DynamoDB; tests call ``runtime.cache_clear()``."""
    with collector_paused():  # botocore and pynamodb are imported here
        from chalicelib.storage.dynamodb import DynamoDBPhysical

        return Runtime(DynamoDBPhysical())

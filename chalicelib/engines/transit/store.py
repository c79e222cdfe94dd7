"""Keys in the mount's storage view, and the container's cache of them.

Layout (relative to the mount's view):
  policy/<name>             the key's settings (small: no key material)
  version/<name>/<n>        one key version's material, one item each
  wrapping_key              the mount's RSA-4096 BYOK wrapping key
  config/cache              cache-config's size

Opened keys stay in this container between requests, keyed by (mount uuid, name). Every
change to a key bumps the cluster-state generation "transit", which the pipeline reads in
each request's first round trip: while it has not moved, a cached key is current and a
warm encrypt reads nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.core.runtime import runtime
from chalicelib.engines.transit.material import KeyVersion
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.storage.physical import ConditionFailed, Delete, Put, WriteOp

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.storage.view import StorageView

GENERATION = "transit"
POLICY_PREFIX = "policy/"
VERSION_PREFIX = "version/"
WRAPPING_KEY = "wrapping_key"
CACHE_CONFIG_KEY = "config/cache"
# One transaction carries at most 100 writes: the policy item and the generation bump plus
# this many versions.
_VERSIONS_PER_TRANSACTION = 98
_MAX_CACHED = 10_000
_ATTEMPTS = 5


def version_key(name: str, number: int) -> str:
    return f"{VERSION_PREFIX}{name}/{number}"


@dataclass
class KeyCache:
    """Opened policies of every transit mount in this container, for one generation."""

    generation: int = -1
    policies: dict[tuple[str, str], KeyPolicy] = field(default_factory=dict)
    # The wrapping key never changes once created, so no generation governs it.
    wrapping: dict[str, KeyVersion] = field(default_factory=dict)

    def current(self, generation: int) -> dict[tuple[str, str], KeyPolicy]:
        if generation != self.generation:
            self.policies.clear()
            self.generation = generation
        return self.policies

    def remember(self, key: tuple[str, str], policy: KeyPolicy | None) -> None:
        if policy is None:
            self.policies.pop(key, None)
            return
        if len(self.policies) >= _MAX_CACHED:
            self.policies.pop(next(iter(self.policies)))
        self.policies[key] = policy

    def after_bump(self, generation: int) -> None:
        """Our own write moved the generation: keep the rest only if nobody else did."""
        if generation != self.generation + 1:
            self.policies.clear()
        self.generation = generation


CACHE = KeyCache()


class KeyStore:
    """The keys of one transit mount, as one request sees them."""

    def __init__(self, view: StorageView, mount_uuid: str) -> None:
        self.view = view
        self.mount_uuid = mount_uuid

    @classmethod
    def of(cls, request: Request) -> KeyStore:
        assert request.storage is not None and request.mount is not None
        return cls(request.storage, request.mount.uuid)

    # -- reads -----------------------------------------------------------------------------

    def load(self, name: str) -> KeyPolicy | None:
        """The key, from this container's cache while the generation has not moved."""
        cached = CACHE.current(runtime().state.generation(GENERATION))
        found = cached.get((self.mount_uuid, name))
        if found is None:
            found = self.read(name)
            CACHE.remember((self.mount_uuid, name), found)
        return found

    def read(self, name: str) -> KeyPolicy | None:
        """The key as storage has it now (two round trips: settings, then versions)."""
        entry = self.view.get(POLICY_PREFIX + name)
        if entry is None:
            return None
        settings = jsonio.loads(entry.value)
        first = max(settings["min_available_version"], 1)
        keys = [version_key(name, n) for n in range(first, settings["latest_version"] + 1)]
        stored = self.view.get_many(keys)
        versions = {
            number: KeyVersion.from_storage(jsonio.loads(stored[key].value))
            for number, key in enumerate(keys, start=first)
            if key in stored
        }
        return KeyPolicy.from_settings(settings, versions, entry.version)

    def names(self) -> list[str]:
        return [name for name in self.view.list(POLICY_PREFIX) if not name.endswith("/")]

    # -- writes ------------------------------------------------------------------------------

    def update(self, name: str, change: Callable[[KeyPolicy], None]) -> KeyPolicy | None:
        """Apply ``change`` to a copy of the key and store it; retried on a lost race.

        Returns None when the key does not exist.
        """
        for attempt in range(_ATTEMPTS):
            current = self.load(name) if attempt == 0 else self.read(name)
            if current is None:
                return None
            changed = replace(current, versions=dict(current.versions))
            change(changed)
            try:
                return self.save(changed, previous=current)
            except ConditionFailed:
                continue
        raise PreconditionFailed(f"key {name!r} is being changed concurrently; retry")

    def create(self, policy: KeyPolicy) -> KeyPolicy:
        """Store a new key; ConditionFailed when the name was taken meanwhile."""
        return self.save(policy, previous=None)

    def save(self, policy: KeyPolicy, previous: KeyPolicy | None) -> KeyPolicy:
        before = previous.versions if previous else {}
        written = [n for n, v in policy.versions.items() if before.get(n) is not v]
        removed = [n for n in before if n not in policy.versions]
        puts: list[WriteOp] = [
            Put(version_key(policy.name, n), jsonio.dumpb(policy.versions[n].to_storage()))
            for n in written
        ]
        head = Put(POLICY_PREFIX + policy.name, jsonio.dumpb(policy.settings()), policy.stored_as)
        # Versions first, the settings item last: a reader never sees a version missing.
        while len(puts) > _VERSIONS_PER_TRANSACTION:
            self.view.transact(puts[:_VERSIONS_PER_TRANSACTION])
            puts = puts[_VERSIONS_PER_TRANSACTION:]
        self._commit([*puts, head])
        self._delete_versions(policy.name, removed)
        stored = replace(policy, stored_as=policy.stored_as + 1)
        CACHE.remember((self.mount_uuid, stored.name), stored)
        return stored

    def delete(self, policy: KeyPolicy) -> None:
        try:
            self._commit([Delete(POLICY_PREFIX + policy.name, policy.stored_as)])
        except ConditionFailed:
            raise PreconditionFailed(
                f"key {policy.name!r} is being changed concurrently; retry"
            ) from None
        self._delete_versions(policy.name, list(policy.versions))
        CACHE.remember((self.mount_uuid, policy.name), None)

    def _delete_versions(self, name: str, numbers: Iterable[int]) -> None:
        doomed: list[WriteOp] = [Delete(version_key(name, n)) for n in numbers]
        for start in range(0, len(doomed), 100):
            self.view.transact(doomed[start:start + 100])

    def _commit(self, ops: list[WriteOp]) -> None:
        """Write the settings item's change with the generation bump that tells every
        container (one transaction); this container's cache keeps the rest if it can."""
        state = runtime().commit(self.view, ops, [GENERATION])
        CACHE.after_bump(state.generation(GENERATION))

    # -- small mount-wide items ------------------------------------------------------------------

    def get_json(self, key: str) -> Any | None:
        return self.view.get_json(key)

    def put_json(self, key: str, value: Any) -> None:
        self.view.put_json(key, value)

"""The KV v2 model: engine config, a secret's record (metadata + current data), versions.

The rules are OpenBao's (internal/builtin/logical/kv): how a new version slides the
max_versions window, when delete_version_after makes a version deleted, what the API shows.
Times are integer nanoseconds since the epoch, shown in Go's RFC 3339 form.
"""

from __future__ import annotations

import time
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from chalicelib.core.records import build
from chalicelib.framework.fieldtypes import go_duration
from chalicelib.tokens.clock import rfc3339

DEFAULT_MAX_VERSIONS = 10
# A config delete_version_after below zero switches the feature off for every secret.
DVA_DISABLED = -1
_NS = 1_000_000_000


def now_ns() -> int:
    return time.time_ns()


def go_time(ns: int) -> str:
    """Go's RFC3339Nano (trailing zeros of the fraction dropped); "" for an unset time."""
    return rfc3339(ns) if ns else ""


@dataclass(slots=True)
class KvConfig:
    """The mount-wide settings at `config`."""

    max_versions: int = 0
    cas_required: bool = False
    metadata_cas_required: bool = False
    delete_version_after: int = 0  # seconds; 0 unset, DVA_DISABLED off

    def to_api(self) -> dict[str, Any]:
        return {
            "max_versions": self.max_versions,
            "cas_required": self.cas_required,
            "metadata_cas_required": self.metadata_cas_required,
            "delete_version_after": go_duration(self.delete_version_after),
        }

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_storage(cls, raw: dict[str, Any] | None) -> KvConfig:
        return build(cls, raw) if raw else cls()


@dataclass(slots=True)
class VersionInfo:
    created_ns: int
    deletion_ns: int = 0
    destroyed: bool = False
    # The slot holding an archived version's data; None for the current version, a
    # destroyed one, and versions older code archived at their own key (layout.py).
    slot: int | None = None

    def is_deleted(self, now: int) -> bool:
        """Soft-deleted, or past its delete_version_after time (a future deletion is not yet)."""
        return bool(self.deletion_ns) and self.deletion_ns <= now

    def is_readable(self, now: int) -> bool:
        return not self.destroyed and not self.is_deleted(now)

    def to_api(self) -> dict[str, Any]:
        return {
            "created_time": go_time(self.created_ns),
            "deletion_time": go_time(self.deletion_ns),
            "destroyed": self.destroyed,
        }


def deletion_after(created: int, config: KvConfig, record_dva: int) -> int:
    """When a version created at `created` becomes deleted (0: never).

    OpenBao: the smaller non-zero delete_version_after of mount and secret, unless the
    mount switched the feature off.
    """
    if config.delete_version_after == DVA_DISABLED:
        return 0
    candidates = [d for d in (config.delete_version_after, record_dva) if d > 0]
    return created + min(candidates) * _NS if candidates else 0


@dataclass(slots=True)
class SecretRecord:
    """What `meta/<path>` holds: the secret's metadata plus its current version's data."""

    current_version: int = 0
    oldest_version: int = 0
    created_ns: int = 0
    updated_ns: int = 0
    max_versions: int = 0
    cas_required: bool = False
    metadata_cas_required: bool = False
    delete_version_after: int = 0
    custom_metadata: dict[str, str] | None = None
    metadata_version: int = 0
    versions: dict[int, VersionInfo] = field(default_factory=dict)
    # The current version's data; None once it is destroyed (or if the client wrote null).
    data: Any = None
    # Unreadable versions (pruned or destroyed) whose legacy items are still to be deleted,
    # and free slots whose data is still to be wiped (destroyed, or pruned from a slot the
    # window no longer reaches): what did not fit in the change's own transaction (100
    # operations). The change that queued them drains the queues right after its commit;
    # after a crash, the next change does.
    purge: list[int] = field(default_factory=list)
    scrub: list[int] = field(default_factory=list)
    # The storage version of each slot item as last written (0: never): a slot is only
    # ever overwritten on the version the record names (see archive.py).
    slots: list[int] = field(default_factory=list)

    # -- versions -----------------------------------------------------------------------

    def keep(self, config: KvConfig) -> int:
        """Versions kept: max(secret's, mount's) max_versions, 10 when both are 0 (OpenBao)."""
        return max(self.max_versions, config.max_versions) or DEFAULT_MAX_VERSIONS

    def _held_slots(self) -> set[int]:
        return {info.slot for info in self.versions.values() if info.slot is not None}

    def free_slot(self) -> int:
        """The smallest slot no listed version holds (the next one if all are held)."""
        held = self._held_slots()
        return next(slot for slot in range(len(held) + 1) if slot not in held)

    def free_slots(self) -> list[int]:
        """The slots made so far that no listed version holds."""
        held = self._held_slots()
        return [slot for slot in range(len(self.slots)) if slot not in held]

    def slot_version(self, slot: int) -> int:
        return self.slots[slot] if slot < len(self.slots) else 0

    def set_slot_version(self, slot: int, version: int) -> None:
        self.slots.extend([0] * (slot + 1 - len(self.slots)))
        self.slots[slot] = version

    def add_version(self, data: Any, now: int, config: KvConfig) -> list[int]:
        """Make `data` the new current version (OpenBao's KeyMetadata.AddVersion).

        Returns the version numbers that fell out of the max_versions window. Their data
        needs no delete when it sits in a slot the next writes reuse; legacy items are
        queued in `purge`, slots beyond the window (max_versions was lowered) in `scrub`.
        """
        dva = deletion_after(now, config, self.delete_version_after)
        previous = self.current_version
        self.current_version += 1
        self.versions[self.current_version] = VersionInfo(now, dva)
        self.data = data
        self.updated_ns = now
        self.created_ns = self.created_ns or now
        keep = self.keep(config)
        if self.current_version - self.oldest_version < keep:
            return []
        last_dropped = self.current_version - keep
        dropped = [n for n in range(self.oldest_version, last_dropped + 1) if n in self.versions]
        for number in dropped:
            info = self.versions.pop(number)
            if info.slot is not None:
                # Beyond the window a slot is never the smallest free one again; with one
                # version kept nothing is archived again, so no write would reuse it.
                if info.slot >= keep or keep == 1:
                    self.scrub.append(info.slot)
            # The previous current version never got an item: its data lived in the record.
            elif number != previous and not info.destroyed:
                self.purge.append(number)
        self.oldest_version = last_dropped + 1
        return dropped

    def delete_versions(self, numbers: list[int], now: int) -> bool:
        """Soft-delete; versions already deleted, destroyed or unknown are skipped.

        Returns whether anything changed.
        """
        changed = False
        for number in numbers:
            info = self.versions.get(number)
            if info is not None and not info.destroyed and not info.is_deleted(now):
                info.deletion_ns = now
                changed = True
        return changed

    def undelete_versions(self, numbers: list[int], now: int, config: KvConfig) -> bool:
        """Restore versions; delete_version_after counts again from now (as OpenBao).

        Returns whether any version was touched.
        """
        touched = False
        for number in numbers:
            info = self.versions.get(number)
            if info is not None and not info.destroyed:
                info.deletion_ns = deletion_after(now, config, self.delete_version_after)
                touched = True
        return touched

    def version_view(self, number: int) -> dict[str, Any]:
        """A version's metadata as data writes and reads show it."""
        return {
            **self.versions[number].to_api(),
            "version": number,
            "custom_metadata": self.custom_metadata,
        }

    # -- metadata -----------------------------------------------------------------------

    def to_api(self) -> dict[str, Any]:
        """metadata/:path read (and detailed-metadata key_info)."""
        return {
            "versions": {str(n): v.to_api() for n, v in sorted(self.versions.items())},
            "current_version": self.current_version,
            "current_metadata_version": self.metadata_version,
            "oldest_version": self.oldest_version,
            "created_time": go_time(self.created_ns),
            "updated_time": go_time(self.updated_ns),
            "max_versions": self.max_versions,
            "cas_required": self.cas_required,
            "metadata_cas_required": self.metadata_cas_required,
            "delete_version_after": go_duration(self.delete_version_after),
            "custom_metadata": self.custom_metadata,
        }

    # -- storage ------------------------------------------------------------------------

    def to_storage(self) -> dict[str, Any]:
        # Not asdict(): it would deep-copy the secret's data on every write. Fields at
        # their defaults are left out (`build` restores them): every write pays for each
        # byte of the record, by the KB.
        raw = {
            name: value for name in self.__dataclass_fields__
            if (value := getattr(self, name)) != _RECORD_DEFAULTS[name]
        }
        raw["versions"] = {str(n): _stored(v) for n, v in self.versions.items()}
        return raw

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> SecretRecord:
        versions = {int(n): VersionInfo(*fields) for n, fields in raw["versions"].items()}
        return build(cls, raw, versions=versions)


_RECORD_DEFAULTS: dict[str, Any] = {
    name: spec.default_factory() if spec.default is MISSING else spec.default
    for name, spec in SecretRecord.__dataclass_fields__.items()
}


def _stored(info: VersionInfo) -> list[Any]:
    """A version's metadata as a positional list, trailing defaults left out (older
    records have three fields, and no slot)."""
    fields: list[Any] = [info.created_ns, info.deletion_ns, info.destroyed]
    if info.slot is not None:
        return [*fields, info.slot]
    while len(fields) > 1 and not fields[-1]:
        fields.pop()
    return fields

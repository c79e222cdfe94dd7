"""A named key: its configuration and versions, and the version rules Vault applies.

Stored as one small metadata item (``policy/<name>``) plus one item per version
(``version/<name>/<n>``, see store.py), so no number of versions of an rsa-4096 key can
outgrow DynamoDB's 400 KB item.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.engines.transit import material
from chalicelib.engines.transit.keytypes import (
    HMAC_MAX_KEY_BYTES,
    HMAC_MIN_KEY_BYTES,
    TYPES,
    KeyType,
)
from chalicelib.engines.transit.material import KeyVersion

CURRENT_CONVERGENT_VERSION = 3
# Flags copied verbatim between storage and the policy object.
_SETTINGS = (
    "derived", "convergent_encryption", "convergent_version", "exportable",
    "allow_plaintext_backup", "deletion_allowed", "min_decryption_version",
    "min_encryption_version", "min_available_version", "latest_version",
    "auto_rotate_period", "key_size", "imported", "allow_imported_key_rotation",
    "backup_info", "restore_info",
)  # fmt: skip


@dataclass(slots=True)
class KeyPolicy:
    name: str
    type: KeyType
    derived: bool = False
    convergent_encryption: bool = False
    convergent_version: int = 0
    exportable: bool = False
    allow_plaintext_backup: bool = False
    deletion_allowed: bool = False
    min_decryption_version: int = 0
    min_encryption_version: int = 0
    min_available_version: int = 0
    latest_version: int = 0
    auto_rotate_period: int = 0  # seconds
    key_size: int = 0
    imported: bool = False
    allow_imported_key_rotation: bool = False
    backup_info: dict[str, Any] | None = None
    restore_info: dict[str, Any] | None = None
    versions: dict[int, KeyVersion] = field(default_factory=dict)
    # The metadata item's storage version, for conditional writes (0: not stored yet).
    stored_as: int = 0

    # -- versions ------------------------------------------------------------------------

    def add_version(self, version: KeyVersion) -> int:
        if self.convergent_encryption and (
            self.convergent_version == -1 or self.convergent_version > 1
        ):
            version.convergent_version = CURRENT_CONVERGENT_VERSION
        self.latest_version += 1
        self.versions[self.latest_version] = version
        if self.min_decryption_version == 0:
            self.min_decryption_version = 1
        return self.latest_version

    def rotate(self) -> int:
        if self.imported and not self.allow_imported_key_rotation:
            raise BadRequest(f"imported key {self.name} does not allow rotation within OpenBao")
        self.imported = False
        return self.add_version(material.generate(self.type, self.key_size))

    def version(self, number: int) -> KeyVersion:
        found = self.versions.get(number)
        if found is None:
            raise BadRequest("no such key version")
        return found

    def encryption_version(self, requested: int, verb: str = "encryption") -> int:
        """The version an encrypt (or sign) uses: 0 means the latest."""
        if requested == 0:
            return self.latest_version
        if requested < 0:
            raise BadRequest(f"requested version for {verb} is negative")
        if requested > self.latest_version:
            raise BadRequest(f"requested version for {verb} is higher than the latest key version")
        if requested < self.min_encryption_version:
            raise BadRequest(
                f"requested version for {verb} is less than the minimum encryption key version"
            )
        return requested

    def decryptable(self, number: int, what: str = "ciphertext") -> KeyVersion:
        """The version a ciphertext or signature names, if policy still allows it."""
        if number == 0:
            number = 1  # Vault's first keys were numbered from zero
        if number > self.latest_version:
            raise BadRequest(f"invalid {what}: version is too new")
        if self.min_decryption_version > 0 and number < self.min_decryption_version:
            raise BadRequest("ciphertext or signature version is disallowed by policy (too old)")
        return self.version(number)

    def rotation_due(self, now: float | None = None) -> bool:
        if self.auto_rotate_period <= 0 or not self.versions:
            return False
        latest = self.versions.get(self.latest_version)
        if latest is None:
            return False
        created = datetime.fromisoformat(latest.time.replace("Z", "+00:00")).timestamp()
        return (now if now is not None else time.time()) - created >= self.auto_rotate_period

    def trim(self, min_available: int) -> list[int]:
        """Forget versions below ``min_available``; returns the numbers removed."""
        gone = [number for number in self.versions if number < min_available]
        for number in gone:
            del self.versions[number]
        self.min_available_version = min_available
        return gone

    # -- storage ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.name} | {
            name: getattr(self, name) for name in _SETTINGS
        }

    @classmethod
    def from_settings(
        cls, raw: dict[str, Any], versions: dict[int, KeyVersion], stored_as: int = 0
    ) -> KeyPolicy:
        known = {name: raw[name] for name in _SETTINGS if name in raw}
        return cls(
            name=raw["name"], type=TYPES[raw["type"]], versions=versions, stored_as=stored_as,
            **known,
        )


def check_auto_rotate_period(seconds: int) -> None:
    """Vault's floor for auto_rotate_period, on create, import and config alike."""
    if seconds != 0 and seconds < 3600:
        raise BadRequest("auto rotate period must be 0 to disable or at least an hour")


def new_policy(
    name: str, kind: KeyType, *, derived: bool = False, convergent: bool = False,
    exportable: bool = False, allow_plaintext_backup: bool = False, auto_rotate_period: int = 0,
    key_size: int = 0,
) -> KeyPolicy:
    """A key with no version yet, after the checks Vault's lock manager makes."""
    check_auto_rotate_period(auto_rotate_period)
    if convergent and not derived:
        raise BadRequest("convergent encryption requires derivation to be enabled")
    if kind.family in ("rsa", "ecdsa", "hmac") and (derived or convergent):
        raise BadRequest(
            f"key derivation and convergent encryption not supported for keys of type {kind.name}"
        )
    if kind.family == "ed25519" and convergent:
        raise BadRequest(f"convergent encryption not supported for keys of type {kind.name}")
    if key_size and kind.family != "hmac":
        raise BadRequest(f"key_size is not valid for algorithm {kind.name}")
    if key_size and not HMAC_MIN_KEY_BYTES <= key_size <= HMAC_MAX_KEY_BYTES:
        raise BadRequest(f"invalid key_size {key_size}")
    return KeyPolicy(
        name=name, type=kind, derived=derived, convergent_encryption=convergent,
        convergent_version=-1 if convergent else 0, exportable=exportable,
        allow_plaintext_backup=allow_plaintext_backup, auto_rotate_period=auto_rotate_period,
        key_size=key_size or (HMAC_MIN_KEY_BYTES if kind.family == "hmac" else 0),
    )

"""The mount's HMAC key, and the storage keys built from it.

Storage keys are plaintext in DynamoDB (only values pass through the barrier), so no role
ID, secret ID or accessor may appear in one: each is replaced by an HMAC-SHA256 under a
random key created once per mount and kept, sealed, in the mount's own view. One HMAC per
kind of value (the kind is part of the input), so equal strings of different kinds do not
share a key name. Role names are not secret and name their entries as they are; a role's
secret IDs live in a folder named by a random ID of the role's own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from chalicelib.core.errors import BadRequest
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView

HMAC_KEY = "hmac-key"
ROLE_PREFIX = "role/"
ROLE_ID_PREFIX = "role_id/"
SECRET_ID_PREFIX = "secret_id/"  # noqa: S105 - a storage folder
ACCESSOR_PREFIX = "accessor/"
# OpenBao's limit on a value it HMACs (role names and secret IDs).
MAX_HMAC_INPUT = 4096


def role_key(name: str) -> str:
    return ROLE_PREFIX + name.lower()


def storable(role_name: str) -> bool:
    """Whether a role of this name can exist: OpenBao refuses names it cannot HMAC."""
    return len(role_name.encode()) <= MAX_HMAC_INPUT


class MountKeys:
    """Storage keys of one approle mount, hashed under its HMAC key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()

    def role_id(self, role_id: str) -> str:
        return ROLE_ID_PREFIX + self._digest("role_id", role_id)

    def secret_id_hmac(self, secret_id: str) -> str:
        if len(secret_id.encode()) > MAX_HMAC_INPUT:
            raise BadRequest(
                "failed to create HMAC of secret_id: value is longer than maximum of "
                f"{MAX_HMAC_INPUT} bytes"
            )
        return self._digest("secret_id", secret_id)

    def accessor(self, accessor: str) -> str:
        return ACCESSOR_PREFIX + self._digest("accessor", accessor)


def mount_keys(view: StorageView) -> MountKeys:
    """The mount's keys; its HMAC key is created on first use (one writer wins a race)."""
    raw = view.get_json(HMAC_KEY)
    if raw is None:
        try:
            fresh = secrets.token_hex(32)
            view.put_json(HMAC_KEY, {"key": fresh}, expected_version=0)
            raw = {"key": fresh}
        except ConditionFailed:
            raw = view.get_json(HMAC_KEY)
    return MountKeys(bytes.fromhex(raw["key"]))

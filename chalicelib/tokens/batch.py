"""Batch tokens: the entry itself, encrypted, is the token; no storage is ever read for it.

``b.`` + urlsafe base64 (unpadded) of: format byte | 96-bit nonce | AES-256-GCM(entry JSON).
The key is the cluster's batch-token key, kept behind the barrier and loaded at unseal.
Only fields that differ from their defaults are carried, to keep the token short; the
lease times follow from creation time and TTL, as Vault derives them.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.core import jsonio
from chalicelib.tokens.entry import BATCH, TokenEntry, lease_times
from chalicelib.tokens.ids import BATCH_PREFIX, is_batch

_FORMAT = 1
_NONCE_BYTES = 12
_AAD = b"lambdavault/batch-token/v1"
# Implied by the token itself or derived on opening.
_OMITTED = frozenset({"accessor", "type", "issued_ns", "expires_ns", "lease_ttl"})
_DEFAULTS = TokenEntry._field_defaults


def _compact(entry: TokenEntry) -> dict[str, Any]:
    stored = entry.to_storage()
    return {
        name: value
        for name, value in stored.items()
        if name not in _OMITTED and value not in (_DEFAULTS.get(name), [], ())
    }


class BatchCodec:
    """Seals and opens batch tokens under one key (the cluster's, from the barrier)."""

    def __init__(self, key: bytes) -> None:
        self._cipher = AESGCM(key)

    def seal(self, entry: TokenEntry) -> str:
        body = jsonio.dumpb(_compact(entry))
        nonce = os.urandom(_NONCE_BYTES)
        blob = bytes([_FORMAT]) + nonce + self._cipher.encrypt(nonce, body, _AAD)
        return BATCH_PREFIX + base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, token: str) -> TokenEntry | None:
        """The entry, or None for anything that is not a genuine batch token of this cluster."""
        if not is_batch(token):
            return None
        text = token.partition(".")[2]
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(blob) <= 1 + _NONCE_BYTES or blob[0] != _FORMAT:
            return None
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            raw = jsonio.loads(self._cipher.decrypt(nonce, sealed, _AAD))
        except (InvalidTag, ValueError):
            return None
        entry = TokenEntry.from_storage({**raw, "accessor": "", "type": BATCH})
        return entry.evolve(
            **lease_times(entry.creation_time, entry.ttl), lease_ttl=entry.ttl
        )

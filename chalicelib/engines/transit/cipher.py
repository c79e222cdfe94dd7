"""Encrypt and decrypt one item with Vault's ciphertext layout.

``vault:v<N>:`` + base64 of: nonce (12 bytes) || AEAD ciphertext || tag for the AEAD
types — the nonce random, or for convergent keys (version 3) the first 12 bytes of
HMAC-SHA256(derived HMAC key, plaintext) — and RSA-OAEP(SHA-256) for RSA keys. These run
once per batch item, so the common case (non-derived AEAD) is kept to a few calls.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.core.errors import BadRequest
from chalicelib.engines.transit.derivation import derive
from chalicelib.engines.transit.encoding import DecodeError, b64decode, b64encode
from chalicelib.engines.transit.material import aead_for
from chalicelib.engines.transit.policy import CURRENT_CONVERGENT_VERSION, KeyPolicy

NONCE_BYTES = 12
PREFIX = "vault:v"
_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class NoncePool:
    """Random nonces drawn from one urandom call per batch rather than one per item."""

    def __init__(self, count: int) -> None:
        self._bytes = os.urandom(NONCE_BYTES * count)
        self._offset = 0

    def take_all(self) -> bytes:
        """The pool itself, for a loop that slices nonce ``i`` out of it (``take`` then
        draws fresh bytes)."""
        self._offset = len(self._bytes)
        return self._bytes

    def take(self) -> bytes:
        start = self._offset
        self._offset = start + NONCE_BYTES
        if self._offset > len(self._bytes):
            self._bytes, start, self._offset = os.urandom(NONCE_BYTES * 64), 0, NONCE_BYTES
        return self._bytes[start:self._offset]


def split_versioned(value: str, what: str) -> tuple[int, str]:
    """``vault:v3:body`` -> (3, "body"), with Vault's error for each malformed part."""
    if not value.startswith(PREFIX):
        raise BadRequest(f"invalid {what}: no prefix")
    version, sep, body = value[len(PREFIX):].partition(":")
    if not sep:
        raise BadRequest(f"invalid {what}: wrong number of fields")
    try:
        return int(version), body
    except ValueError:
        raise BadRequest(f"invalid {what}: version number could not be decoded") from None


def _convergent_version(policy: KeyPolicy, number: int) -> int:
    """The convergent scheme of a version (0: not convergent); only version 3 is served,
    as Vault refuses the older schemes."""
    if not policy.convergent_encryption:
        return 0
    own = policy.versions[number].convergent_version if number in policy.versions else 0
    convergent = own or (policy.convergent_version or 1)
    if 0 < convergent < CURRENT_CONVERGENT_VERSION:
        raise BadRequest(
            "refusing to support decryption with old convergent encryption key: "
            f"version {convergent}"
        )
    return convergent


def encrypt(
    policy: KeyPolicy, number: int, plaintext: bytes, context: bytes, aad: bytes | None,
    nonces: NoncePool,
) -> str:
    """One ciphertext under version ``number`` (already resolved by encryption_version)."""
    version = policy.versions[number]
    kind = policy.type
    if kind.family == "rsa":
        public = version.public()
        assert isinstance(public, rsa.RSAPublicKey)
        body = public.encrypt(plaintext, _OAEP)
    elif not policy.derived:
        body = (nonce := nonces.take()) + version.aead(kind).encrypt(nonce, plaintext, aad)
    else:
        convergent = _convergent_version(policy, number)
        extra = 32 if convergent else 0
        key = derive(version.key, context, kind.size + extra)
        if convergent:
            nonce = hmac.new(key[kind.size:], plaintext, hashlib.sha256).digest()[:NONCE_BYTES]
        else:
            nonce = nonces.take()
        body = nonce + aead_for(kind, key[:kind.size]).encrypt(nonce, plaintext, aad)
    return f"{PREFIX}{number}:{b64encode(body)}"


def decrypt(policy: KeyPolicy, value: str, context: bytes, aad: bytes | None) -> bytes:
    number, encoded = split_versioned(value, "ciphertext")
    version = policy.decryptable(number)
    number = number or 1
    _convergent_version(policy, number)
    try:
        body = b64decode(encoded)
    except DecodeError:
        raise BadRequest("invalid ciphertext: could not decode base64") from None
    kind = policy.type
    if kind.family == "rsa":
        if not version.has_private:
            raise BadRequest(
                "cannot decrypt ciphertext, key version does not have a private counterpart"
            )
        private = version.private_key()
        assert isinstance(private, rsa.RSAPrivateKey)
        try:
            return private.decrypt(body, _OAEP)
        except ValueError:
            raise BadRequest("failed to RSA decrypt the ciphertext: decryption error") from None
    if len(body) < NONCE_BYTES:
        raise BadRequest("invalid ciphertext length")
    if policy.derived:
        aead = aead_for(kind, derive(version.key, context, kind.size))
    else:
        aead = version.aead(kind)
    try:
        return aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], aad)
    except InvalidTag:
        label = "chacha20poly1305" if kind.name == "chacha20-poly1305" else "cipher"
        raise BadRequest(f"{label}: message authentication failed") from None

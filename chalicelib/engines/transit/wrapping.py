"""BYOK: the mount's RSA-4096 wrapping key, and Vault's key-wrapping format.

A wrapped key is base64 of RSA-OAEP(wrapping key, ephemeral AES-256 key) — 512 bytes —
followed by AES-KWP (RFC 5649) of the target key under that ephemeral key; the target
is raw bytes for symmetric and HMAC keys, PKCS#8 DER otherwise.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap_with_padding,
)

from chalicelib.core.errors import BadRequest
from chalicelib.engines.transit.encoding import DecodeError, b64decode
from chalicelib.engines.transit.keytypes import TYPES
from chalicelib.engines.transit.material import KeyVersion, generate
from chalicelib.engines.transit.store import CACHE, WRAPPING_KEY, KeyStore
from chalicelib.storage.physical import ConditionFailed

WRAPPED_EPHEMERAL_BYTES = 512  # RSA-4096
HASH_FUNCTIONS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1, "SHA224": hashes.SHA224, "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384, "SHA512": hashes.SHA512,
}


def hash_function(name: str) -> hashes.HashAlgorithm:
    found = HASH_FUNCTIONS.get(name.upper())
    if found is None:
        raise BadRequest(f"unknown hash function: {name}")
    return found()


def _oaep(algorithm: hashes.HashAlgorithm) -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


def wrapping_key(store: KeyStore) -> KeyVersion:
    """The mount's wrapping key, created on first use (a lost creation race rereads)."""
    cached = CACHE.wrapping.get(store.mount_uuid)
    if cached is not None:
        return cached
    raw = store.get_json(WRAPPING_KEY)
    if raw is None:
        fresh = generate(TYPES["rsa-4096"])
        try:
            raw = fresh.to_storage()
            store.view.put_json(WRAPPING_KEY, raw, expected_version=0)
        except ConditionFailed:
            raw = store.get_json(WRAPPING_KEY)
    found = KeyVersion.from_storage(raw)
    CACHE.wrapping[store.mount_uuid] = found
    return found


def unwrap(store: KeyStore, ciphertext: str, algorithm: hashes.HashAlgorithm) -> bytes:
    try:
        blob = b64decode(ciphertext)
    except DecodeError as error:
        raise BadRequest(str(error)) from None
    if len(blob) <= WRAPPED_EPHEMERAL_BYTES:
        raise BadRequest("provided ciphertext is too short")
    private = wrapping_key(store).private_key()
    assert isinstance(private, rsa.RSAPrivateKey)
    try:
        ephemeral = private.decrypt(blob[:WRAPPED_EPHEMERAL_BYTES], _oaep(algorithm))
    except ValueError:
        raise BadRequest("crypto/rsa: decryption error") from None
    if len(ephemeral) != 32:
        raise BadRequest("expected ephemeral AES key to be 256-bit")
    try:
        return aes_key_unwrap_with_padding(ephemeral, blob[WRAPPED_EPHEMERAL_BYTES:])
    except InvalidUnwrap:
        raise BadRequest("kwp: failed to unwrap the key") from None


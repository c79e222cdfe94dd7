"""Per-context keys for derived policies: HKDF-SHA256 over the version's key, as Vault."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chalicelib.core.errors import BadRequest

MISSING_CONTEXT = (
    "missing 'context' for key derivation; the key was created using a derived key, which "
    "means additional, per-request information must be included in order to perform "
    "operations with the key"
)


def derive(key: bytes, context: bytes, length: int) -> bytes:
    """Vault's Kdf_hkdf_sha256: no salt, the context as HKDF info."""
    if not context:
        raise BadRequest(MISSING_CONTEXT)
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=context).derive(key)


def derived_ed25519(key: bytes, context: bytes) -> ed25519.Ed25519PrivateKey:
    """Go's ed25519.GenerateKey reading its 32-byte seed from the HKDF stream."""
    return ed25519.Ed25519PrivateKey.from_private_bytes(derive(key, context, 32))

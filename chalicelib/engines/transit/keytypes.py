"""The key types transit offers and what each one can do (Vault's KeyType methods)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.errors import BadRequest


@dataclass(frozen=True, slots=True)
class KeyType:
    name: str
    family: str  # "aead", "rsa", "ecdsa", "ed25519" or "hmac"
    size: int = 0  # key bytes (aead), modulus bits (rsa) or curve bits (ecdsa)

    @property
    def symmetric(self) -> bool:
        return self.family == "aead"

    @property
    def encryption(self) -> bool:
        return self.family in ("aead", "rsa")

    @property
    def signing(self) -> bool:
        return self.family in ("rsa", "ecdsa", "ed25519")

    @property
    def derivation(self) -> bool:
        return self.family in ("aead", "ed25519")

    @property
    def asymmetric(self) -> bool:
        return self.family in ("rsa", "ecdsa", "ed25519")

    @property
    def hashes_input(self) -> bool:
        """Signing hashes the input first (ed25519 hashes internally)."""
        return self.family in ("rsa", "ecdsa")


TYPES: dict[str, KeyType] = {
    kind.name: kind
    for kind in (
        KeyType("aes128-gcm96", "aead", 16),
        KeyType("aes256-gcm96", "aead", 32),
        KeyType("chacha20-poly1305", "aead", 32),
        KeyType("ed25519", "ed25519"),
        KeyType("ecdsa-p256", "ecdsa", 256),
        KeyType("ecdsa-p384", "ecdsa", 384),
        KeyType("ecdsa-p521", "ecdsa", 521),
        KeyType("rsa-2048", "rsa", 2048),
        KeyType("rsa-3072", "rsa", 3072),
        KeyType("rsa-4096", "rsa", 4096),
        KeyType("hmac", "hmac"),
    )
}

HMAC_MIN_KEY_BYTES = 32
HMAC_MAX_KEY_BYTES = 512


def key_type(name: str, *, unknown: str = "unknown key type {}") -> KeyType:
    kind = TYPES.get(name.lower())
    if kind is None:
        raise BadRequest(unknown.format(name))
    return kind

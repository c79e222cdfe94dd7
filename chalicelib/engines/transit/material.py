"""One key version's material: generated, imported, stored as JSON, opened lazily.

Field meanings follow Vault's KeyEntry: ``key`` is the raw symmetric key (or, for
ed25519, the 64-byte seed||public key Go uses), ``hmac_key`` the per-version HMAC key,
``private`` a PKCS#8 DER private key for RSA and ECDSA, ``public_key`` the formatted
public key (PEM, or base64 for ed25519). A version imported with only its public key
has no private part.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from chalicelib.core.errors import BadRequest
from chalicelib.engines.transit.encoding import b64decode, b64encode
from chalicelib.engines.transit.keytypes import HMAC_MAX_KEY_BYTES, HMAC_MIN_KEY_BYTES, KeyType

CURVES: dict[int, type[ec.EllipticCurve]] = {
    256: ec.SECP256R1, 384: ec.SECP384R1, 521: ec.SECP521R1,
}
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _pem_public(public: PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _pkcs8(private: PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip


@dataclass(slots=True)
class KeyVersion:
    key: bytes = b""
    hmac_key: bytes = b""
    private: bytes = b""
    public_key: str = ""
    time: str = field(default_factory=now_rfc3339)
    convergent_version: int = 0
    # Opened crypto objects, built on first use and kept with the cached policy.
    _opened: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_private(self) -> bool:
        return bool(self.key or self.private)

    @property
    def unix_time(self) -> int:
        return int(datetime.fromisoformat(self.time.replace("Z", "+00:00")).timestamp())

    # -- crypto objects ------------------------------------------------------------------

    def aead(self, kind: KeyType) -> AESGCM | ChaCha20Poly1305:
        cipher = self._opened.get("aead")
        if cipher is None:
            cipher = self._opened["aead"] = aead_for(kind, self.key)
        return cipher

    def private_key(self) -> PrivateKey:
        opened = self._opened.get("private")
        if opened is None:
            if self.private:
                opened = serialization.load_der_private_key(self.private, None)
            else:
                opened = ed25519.Ed25519PrivateKey.from_private_bytes(self.key[:32])
            self._opened["private"] = opened
        return opened  # type: ignore[no-any-return]

    def public(self) -> PublicKey:
        opened = self._opened.get("public")
        if opened is None:
            if self.has_private:
                opened = self.private_key().public_key()
            elif self.public_key.startswith("-----"):
                opened = serialization.load_pem_public_key(self.public_key.encode())
            else:
                opened = ed25519.Ed25519PublicKey.from_public_bytes(b64decode(self.public_key))
            self._opened["public"] = opened
        return opened  # type: ignore[no-any-return]

    # -- storage ---------------------------------------------------------------------------

    def to_storage(self) -> dict[str, Any]:
        return {
            "key": b64encode(self.key), "hmac_key": b64encode(self.hmac_key),
            "private": b64encode(self.private), "public_key": self.public_key,
            "time": self.time, "convergent_version": self.convergent_version,
        }  # fmt: skip

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> KeyVersion:
        return cls(
            key=b64decode(raw["key"]), hmac_key=b64decode(raw["hmac_key"]),
            private=b64decode(raw["private"]), public_key=raw["public_key"],
            time=raw["time"], convergent_version=raw.get("convergent_version", 0),
        )  # fmt: skip


def aead_for(kind: KeyType, key: bytes) -> AESGCM | ChaCha20Poly1305:
    return ChaCha20Poly1305(key) if kind.name == "chacha20-poly1305" else AESGCM(key)


def generate(kind: KeyType, key_size: int = 0) -> KeyVersion:
    """A fresh random version (Vault's RotateInMemory)."""
    version = KeyVersion(hmac_key=os.urandom(32))
    if kind.family == "aead":
        version.key = os.urandom(kind.size)
    elif kind.family == "hmac":
        version.key = version.hmac_key = os.urandom(key_size or HMAC_MIN_KEY_BYTES)
    elif kind.family == "ed25519":
        _set_private(version, kind, ed25519.Ed25519PrivateKey.generate())
    elif kind.family == "ecdsa":
        _set_private(version, kind, ec.generate_private_key(CURVES[kind.size]()))
    else:
        _set_private(version, kind, rsa.generate_private_key(65537, kind.size))
    return version


def _set_private(version: KeyVersion, kind: KeyType, private: PrivateKey) -> None:
    if isinstance(private, ed25519.Ed25519PrivateKey):
        seed = private.private_bytes_raw()
        public = private.public_key().public_bytes_raw()
        version.key = seed + public
        version.public_key = b64encode(public)
    else:
        version.private = _pkcs8(private)
        version.public_key = _pem_public(private.public_key())
    version._opened["private"] = private


def check_matches(kind: KeyType, key: PrivateKey | PublicKey) -> None:
    """Vault's parseFromKey checks: the right algorithm, curve and modulus size."""
    expected: dict[str, tuple[type, ...]] = {
        "rsa": (rsa.RSAPrivateKey, rsa.RSAPublicKey),
        "ecdsa": (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey),
        "ed25519": (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey),
    }
    if not isinstance(key, expected[kind.family]):
        raise BadRequest(f"invalid key type: expected {kind.name}")
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey) and key.key_size != kind.size:
        raise BadRequest(
            f"invalid key size: expected {kind.size // 8} bytes, got {key.key_size // 8} bytes"
        )
    ec_types = (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)
    if isinstance(key, ec_types) and key.curve.key_size != kind.size:
        raise BadRequest(f"invalid curve: expected P-{kind.size}, got {key.curve.name}")


def imported(kind: KeyType, material: bytes) -> KeyVersion:
    """A version from imported private material: raw bytes (symmetric, hmac) or PKCS#8."""
    version = KeyVersion(hmac_key=os.urandom(32))
    if kind.family in ("aead", "hmac"):
        low, high = (
            (HMAC_MIN_KEY_BYTES, HMAC_MAX_KEY_BYTES) if kind.family == "hmac"
            else (kind.size, kind.size)
        )  # fmt: skip
        if not low <= len(material) <= high:
            raise BadRequest(f"invalid key size {len(material)} bytes for key type {kind.name}")
        version.key = material
        if kind.family == "hmac":
            version.hmac_key = material
        return version
    try:
        private = serialization.load_der_private_key(material, None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BadRequest("error parsing asymmetric key: not a PKCS#8 private key") from None
    check_matches(kind, private)  # type: ignore[arg-type]
    _set_private(version, kind, private)  # type: ignore[arg-type]
    return version


def imported_public(kind: KeyType, pem: str) -> KeyVersion:
    """A version holding only a public key (it verifies and encrypts, never signs)."""
    try:
        public = serialization.load_pem_public_key(pem.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise BadRequest("error parsing public key: not in PEM format") from None
    check_matches(kind, public)  # type: ignore[arg-type]
    if isinstance(public, ed25519.Ed25519PublicKey):
        return KeyVersion(hmac_key=os.urandom(32), public_key=b64encode(public.public_bytes_raw()))
    return KeyVersion(hmac_key=os.urandom(32), public_key=_pem_public(public))  # type: ignore[arg-type]


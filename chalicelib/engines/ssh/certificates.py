"""Building and signing OpenSSH certificates (OpenBao's creationBundle.sign) with
cryptography's SSHCertificateBuilder, and the key-size rules of a role.

cryptography signs with an RSA CA key as rsa-sha2-512. OpenBao signs with rsa-sha2-256
unless the role's algorithm_signer says otherwise, so an RSA certificate whose wanted
algorithm differs is signed again (``_resign_rsa``).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from chalicelib.engines.ssh.ca import PrivateKey, PublicKey

USER_CERT = "user"
HOST_CERT = "host"
DEFAULT_SIGNER = "default"
# What cryptography's builder uses for an RSA CA key, and the hash of each RSA algorithm.
BUILDER_RSA_ALGORITHM = "rsa-sha2-512"
_RSA_HASHES: dict[str, hashes.HashAlgorithm] = {
    # SHA-1 only when a role asks for ssh-rsa, for old servers (OpenBao allows it too).
    "ssh-rsa": hashes.SHA1(),  # noqa: S303
    "rsa-sha2-256": hashes.SHA256(),
    "rsa-sha2-512": hashes.SHA512(),
}
_EC_NAMES = {256: "ecdsa-sha2-nistp256", 384: "ecdsa-sha2-nistp384",
             521: "ecdsa-sha2-nistp521"}


class SigningError(Exception):
    """The CA cannot sign as asked (OpenBao's "failed to generate signed SSH key")."""


@dataclass(slots=True)
class CertificateRequest:
    """What goes into one certificate (OpenBao's creationBundle)."""

    public_key: PublicKey
    key_id: str
    principals: list[str]
    cert_type: str
    ttl: int
    not_before: int
    algorithm_signer: str
    critical_options: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _resign_rsa(blob: bytes, ca_key: rsa.RSAPrivateKey, algorithm: str) -> bytes:
    """The certificate ``blob`` with its signature made again with ``algorithm``.

    The signature is the blob's last SSH string and what it signs is everything before
    it. The builder's signature blob is string("rsa-sha2-512") + string(signature of the
    key's byte length), so its size is known; the new one is built the same way.
    """
    old = _ssh_string(BUILDER_RSA_ALGORITHM.encode()) + _ssh_string(
        bytes((ca_key.key_size + 7) // 8)
    )
    body_end = len(blob) - 4 - len(old)
    if int.from_bytes(blob[body_end:body_end + 4], "big") != len(old):
        raise SigningError("unexpected certificate layout")
    body = blob[:body_end]
    signature = ca_key.sign(body, padding.PKCS1v15(), _RSA_HASHES[algorithm])
    return body + _ssh_string(_ssh_string(algorithm.encode()) + _ssh_string(signature))


def signature_algorithm(ca_key: PrivateKey, algorithm_signer: str) -> str:
    """The algorithm OpenBao signs with: rsa-sha2-256 for an RSA CA by default, the
    key's own for others; an RSA algorithm asked of another key is refused."""
    if isinstance(ca_key, rsa.RSAPrivateKey):
        return "rsa-sha2-256" if algorithm_signer == DEFAULT_SIGNER else algorithm_signer
    own = (_EC_NAMES[ca_key.curve.key_size] if isinstance(ca_key, ec.EllipticCurvePrivateKey)
           else "ssh-ed25519")
    if algorithm_signer != DEFAULT_SIGNER:
        raise SigningError(f'ssh: unsupported signature algorithm "{algorithm_signer}" '
                           f'for key format "{own}"')
    return own


def sign(request: CertificateRequest, ca_key: PrivateKey) -> tuple[str, int]:
    """(authorized-keys line of the certificate, its serial): valid from ``not_before``
    seconds ago for ``ttl`` seconds, with a random 64-bit serial."""
    algorithm = signature_algorithm(ca_key, request.algorithm_signer)
    serial = secrets.randbits(64)
    now = int(time.time())
    cert_type = (serialization.SSHCertificateType.USER if request.cert_type == USER_CERT
                 else serialization.SSHCertificateType.HOST)
    builder = (
        serialization.SSHCertificateBuilder()
        .public_key(request.public_key)
        .serial(serial)
        .type(cert_type)
        .key_id(request.key_id.encode())
        .valid_after(max(now - request.not_before, 0))
        .valid_before(now + request.ttl)
    )
    builder = (builder.valid_principals([p.encode() for p in request.principals])
               if request.principals else builder.valid_for_all_principals())
    for name, value in sorted(request.critical_options.items()):
        builder = builder.add_critical_option(name.encode(), value.encode())
    for name, value in sorted(request.extensions.items()):
        builder = builder.add_extension(name.encode(), value.encode())
    line = builder.sign(ca_key).public_bytes()
    if isinstance(ca_key, rsa.RSAPrivateKey) and algorithm != BUILDER_RSA_ALGORITHM:
        kind, encoded = line.split(b" ")[:2]
        blob = _resign_rsa(base64.b64decode(encoded), ca_key, algorithm)
        line = kind + b" " + base64.b64encode(blob)
    return line.decode().strip() + "\n", serial


def key_size(key: PublicKey) -> tuple[str, int]:
    """OpenBao's name and size of a user key: ("rsa", bits), ("ecdsa", curve bits) or
    ("ed25519", 0)."""
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa", key.curve.key_size
    assert isinstance(key, ed25519.Ed25519PublicKey)
    return "ed25519", 0


def key_aliases(key_type: str, bits: int) -> list[str]:
    """OpenBao's createKeyTypeToMapKey: the names a role may list a key type under."""
    aliases = {
        "rsa": ["rsa", "ssh-rsa"],
        "dsa": ["dsa", "ssh-dss"],
        "ecdsa": ["ecdsa", "ec"],
        "ed25519": ["ed25519", "ssh-ed25519"],
    }.get(key_type, [])
    if key_type == "ecdsa" and bits in _EC_NAMES:
        aliases.append(_EC_NAMES[bits])
    return aliases


def check_key_lengths(key: PublicKey, allowed: dict[str, list[int] | None]) -> None:
    """OpenBao's validateSignedKeyRequirements; ValueError with its text."""
    if not allowed:
        return
    key_type, bits = key_size(key)
    present = passed = False
    for alias in key_aliases(key_type, bits):
        if alias not in allowed:
            continue
        present = True
        for value in allowed[alias] or []:
            if key_type == "ed25519" or bits == value:
                passed = True
    if not present:
        raise ValueError(f"key of type {key_type} is not allowed")
    if not passed:
        raise ValueError(f"key is of an invalid size: {bits}")

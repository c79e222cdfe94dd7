"""Key types, sizes and signature algorithms, with OpenBao's defaults and refusal texts
(sdk/helper/certutil: ValidateDefaultOrValueKeyTypeSignatureLength and friends).

rsa: 2048 (default), 3072, 4096, 8192; ec: P-224, P-256 (default), P-384, P-521; ed25519.
"""

from __future__ import annotations

from typing import NamedTuple

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from chalicelib.core.errors import BadRequest

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

RSA_SIZES = (2048, 3072, 4096, 8192)
EC_CURVES: dict[int, ec.EllipticCurve] = {
    224: ec.SECP224R1(), 256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1(),
}
# The hash a P-curve signs with when signature_bits is not given.
_EC_HASH_BITS = {224: 256, 256: 256, 384: 384, 521: 512}
_DEFAULT_BITS = {"rsa": 2048, "ec": 256}
_HASHES: dict[int, type[hashes.HashAlgorithm]] = {
    256: hashes.SHA256, 384: hashes.SHA384, 512: hashes.SHA512,
}


class KeySpec(NamedTuple):
    """A validated key type, its size (0 for ed25519) and signature hash bits (0: none)."""

    key_type: str
    key_bits: int
    signature_bits: int


def validate_key_spec(key_type: str, key_bits: int, signature_bits: int) -> KeySpec:
    """OpenBao's ValidateDefaultOrValueKeyTypeSignatureLength: defaults filled, then checked."""
    if key_bits == 0:
        key_bits = _DEFAULT_BITS.get(key_type, 0)
    if key_type == "rsa":
        if key_bits < 2048:
            raise BadRequest(f"RSA keys < 2048 bits are unsafe and not supported: got {key_bits}")
        if key_bits not in RSA_SIZES:
            raise BadRequest(f"unsupported bit length for RSA key: {key_bits}")
        signature_bits = signature_bits or 256
        if signature_bits not in _HASHES:
            raise BadRequest(f"unsupported hash signature algorithm: {signature_bits}")
    elif key_type == "ec":
        if key_bits not in EC_CURVES:
            raise BadRequest(f"unsupported bit length for EC key: {key_bits}")
    elif key_type in ("ed25519", "any"):
        signature_bits = 0 if key_type == "any" else signature_bits
    else:
        raise BadRequest(f"unknown key type {key_type}")
    return KeySpec(key_type, key_bits, signature_bits)


def generate(spec: KeySpec) -> PrivateKey:
    if spec.key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=spec.key_bits)
    if spec.key_type == "ec":
        return ec.generate_private_key(EC_CURVES[spec.key_bits])
    return ed25519.Ed25519PrivateKey.generate()


def key_type_of(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ec"
    return "ed25519"


def key_bits_of(key: PrivateKey | PublicKey) -> int:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePrivateKey |
                  ec.EllipticCurvePublicKey):
        return key.key_size
    return 0


class Signer(NamedTuple):
    """How an issuer's key signs: the hash (None for ed25519) and RSA padding (PSS or not)."""

    algorithm: hashes.HashAlgorithm | None
    rsa_padding: padding.AsymmetricPadding | None


def signer_for(key: PrivateKey, signature_bits: int = 0, use_pss: bool = False) -> Signer:
    """The signature an issuing key makes: SHA-256 for RSA unless told; for EC the curve's
    natural hash unless told (OpenBao's selectSignatureAlgorithmForECDSA); none for ed25519."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Signer(None, None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        bits = signature_bits if signature_bits in _HASHES else _EC_HASH_BITS[key.key_size]
        return Signer(_HASHES[bits](), None)
    algorithm = _HASHES[signature_bits if signature_bits in _HASHES else 256]()
    if use_pss:
        return Signer(algorithm, padding.PSS(padding.MGF1(algorithm), algorithm.digest_size))
    return Signer(algorithm, padding.PKCS1v15())


def private_key_pem(key: PrivateKey, *, pkcs8: bool = False) -> str:
    """OpenBao's encodings: PKCS#1 for RSA, SEC 1 for EC, PKCS#8 for ed25519 (or for all
    when private_key_format=pkcs8)."""
    return private_key_der_or_pem(key, serialization.Encoding.PEM, pkcs8=pkcs8).decode().strip()


def private_key_der_or_pem(
    key: PrivateKey, encoding: serialization.Encoding, *, pkcs8: bool = False
) -> bytes:
    if pkcs8 or isinstance(key, ed25519.Ed25519PrivateKey):
        fmt = serialization.PrivateFormat.PKCS8
    else:
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(encoding, fmt, serialization.NoEncryption())


def load_private_key(pem: str) -> PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey |
                      ed25519.Ed25519PrivateKey):
        raise BadRequest("unsupported private key type")
    return key

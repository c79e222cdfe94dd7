"""Sign and verify with asymmetric keys, producing Vault's ``vault:v<N>:`` signatures.

RSA and ECDSA sign the digest of the input under ``hash_algorithm`` (or the input itself
when ``prehashed``); ed25519 signs the input. ECDSA signatures are ASN.1 DER, or for
``jws`` the fixed-width r||s in unpadded base64url; RSA uses PSS (salt as large as
possible, unless ``salt_length`` says otherwise) or PKCS#1 v1.5.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from chalicelib.core.errors import BadRequest
from chalicelib.engines.transit.cipher import PREFIX, split_versioned
from chalicelib.engines.transit.derivation import derived_ed25519
from chalicelib.engines.transit.encoding import (
    DecodeError,
    b64decode,
    b64decode_url,
    b64encode,
    b64encode_url,
)
from chalicelib.engines.transit.material import KeyVersion
from chalicelib.engines.transit.policy import KeyPolicy

# Vault's hash names -> (hashlib name, cryptography algorithm); "none" signs the input as is.
HASHES: dict[str, tuple[str, hashes.HashAlgorithm] | None] = {
    "none": None,
    "sha1": ("sha1", hashes.SHA1()),  # noqa: S303 - offered for compatibility, as Vault
    "sha2-224": ("sha224", hashes.SHA224()),
    "sha2-256": ("sha256", hashes.SHA256()),
    "sha2-384": ("sha384", hashes.SHA384()),
    "sha2-512": ("sha512", hashes.SHA512()),
    "sha3-224": ("sha3_224", hashes.SHA3_224()),
    "sha3-256": ("sha3_256", hashes.SHA3_256()),
    "sha3-384": ("sha3_384", hashes.SHA3_384()),
    "sha3-512": ("sha3_512", hashes.SHA3_512()),
}
# What a prehashed ECDSA digest of each length is declared as (only its length matters).
_BY_LENGTH: dict[int, hashes.HashAlgorithm] = {
    20: hashes.SHA1(), 28: hashes.SHA224(), 32: hashes.SHA256(), 48: hashes.SHA384(),  # noqa: S303
    64: hashes.SHA512(),
}


@dataclass(frozen=True, slots=True)
class SignOptions:
    hash_algorithm: str = "sha2-256"
    signature_algorithm: str = "pss"
    marshaling: str = "asn1"
    salt_length: str = "auto"
    prehashed: bool = False


def check_options(policy: KeyPolicy, options: SignOptions) -> None:
    """The request-level checks Vault makes before looking at any item."""
    if options.hash_algorithm not in HASHES:
        raise BadRequest(f'invalid hash algorithm "{options.hash_algorithm}"')
    if options.marshaling not in ("asn1", "jws"):
        raise BadRequest(f'invalid marshaling type "{options.marshaling}"')
    if options.hash_algorithm == "none" and (
        not options.prehashed or options.signature_algorithm != "pkcs1v15"
    ):
        raise BadRequest(
            "hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15"
        )
    if policy.type.family == "rsa" and options.hash_algorithm == "none":
        raise BadRequest("hash_algorithm=none is not supported by this server")
    if options.signature_algorithm not in ("pss", "pkcs1v15", ""):
        raise BadRequest(f"unsupported rsa signature algorithm {options.signature_algorithm}")
    _salt(options, 2048, hashes.SHA256())  # validates the text once


def _digest(policy: KeyPolicy, data: bytes, options: SignOptions) -> bytes:
    spec = HASHES[options.hash_algorithm]
    if policy.type.hashes_input and not options.prehashed and spec is not None:
        return hashlib.new(spec[0], data).digest()
    return data


def _salt(options: SignOptions, bits: int, algorithm: hashes.HashAlgorithm) -> int | object:
    text = options.salt_length.lower()
    if text == "auto":
        return padding.PSS.MAX_LENGTH
    if text == "hash":
        return padding.PSS.DIGEST_LENGTH
    try:
        length = int(text)
    except ValueError:
        raise BadRequest(
            f"salt length neither 'auto', 'hash', nor an int: {options.salt_length}"
        ) from None
    if length < -1:
        raise BadRequest(f"salt length is invalid: {length}")
    if length > (bits - 1 + 7) // 8 - 2 - algorithm.digest_size:
        raise BadRequest(f"requested salt length {length} is invalid")
    return length


def _rsa_padding(options: SignOptions, bits: int, algorithm: hashes.HashAlgorithm,
                 *, verifying: bool) -> padding.AsymmetricPadding:
    if options.signature_algorithm == "pkcs1v15":
        return padding.PKCS1v15()
    salt = _salt(options, bits, algorithm)
    if verifying and salt is padding.PSS.MAX_LENGTH:
        salt = padding.PSS.AUTO
    return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=salt)  # type: ignore[arg-type]


def _ec_algorithm(digest: bytes) -> ec.ECDSA:
    algorithm = _BY_LENGTH.get(len(digest))
    if algorithm is None:
        raise BadRequest(f"prehashed input of {len(digest)} bytes has no matching hash length")
    return ec.ECDSA(Prehashed(algorithm))


def _jws_width(policy: KeyPolicy) -> int:
    return (policy.type.size + 7) // 8


def sign(
    policy: KeyPolicy, number: int, data: bytes, context: bytes, options: SignOptions
) -> tuple[str, bytes | None]:
    """(signature, derived public key or None) for version ``number``."""
    version = policy.versions[number]
    if not version.has_private:
        raise BadRequest("requested version for signing does not contain a private part")
    digest = _digest(policy, data, options)
    public: bytes | None = None
    family = policy.type.family
    if family == "ed25519":
        key = derived_ed25519(version.key, context) if policy.derived else version.private_key()
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        raw = key.sign(digest)
        if policy.derived:
            public = key.public_key().public_bytes_raw()
    elif family == "ecdsa":
        private = version.private_key()
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        raw = private.sign(digest, _ec_algorithm(digest))
        if options.marshaling == "jws":
            r, s = decode_dss_signature(raw)
            width = _jws_width(policy)
            raw = r.to_bytes(width, "big") + s.to_bytes(width, "big")
    else:
        private = version.private_key()
        assert isinstance(private, rsa.RSAPrivateKey)
        algorithm = HASHES[options.hash_algorithm][1]  # type: ignore[index]
        pad = _rsa_padding(options, private.key_size, algorithm, verifying=False)
        raw = _rsa_call(lambda: private.sign(digest, pad, Prehashed(algorithm)))
    encoded = b64encode_url(raw) if options.marshaling == "jws" else b64encode(raw)
    return f"{PREFIX}{number}:{encoded}", public


def _rsa_call(operation: Callable[[], bytes]) -> bytes:
    try:
        return operation()
    except (ValueError, UnsupportedAlgorithm) as error:
        raise BadRequest(f"rsa signing failed: {error}") from None


def _signature_bytes(encoded: str, marshaling: str) -> bytes:
    try:
        return b64decode_url(encoded) if marshaling == "jws" else b64decode(encoded)
    except DecodeError:
        raise BadRequest("invalid base64 signature value") from None


def verify(
    policy: KeyPolicy, signature: str, data: bytes, context: bytes, options: SignOptions
) -> bool:
    number, encoded = split_versioned(signature, "signature")
    version = policy.decryptable(number, "signature")
    raw = _signature_bytes(encoded, options.marshaling)
    digest = _digest(policy, data, options)
    try:
        _verify(policy, version, raw, digest, context, options)
    except InvalidSignature:
        return False
    return True


def _verify(
    policy: KeyPolicy, version: KeyVersion, raw: bytes, digest: bytes, context: bytes,
    options: SignOptions,
) -> None:
    family = policy.type.family
    if family == "ed25519":
        if policy.derived:
            public = derived_ed25519(version.key, context).public_key()
        else:
            public = version.public()  # type: ignore[assignment]
        assert isinstance(public, ed25519.Ed25519PublicKey)
        public.verify(raw, digest)
    elif family == "ecdsa":
        ec_public = version.public()
        assert isinstance(ec_public, ec.EllipticCurvePublicKey)
        if options.marshaling == "jws":
            half = len(raw) // 2
            raw = encode_dss_signature(
                int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
            )
        else:
            _check_der(raw)
        ec_public.verify(raw, digest, _ec_algorithm(digest))
    else:
        rsa_public = version.public()
        assert isinstance(rsa_public, rsa.RSAPublicKey)
        algorithm = HASHES[options.hash_algorithm][1]  # type: ignore[index]
        pad = _rsa_padding(options, rsa_public.key_size, algorithm, verifying=True)
        try:
            rsa_public.verify(raw, digest, pad, Prehashed(algorithm))
        except ValueError:
            raise InvalidSignature from None


def _check_der(raw: bytes) -> None:
    try:
        decode_dss_signature(raw)
    except ValueError:
        raise BadRequest("supplied signature is invalid") from None

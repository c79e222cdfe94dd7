"""The byte-level pieces: Go-compatible base64, Vault's ciphertext layout, key material."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from chalicelib.core.errors import BadRequest
from chalicelib.engines.transit.cipher import NoncePool, decrypt, encrypt
from chalicelib.engines.transit.encoding import (
    DecodeError,
    b64decode,
    b64decode_url,
    b64encode_url,
)
from chalicelib.engines.transit.keytypes import TYPES
from chalicelib.engines.transit.material import KeyVersion
from chalicelib.engines.transit.policy import KeyPolicy, new_policy
from chalicelib.engines.transit.signing import SignOptions, check_options, sign, verify
from tests.api.test_transit import wrap


@pytest.mark.parametrize(("text", "error"), [
    ("QUJD!!!!", "illegal base64 data at input byte 4"),
    ("QUJ", "illegal base64 data at input byte 0"),
    ("QQ==QUJD", "illegal base64 data at input byte 4"),  # as OpenBao answers
    ("QQ=", "illegal base64 data at input byte 3"),
    ("QQ==\nQ", "illegal base64 data at input byte 5"),
    ("é===", "illegal base64 data at input byte 0"),
])
def test_base64_is_strict_like_go(text: str, error: str) -> None:
    with pytest.raises(DecodeError, match=error):
        b64decode(text)


@pytest.mark.parametrize(
    "text", ["", "QQ==", "QUI=", "QUJD", "QU\r\nJD\n", base64.b64encode(b"x" * 999).decode()]
)
def test_base64_accepts_what_go_accepts(text: str) -> None:
    assert b64decode(text) == base64.b64decode(text)


@pytest.mark.parametrize("text", ["ab+/", "ab==", "ab!c", "a"])
def test_url_base64_refuses_what_go_raw_url_refuses(text: str) -> None:
    with pytest.raises(DecodeError):
        b64decode_url(text)


def test_url_base64_round_trips_without_padding() -> None:
    raw = b"\xfb\xff\x00"
    assert b64encode_url(raw[:2]) == "-_8"
    assert b64decode_url(b64encode_url(raw)) == raw


def _policy(kind: str = "aes256-gcm96", **options: bool) -> KeyPolicy:
    policy = new_policy("k", TYPES[kind], **options)
    policy.rotate()
    return policy


def test_aead_layout_is_nonce_ciphertext_tag() -> None:
    policy = _policy()
    sealed = encrypt(policy, 1, b"data", b"", None, NoncePool(1))
    body = base64.b64decode(sealed.removeprefix("vault:v1:"))
    key = policy.versions[1].key
    assert AESGCM(key).decrypt(body[:12], body[12:], None) == b"data"


def test_convergent_nonce_is_hmac_of_the_plaintext() -> None:
    policy = _policy(derived=True, convergent=True)
    sealed = encrypt(policy, 1, b"same", b"ctx", None, NoncePool(1))
    derived = HKDF(hashes.SHA256(), 64, None, b"ctx").derive(policy.versions[1].key)
    nonce = hmac.new(derived[32:], b"same", hashlib.sha256).digest()[:12]
    assert base64.b64decode(sealed.split(":")[2])[:12] == nonce
    assert decrypt(policy, sealed, b"ctx", None) == b"same"


def test_associated_data_binds_the_ciphertext() -> None:
    policy = _policy()
    sealed = encrypt(policy, 1, b"data", b"", b"row-7", NoncePool(1))
    assert decrypt(policy, sealed, b"", b"row-7") == b"data"
    with pytest.raises(BadRequest, match="message authentication failed"):
        decrypt(policy, sealed, b"", b"row-8")


def test_version_storage_round_trip_keeps_material() -> None:
    version = _policy("ecdsa-p256").versions[1]
    again = KeyVersion.from_storage(version.to_storage())
    assert again.private == version.private and again.public_key == version.public_key


def test_sign_options_are_checked_before_items() -> None:
    policy = _policy("ecdsa-p256")
    with pytest.raises(BadRequest, match='invalid hash algorithm "md5"'):
        check_options(policy, SignOptions(hash_algorithm="md5"))
    with pytest.raises(BadRequest, match="hash_algorithm=none requires"):
        check_options(policy, SignOptions(hash_algorithm="none"))
    signature, _ = sign(policy, 1, b"m", b"", SignOptions(marshaling="jws"))
    assert verify(policy, signature, b"m", b"", SignOptions(marshaling="jws"))
    with pytest.raises(BadRequest, match="invalid base64 signature value"):
        verify(policy, "vault:v1:%%", b"m", b"", SignOptions())


def test_wrap_is_rsa_oaep_then_kwp() -> None:
    private = rsa.generate_private_key(65537, 4096)
    blob = base64.b64decode(wrap(private.public_key(), b"k" * 32, hashes.SHA256()))
    assert len(blob) == 512 + 40  # RSA-4096 block, then KWP of 32 bytes (+8)

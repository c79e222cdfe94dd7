"""Keys and data move between OpenBao's transit and ours, both ways, through BYOK.

A real `bao server -dev` and `lambdavault server -dev` run side by side. Key material
leaves one through `export` (exportable keys) and enters the other through the real
`bao transit import` command (RSA-OAEP + AES-KWP against the receiver's wrapping key);
then each side decrypts and verifies what the other produced.
"""

from __future__ import annotations

import base64
import hashlib
import hmac as hmac_module
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests.compat.conftest import (
    Server,
)
from tests.compat.test_bao_transit import transit_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def openbao(openbao_dev: Server) -> Server:
    openbao_dev.bao("secrets", "enable", "transit")
    return openbao_dev


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def field(server: Server, *args: str) -> dict:
    result = server.bao(*args, "-format=json").json()
    assert isinstance(result, dict)
    return result["data"]


def exported(server: Server, kind: str, name: str, fmt: str = "") -> str:
    path = f"transit/export/{kind}/{name}/1"
    data = field(server, "read", path, *([f"format={fmt}"] if fmt else []))
    return data["keys"]["1"]


def move(source: Server, target: Server, name: str, kind: str, material: str,
         tmp_path: Path, *options: str) -> None:
    """`bao transit import` against the target: the CLI wraps with the target's key."""
    key_file = tmp_path / f"{name}.b64"
    key_file.write_text(material)
    target.bao("transit", "import", f"transit/keys/{name}", f"@{key_file}", f"type={kind}",
               *options)


@pytest.mark.parametrize("kind", ["aes256-gcm96", "aes128-gcm96", "chacha20-poly1305"])
def test_openbao_ciphertexts_decrypt_here_and_ours_there(
    openbao: Server, server: Server, kind: str, tmp_path: Path
) -> None:
    name = f"sym-{kind}"
    openbao.bao("write", f"transit/keys/{name}", f"type={kind}", "exportable=true")
    theirs = [
        field(openbao, "write", f"transit/encrypt/{name}", f"plaintext={b64(text)}")["ciphertext"]
        for text in (b"", b"hello", os.urandom(1024))
    ]
    move(openbao, server, name, kind, exported(openbao, "encryption-key", name), tmp_path)
    for ciphertext, text in zip(theirs, (b"", b"hello"), strict=False):
        plain = field(server, "write", f"transit/decrypt/{name}", f"ciphertext={ciphertext}")
        assert base64.b64decode(plain["plaintext"]) == text
    # The reverse: a key of server, its ciphertexts opened by OpenBao.
    back = f"back-{kind}"
    server.bao("write", f"transit/keys/{back}", f"type={kind}", "exportable=true")
    mine = field(server, "write", f"transit/encrypt/{back}", f"plaintext={b64(b'from us')}")
    move(server, openbao, back, kind, exported(server, "encryption-key", back), tmp_path)
    plain = field(openbao, "write", f"transit/decrypt/{back}", f"ciphertext={mine['ciphertext']}")
    assert base64.b64decode(plain["plaintext"]) == b"from us"


def test_derived_and_convergent_keys_agree(openbao: Server, server: Server, tmp_path: Path) -> None:
    """HKDF derivation and convergent nonces are byte-identical: same ciphertext both sides."""
    openbao.bao("write", "transit/keys/conv", "derived=true", "convergent_encryption=true",
                "exportable=true")
    context, text = b64(b"tenant-7"), b64(b"deterministic")
    theirs = field(openbao, "write", "transit/encrypt/conv", f"plaintext={text}",
                   f"context={context}")["ciphertext"]
    server.bao("write", "transit/keys/conv", "derived=true", "convergent_encryption=true")
    raw = exported(openbao, "encryption-key", "conv")
    # Derived keys import too: our copy derives the same per-context key from it.
    move(openbao, server, "conv-imported", "aes256-gcm96", raw, tmp_path, "derived=true")
    plain = field(server, "write", "transit/decrypt/conv-imported", f"ciphertext={theirs}",
                  f"context={context}")
    assert plain["plaintext"] == text
    # Convergent nonce derivation, checked against OpenBao's own output.
    assert theirs.startswith("vault:v1:")
    nonce = base64.b64decode(theirs.split(":")[2])[:12]
    derived = HKDF(hashes.SHA256(), 64, None, b"tenant-7").derive(base64.b64decode(raw))
    assert hmac_module.new(derived[32:], b"deterministic", hashlib.sha256).digest()[:12] == nonce


SIGNERS = [
    ("ed25519", []),
    ("ecdsa-p256", []),
    ("ecdsa-p256", ["marshaling_algorithm=jws"]),
    ("ecdsa-p384", []),
    ("ecdsa-p521", ["marshaling_algorithm=jws", "hash_algorithm=sha2-512"]),
    ("rsa-2048", ["signature_algorithm=pss"]),
    ("rsa-2048", ["signature_algorithm=pkcs1v15", "hash_algorithm=sha2-384"]),
]


@pytest.mark.parametrize(("kind", "options"), SIGNERS)
def test_signatures_verify_across(
    openbao: Server, server: Server, kind: str, options: list[str], tmp_path: Path
) -> None:
    name = f"sig-{kind}-{len(options)}"
    openbao.bao("write", f"transit/keys/{name}", f"type={kind}", "exportable=true")
    der = exported(openbao, "signing-key", name, "der")
    move(openbao, server, name, kind, der, tmp_path)
    message = b64(b"signed across implementations")
    assert field(server, "read", f"transit/keys/{name}")["keys"]["1"]["public_key"] == (
        field(openbao, "read", f"transit/keys/{name}")["keys"]["1"]["public_key"]
    )
    for signer, verifier in ((openbao, server), (server, openbao)):
        signature = field(signer, "write", f"transit/sign/{name}", f"input={message}",
                          *options)["signature"]
        verdict = field(verifier, "write", f"transit/verify/{name}", f"input={message}",
                        f"signature={signature}", *options)
        assert verdict["valid"] is True, (signer.address, signature)
        tampered = field(verifier, "write", f"transit/verify/{name}", f"input={b64(b'other')}",
                         f"signature={signature}", *options)
        assert tampered["valid"] is False


def test_hmac_keys_move_with_their_hmacs(openbao: Server, server: Server, tmp_path: Path) -> None:
    openbao.bao("write", "transit/keys/mac", "type=hmac", "key_size=48", "exportable=true")
    theirs = field(openbao, "write", "transit/hmac/mac", f"input={b64(b'data')}")["hmac"]
    move(openbao, server, "mac", "hmac", exported(openbao, "hmac-key", "mac"), tmp_path)
    assert field(server, "write", "transit/hmac/mac", f"input={b64(b'data')}")["hmac"] == theirs
    assert field(server, "write", "transit/verify/mac", f"input={b64(b'data')}",
                 f"hmac={theirs}")["valid"] is True

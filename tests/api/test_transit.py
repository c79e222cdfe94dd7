"""Transit over HTTP: key lifecycle, encrypt/decrypt, batches and their errors, cache cost."""

from __future__ import annotations

import base64
import os
from collections import Counter

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault



def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def wrap(public: rsa.RSAPublicKey, target: bytes, algorithm: hashes.HashAlgorithm) -> str:
    """The client side of BYOK, as `bao transit import` does it: RSA-OAEP of an ephemeral
    AES-256 key, then AES-KWP (RFC 5649) of the target key under it."""
    ephemeral = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
    return b64(public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, target))


@pytest.fixture(name="transit")
def transit_mount(vault: VaultHTTP) -> VaultHTTP:
    """A dev-initialised server with transit mounted afresh at transit/ (the module's
    tests share a cluster)."""
    vault.delete("sys/mounts/transit")
    assert vault.post("sys/mounts/transit", {"type": "transit"}).status_code == 204
    return vault


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


def error_of(response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]


def test_create_read_encrypt_decrypt_rotate(transit: VaultHTTP) -> None:
    created = ok(transit.post("transit/keys/k"))["data"]
    assert created["type"] == "aes256-gcm96" and created["latest_version"] == 1
    assert set(created["keys"]) == {"1"}
    sealed = ok(transit.post("transit/encrypt/k", {"plaintext": b64(b"hello")}))["data"]
    assert sealed["ciphertext"].startswith("vault:v1:") and sealed["key_version"] == 1
    raw = base64.b64decode(sealed["ciphertext"].split(":")[2])
    assert len(raw) == 12 + 5 + 16  # nonce || ciphertext || tag
    rotated = ok(transit.post("transit/keys/k/rotate"))["data"]
    assert rotated["latest_version"] == 2
    again = ok(transit.post("transit/encrypt/k", {"plaintext": b64(b"hello")}))["data"]
    assert again["ciphertext"].startswith("vault:v2:")
    for ciphertext in (sealed["ciphertext"], again["ciphertext"]):
        opened = ok(transit.post("transit/decrypt/k", {"ciphertext": ciphertext}))["data"]
        assert base64.b64decode(opened["plaintext"]) == b"hello"
    rewrapped = ok(transit.post("transit/rewrap/k", {"ciphertext": sealed["ciphertext"]}))
    assert rewrapped["data"]["ciphertext"].startswith("vault:v2:")
    assert ok(transit.list("transit/keys"))["data"]["keys"] == ["k"]


def test_encrypt_creates_the_key_on_first_use(transit: VaultHTTP) -> None:
    sealed = ok(transit.post("transit/encrypt/new", {"plaintext": b64(b"x"),
                                                     "type": "chacha20-poly1305"}))
    assert sealed["data"]["key_version"] == 1
    assert ok(transit.get("transit/keys/new"))["data"]["type"] == "chacha20-poly1305"


@pytest.mark.parametrize("kind", ["aes128-gcm96", "aes256-gcm96", "chacha20-poly1305"])
def test_derived_and_convergent(transit: VaultHTTP, kind: str) -> None:
    ok(transit.post("transit/keys/d", {"type": kind, "derived": True,
                                       "convergent_encryption": True}))
    context = b64(b"user-1")
    body = {"plaintext": b64(b"same"), "context": context}
    first = ok(transit.post("transit/encrypt/d", body))["data"]["ciphertext"]
    second = ok(transit.post("transit/encrypt/d", body))["data"]["ciphertext"]
    assert first == second  # convergent: same context and plaintext, same ciphertext
    other = ok(transit.post("transit/encrypt/d", {**body, "context": b64(b"user-2")}))
    assert other["data"]["ciphertext"] != first
    opened = ok(transit.post("transit/decrypt/d", {"ciphertext": first, "context": context}))
    assert base64.b64decode(opened["data"]["plaintext"]) == b"same"
    wrong = transit.post("transit/decrypt/d", {"ciphertext": first, "context": b64(b"user-2")})
    assert error_of(wrong) in ("cipher: message authentication failed",
                               "chacha20poly1305: message authentication failed")
    missing = transit.post("transit/decrypt/d", {"ciphertext": first})
    assert error_of(missing).startswith("missing 'context' for key derivation")


def test_bad_input_is_400_with_vaults_text(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/a"))
    ok(transit.post("transit/keys/b"))
    assert error_of(transit.post("transit/encrypt/a", {"plaintext": "!!"})) == (
        "illegal base64 data at input byte 0"
    )
    assert error_of(transit.post("transit/decrypt/a", {"ciphertext": "vault:v1:!!"})) == (
        "invalid ciphertext: could not decode base64"
    )
    assert error_of(transit.post("transit/decrypt/a", {"ciphertext": "nope"})) == (
        "invalid ciphertext: no prefix"
    )
    other = ok(transit.post("transit/encrypt/b", {"plaintext": b64(b"x")}))["data"]["ciphertext"]
    assert error_of(transit.post("transit/decrypt/a", {"ciphertext": other})) == (
        "cipher: message authentication failed"
    )
    assert error_of(transit.post("transit/decrypt/a", {"ciphertext": "vault:v9:AAAA"})) == (
        "invalid ciphertext: version is too new"
    )
    assert error_of(transit.post("transit/decrypt/missing", {"ciphertext": other})) == (
        "encryption key not found"
    )


def test_trimmed_and_too_old_versions(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/t"))
    old = ok(transit.post("transit/encrypt/t", {"plaintext": b64(b"v1")}))["data"]["ciphertext"]
    ok(transit.post("transit/keys/t/rotate"))
    ok(transit.post("transit/keys/t/rotate"))
    ok(transit.post("transit/keys/t/config", {"min_decryption_version": 2,
                                              "min_encryption_version": 2}))
    too_old = "ciphertext or signature version is disallowed by policy (too old)"
    assert error_of(transit.post("transit/decrypt/t", {"ciphertext": old})) == too_old
    trimmed = ok(transit.post("transit/keys/t/trim", {"min_available_version": 2}))["data"]
    assert trimmed["min_available_version"] == 2 and set(trimmed["keys"]) == {"2", "3"}
    assert error_of(transit.post("transit/decrypt/t", {"ciphertext": old})) == too_old
    assert error_of(transit.post("transit/keys/t/trim", {"min_available_version": 1})) == (
        "minimum available version cannot be decremented"
    )


def test_batch_items_fail_alone(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/k"))
    items = [{"plaintext": b64(b"one"), "reference": "r1"}, {"plaintext": "%%", "reference": "r2"}]
    response = transit.post("transit/encrypt/k", {"batch_input": items})
    assert response.status_code == 400  # as Vault: any failed item makes the batch a 400
    results = response.json()["data"]["batch_results"]
    assert results[0]["reference"] == "r1" and results[0]["ciphertext"].startswith("vault:v1:")
    assert results[1] == {"error": "illegal base64 data at input byte 0", "reference": "r2"}
    partial = transit.post("transit/encrypt/k", {"batch_input": items,
                                                 "partial_failure_response_code": 207})
    assert partial.status_code == 207
    decrypt_items = [{"ciphertext": results[0]["ciphertext"]}, {"ciphertext": "vault:v1:AAAA"}]
    decrypted = transit.post("transit/decrypt/k", {"batch_input": decrypt_items})
    assert decrypted.status_code == 400
    out = decrypted.json()["data"]["batch_results"]
    assert base64.b64decode(out[0]["plaintext"]) == b"one"
    assert out[1]["error"] == "invalid ciphertext length"
    good = ok(transit.post("transit/decrypt/k", {"batch_input": decrypt_items[:1]}))
    assert good["data"]["batch_results"][0]["reference"] == ""
    mixed = transit.post("transit/encrypt/k", {"batch_input": [
        {"plaintext": b64(b"a"), "context": b64(b"c")}, {"plaintext": b64(b"b")}]})
    assert error_of(mixed) == "context should be set either in all the request blocks or in none"


@pytest.mark.parametrize(("path", "item", "message"), [
    ("encrypt/k", {"plaintext": None}, "'[0].plaintext' expected type 'string'"),
    ("encrypt/k", {"plaintext": 7}, "'[0].plaintext' expected type 'string'"),
    ("encrypt/k", {"context": "eA=="}, "'[0].plaintext' missing plaintext to encrypt"),
    ("decrypt/k", {"ciphertext": ["x"]}, "'[0].ciphertext' expected type 'string'"),
    ("encrypt/k", "item", "[0] expected a map"),
])
def test_malformed_batch_items_are_400(transit: VaultHTTP, path: str, item: object,
                                       message: str) -> None:
    ok(transit.post("transit/keys/k"))
    assert message in error_of(transit.post(f"transit/{path}", {"batch_input": [item]}))


def test_null_items_of_other_batches_fail_alone(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/s", {"type": "ed25519"}))
    signed = ok(transit.post("transit/sign/s", {"batch_input": [{"input": None}]}))
    assert signed["data"]["batch_results"][0]["error"] == "missing input"
    verified = ok(transit.post("transit/verify/s", {"batch_input": [
        {"input": b64(b"x"), "signature": None}]}))
    assert verified["data"]["batch_results"][0]["error"] == "invalid signature: no prefix"


def test_warm_encrypt_reads_no_key(transit: VaultHTTP, calls: Counter[str]) -> None:
    ok(transit.post("transit/keys/k"))
    ok(transit.post("transit/encrypt/k", {"plaintext": b64(b"warm-up")}))
    calls.clear()
    ok(transit.post("transit/encrypt/k", {"plaintext": b64(b"warm")}))
    assert dict(calls) == {"BatchGetItem": 1}  # the pipeline's token + cluster state read
    calls.clear()
    ok(transit.post("transit/keys/k/rotate"))
    calls.clear()
    rotated = ok(transit.post("transit/encrypt/k", {"plaintext": b64(b"x")}))["data"]
    assert rotated["key_version"] == 2 and dict(calls) == {"BatchGetItem": 1}


def test_delete_needs_deletion_allowed(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/k"))
    assert error_of(transit.delete("transit/keys/k")) == (
        "error deleting policy k: deletion is not allowed for this key"
    )
    ok(transit.post("transit/keys/k/config", {"deletion_allowed": True}))
    assert transit.delete("transit/keys/k").status_code == 204
    assert transit.get("transit/keys/k").status_code == 404

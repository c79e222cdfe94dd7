"""Transit over HTTP: every key type, signing, HMAC, export, backup/restore, BYOK import,
the tools endpoints, and keys with more versions than one DynamoDB item could hold."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.api.test_transit import b64, error_of, ok, transit_mount, wrap  # noqa: F401
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


ASYMMETRIC = ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048"]


@pytest.mark.parametrize("kind", ASYMMETRIC)
def test_sign_verify_and_public_keys(transit: VaultHTTP, kind: str) -> None:
    key = ok(transit.post(f"transit/keys/{kind}", {"type": kind}))["data"]
    assert key["supports_signing"] and key["keys"]["1"]["public_key"]
    message = b64(b"message")
    signed = ok(transit.post(f"transit/sign/{kind}", {"input": message}))["data"]
    assert signed["signature"].startswith("vault:v1:") and signed["key_version"] == 1
    verdict = transit.post(f"transit/verify/{kind}", {"input": message,
                                                      "signature": signed["signature"]})
    assert ok(verdict)["data"]["valid"] is True
    other = transit.post(f"transit/verify/{kind}", {"input": b64(b"other"),
                                                    "signature": signed["signature"]})
    assert ok(other)["data"]["valid"] is False
    batch = ok(transit.post(f"transit/sign/{kind}/sha2-512", {"batch_input": [
        {"input": message, "reference": "a"}, {"input": "%%", "reference": "b"}]}))
    results = batch["data"]["batch_results"]  # sign batches answer 200, errors per item
    assert results[0]["reference"] == "a" and results[1]["error"].startswith(
        "unable to decode input as base64")


def test_rsa_options_and_jws(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/r", {"type": "rsa-2048"}))
    message = b64(b"m")
    for options in ({"signature_algorithm": "pkcs1v15"}, {"salt_length": "hash"},
                    {"salt_length": "32", "hash_algorithm": "sha3-256"}):
        signature = ok(transit.post("transit/sign/r", {"input": message, **options}))
        body = {"input": message, "signature": signature["data"]["signature"], **options}
        assert ok(transit.post("transit/verify/r", body))["data"]["valid"] is True
    assert error_of(transit.post("transit/sign/r", {"input": message,
                                                    "salt_length": "lots"})) == (
        "salt length neither 'auto', 'hash', nor an int: lots")
    ok(transit.post("transit/keys/ec", {"type": "ecdsa-p256"}))
    jws = ok(transit.post("transit/sign/ec", {"input": message,
                                              "marshaling_algorithm": "jws"}))["data"]
    assert "=" not in jws["signature"] and len(
        base64.urlsafe_b64decode(jws["signature"].split(":")[2] + "==")) == 64
    # RSA encrypts too (OAEP SHA-256).
    sealed = ok(transit.post("transit/encrypt/r", {"plaintext": b64(b"rsa")}))["data"]
    opened = ok(transit.post("transit/decrypt/r", {"ciphertext": sealed["ciphertext"]}))
    assert base64.b64decode(opened["data"]["plaintext"]) == b"rsa"


def test_derived_ed25519_returns_its_public_key(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/ed", {"type": "ed25519", "derived": True}))
    context = b64(b"ctx")
    signed = ok(transit.post("transit/sign/ed", {"input": b64(b"x"), "context": context}))
    read = ok(transit.get(f"transit/keys/ed?context={context}"))["data"]
    assert read["keys"]["1"]["public_key"] == signed["data"]["public_key"]
    verdict = transit.post("transit/verify/ed", {"input": b64(b"x"), "context": context,
                                                 "signature": signed["data"]["signature"]})
    assert ok(verdict)["data"]["valid"] is True


def test_hmac_hash_random_datakey(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/h", {"type": "hmac", "key_size": 64}))
    mac = ok(transit.post("transit/hmac/h/sha2-384", {"input": b64(b"data")}))["data"]["hmac"]
    assert mac.startswith("vault:v1:")
    valid = transit.post("transit/verify/h/sha2-384", {"input": b64(b"data"), "hmac": mac})
    assert ok(valid)["data"]["valid"] is True
    summed = ok(transit.post("transit/hash/sha3-256", {"input": b64(b"abc")}))["data"]["sum"]
    assert summed == "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
    random = ok(transit.post("transit/random/16", {"format": "hex"}))["data"]["random_bytes"]
    assert len(random) == 32
    assert error_of(transit.post("transit/random", {"bytes": 0})) == "'bytes' cannot be less than 1"
    ok(transit.post("transit/keys/dk"))
    datakey = ok(transit.post("transit/datakey/plaintext/dk", {"bits": 512}))["data"]
    assert len(base64.b64decode(datakey["plaintext"])) == 64
    opened = ok(transit.post("transit/decrypt/dk", {"ciphertext": datakey["ciphertext"]}))
    assert opened["data"]["plaintext"] == datakey["plaintext"]
    wrapped = ok(transit.post("transit/datakey/wrapped/dk"))["data"]
    assert "plaintext" not in wrapped
    assert error_of(transit.post("transit/datakey/other/dk")) == (
        "Invalid path, must be 'plaintext' or 'wrapped'")


def test_export_backup_restore(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/x"))
    assert error_of(transit.get("transit/export/encryption-key/x")) == (
        "private key material is not exportable")
    ok(transit.post("transit/keys/x/config", {"exportable": True,
                                              "allow_plaintext_backup": True}))
    exported = ok(transit.get("transit/export/encryption-key/x/1"))["data"]
    assert len(base64.b64decode(exported["keys"]["1"])) == 32
    sealed = ok(transit.post("transit/encrypt/x", {"plaintext": b64(b"kept")}))["data"]
    backup = ok(transit.get("transit/backup/x"))["data"]["backup"]
    ok(transit.post("transit/keys/x/config", {"deletion_allowed": True}))
    assert transit.delete("transit/keys/x").status_code == 204
    assert transit.post("transit/restore/y", {"backup": backup}).status_code == 204
    opened = ok(transit.post("transit/decrypt/y", {"ciphertext": sealed["ciphertext"]}))
    assert base64.b64decode(opened["data"]["plaintext"]) == b"kept"
    assert error_of(transit.post("transit/restore/y", {"backup": backup})) == (
        'key "y" already exists')
    assert ok(transit.get("transit/keys/y"))["data"]["restore_info"]["version"] == 1
    nonsense = json.dumps({"policy": {"type": "nope"}, "versions": {}}).encode()
    for forged in (b64(b"{}"), b64(nonsense)):
        assert error_of(transit.post("transit/restore/z", {"backup": forged})) == (
            "failed to restore the policy: invalid backup")


def _wrapping_key(transit: VaultHTTP) -> rsa.RSAPublicKey:
    pem = ok(transit.get("transit/wrapping_key"))["data"]["public_key"]
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 4096
    return public


def test_byok_import_and_import_version(transit: VaultHTTP) -> None:
    wrapping = _wrapping_key(transit)
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    body = {"ciphertext": wrap(wrapping, der, hashes.SHA256()), "type": "ecdsa-p256"}
    assert transit.post("transit/keys/byok/import", body).status_code == 204
    key = ok(transit.get("transit/keys/byok"))["data"]
    assert key["imported_key"] is True and key["imported_key_allow_rotation"] is False
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key["keys"]["1"]["public_key"] == public.decode()
    assert error_of(transit.post("transit/keys/byok/rotate")) == (
        "imported key byok does not allow rotation within OpenBao")
    again = {"ciphertext": wrap(wrapping, der, hashes.SHA512()), "hash_function": "SHA512"}
    assert transit.post("transit/keys/byok/import_version", again).status_code == 204
    assert ok(transit.get("transit/keys/byok"))["data"]["latest_version"] == 2
    # A public key alone: it verifies, it cannot sign until its private half arrives.
    other = ec.generate_private_key(ec.SECP256R1())
    pem = other.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert transit.post("transit/keys/pub/import", {"public_key": pem.decode(),
                                                    "type": "ecdsa-p256"}).status_code == 204
    assert error_of(transit.post("transit/sign/pub", {"input": b64(b"x")})) == (
        "requested version for signing does not contain a private part")
    bad = {"ciphertext": b64(b"short"), "type": "aes256-gcm96"}
    assert error_of(transit.post("transit/keys/bad/import", bad)) == (
        "provided ciphertext is too short")
    wrong_size = {"ciphertext": wrap(wrapping, b"k" * 16, hashes.SHA256()),
                  "type": "aes256-gcm96"}
    assert error_of(transit.post("transit/keys/bad/import", wrong_size)) == (
        "invalid key size 16 bytes for key type aes256-gcm96")


def test_config_and_cache_config(transit: VaultHTTP) -> None:
    ok(transit.post("transit/keys/c"))
    assert error_of(transit.post("transit/keys/c/config", {"min_decryption_version": 5})) == (
        "cannot set min decryption version of 5, latest key version is 1")
    assert error_of(transit.post("transit/keys/c/config", {"auto_rotate_period": "10m"})) == (
        "auto rotate period must be 0 to disable or at least an hour")
    configured = ok(transit.post("transit/keys/c/config", {"auto_rotate_period": "2h"}))
    assert configured["data"]["auto_rotate_period"] == 7200
    assert ok(transit.get("transit/cache-config"))["data"]["size"] == 0
    assert ok(transit.post("transit/cache-config", {"size": 50}))["data"]["size"] == 50
    assert error_of(transit.post("transit/cache-config", {"size": 3})) == (
        "size must be 0 or a value greater or equal to 10")


def test_versions_outgrow_one_item(transit: VaultHTTP) -> None:
    """Each version is its own item: an rsa-4096 key with 120 versions (~500 KB of key
    material, over DynamoDB's 400 KB item) restores, reads, decrypts, rotates, backs up."""
    settings = {"type": "rsa-4096", "exportable": True, "allow_plaintext_backup": True}
    ok(transit.post("transit/keys/big", settings))
    oldest = ok(transit.post("transit/encrypt/big", {"plaintext": b64(b"v1")}))["data"]
    blob = json.loads(base64.b64decode(ok(transit.get("transit/backup/big"))["data"]["backup"]))
    # The same material under 120 version numbers (generating 120 RSA keys takes minutes).
    blob["versions"] = {str(n): blob["versions"]["1"] for n in range(1, 121)}
    blob["policy"]["latest_version"] = 120
    backup = base64.b64encode(json.dumps(blob).encode()).decode()
    assert len(backup) > 400 * 1024
    assert transit.post("transit/restore/many", {"backup": backup}).status_code == 204
    key = ok(transit.get("transit/keys/many"))["data"]
    assert key["latest_version"] == 120 and len(key["keys"]) == 120
    opened = ok(transit.post("transit/decrypt/many", {"ciphertext": oldest["ciphertext"]}))
    assert base64.b64decode(opened["data"]["plaintext"]) == b"v1"
    assert ok(transit.post("transit/keys/many/rotate"))["data"]["latest_version"] == 121
    again = ok(transit.get("transit/backup/many"))["data"]["backup"]
    assert len(json.loads(base64.b64decode(again))["versions"]) == 121


def test_an_entry_over_the_item_limit_is_a_clear_400(transit: VaultHTTP) -> None:
    """Only a forged backup can carry a version over 400 KB: refused whole, nothing stored."""
    ok(transit.post("transit/keys/f", {"exportable": True, "allow_plaintext_backup": True}))
    blob = json.loads(base64.b64decode(ok(transit.get("transit/backup/f"))["data"]["backup"]))
    blob["versions"]["1"]["public_key"] = "x" * (410 * 1024)
    forged = base64.b64encode(json.dumps(blob).encode()).decode()
    message = error_of(transit.post("transit/restore/forged", {"backup": forged}))
    assert message.startswith("entry too large")
    assert transit.get("transit/keys/forged").status_code == 404

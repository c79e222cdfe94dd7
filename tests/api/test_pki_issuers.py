"""pki over HTTP: root generation, issuers, keys, defaults and the unauthenticated CA
reads, with OpenBao 2.7.2's texts and statuses (compared with `bao server -dev`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest
from cryptography import x509

from tests.support import REGION, VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault



def errors(text: str) -> list[str]:
    return ["1 error occurred:\n\t* " + text + "\n\n"]


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/pki")  # the module's tests share a cluster
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    return vault


def root(pki: VaultHTTP, **extra: object) -> dict:
    reply = pki.post("pki/root/generate/internal",
                     {"common_name": "Root CA", "key_type": "ec", "ttl": "8760h", **extra})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_first_root_becomes_the_default_issuer_and_key(pki: VaultHTTP) -> None:
    body = root(pki, issuer_name="root-1", key_name="k1")
    data = body["data"]
    assert set(data) == {"certificate", "expiration", "issuer_id", "issuer_name", "issuing_ca",
                         "key_id", "key_name", "serial_number"}
    assert (data["issuer_name"], data["key_name"]) == ("root-1", "k1")
    assert data["certificate"] == data["issuing_ca"]
    assert "private_key" not in data
    assert body["warnings"][0] == ('TTL "8760h0m0s" is longer than permitted maxTTL '
                                   '"768h0m0s", so maxTTL is being used')
    cert = x509.load_pem_x509_certificate(data["certificate"].encode())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert pki.get("pki/config/issuers").json()["data"] == {
        "default": data["issuer_id"], "default_follows_latest_issuer": False}
    assert pki.get("pki/config/keys").json()["data"] == {"default": data["key_id"]}
    listed = pki.list("pki/issuers", token="").json()["data"]  # unauthenticated
    assert listed == {"keys": [data["issuer_id"]], "key_info": {data["issuer_id"]: {
        "issuer_name": "root-1", "is_default": True, "serial_number": data["serial_number"],
        "key_id": data["key_id"]}}}
    keys = pki.list("pki/keys").json()["data"]
    assert keys == {"keys": [data["key_id"]],
                    "key_info": {data["key_id"]: {"key_name": "k1", "is_default": True}}}
    # A second root does not take the default unless default_follows_latest_issuer.
    second = root(pki)["data"]
    assert pki.get("pki/config/issuers").json()["data"]["default"] == data["issuer_id"]
    reply = pki.post("pki/config/issuers", {"default_follows_latest_issuer": True})
    assert reply.json() == {"errors": ["Invalid issuer specification; must be non-empty and "
                                       "can't be 'default'."]}
    pki.post("pki/config/issuers", {"default": "root-1", "default_follows_latest_issuer": True})
    third = root(pki)["data"]
    assert pki.get("pki/config/issuers").json()["data"]["default"] == third["issuer_id"]
    assert second["issuer_id"] != third["issuer_id"]


def test_exported_generation_returns_the_key_once(pki: VaultHTTP) -> None:
    data = pki.post("pki/root/generate/exported",
                    {"common_name": "x", "key_type": "ed25519"}).json()["data"]
    assert data["private_key_type"] == "ed25519"
    assert data["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    key = pki.get(f"pki/key/{data['key_id']}").json()["data"]
    assert set(key) == {"key_id", "key_name", "key_type", "subject_key_id"}
    assert "PRIVATE" not in str(key)


def test_existing_key_is_reused_by_reference(pki: VaultHTTP) -> None:
    first = root(pki, key_name="shared")["data"]
    data = pki.post("pki/root/generate/existing",
                    {"common_name": "again", "key_ref": "shared"}).json()["data"]
    assert data["key_id"] == first["key_id"]
    reply = pki.post("pki/root/generate/existing", {"common_name": "x", "key_ref": "nokey"})
    assert reply.json() == {"errors": ["failed to lookup public key from existing key: "
                                       "unable to find PKI key for reference: nokey"]}


GENERATION_REFUSALS = [
    ({"common_name": "x", "format": "bad"},
     'the "format" path parameter must be "pem", "der", or "pem_bundle"'),
    ({"common_name": "x", "key_type": "ec", "key_bits": 5}, "unsupported bit length for EC key: 5"),
    ({"common_name": "x", "key_type": "rsa", "key_bits": 1024},
     "RSA keys < 2048 bits are unsafe and not supported: got 1024"),
    ({"common_name": "x", "key_type": "dsa"}, "unknown key type dsa"),
    ({"common_name": "x", "key_type": "ec", "issuer_name": "default"},
     "reserved keyword 'default' can not be used as issuer name"),
    ({"common_name": "x", "key_type": "ec", "issuer_name": "a b"},
     "issuer name contained invalid characters"),
]


def test_generation_refusals(pki: VaultHTTP) -> None:
    for body, message in GENERATION_REFUSALS:
        reply = pki.post("pki/root/generate/internal", body)
        assert (reply.status_code, reply.json()) == (400, {"errors": [message]}), body
    reply = pki.post("pki/root/generate/bogus", {"common_name": "x"})
    assert reply.json() == {"errors": ['the "exported" path parameter must be "internal", '
                                       '"existing", exported" or "kms"']}


def test_names_are_unique_and_references_resolve(pki: VaultHTTP) -> None:
    data = root(pki, issuer_name="one")["data"]
    reply = pki.post("pki/root/generate/internal",
                     {"common_name": "y", "key_type": "ec", "issuer_name": "one"})
    assert reply.json() == {"errors": ["issuer name already in use"]}
    for ref in ("default", "one", data["issuer_id"]):
        assert pki.get(f"pki/issuer/{ref}").json()["data"]["issuer_id"] == data["issuer_id"]
    reply = pki.get("pki/issuer/nope")
    assert (reply.status_code, reply.json()) == (
        400, {"errors": errors("unable to find PKI issuer for reference: nope")})
    reply = pki.get("pki/key/nope")
    assert reply.json() == {"errors": errors("unable to find PKI key for reference: nope")}


def test_issuer_read_update_and_delete(pki: VaultHTTP) -> None:
    data = root(pki)["data"]
    issuer = pki.get("pki/issuer/default").json()["data"]
    assert issuer["usage"] == "crl-signing,issuing-certificates,ocsp-signing,read-only"
    assert issuer["leaf_not_after_behavior"] == "err"
    assert issuer["revocation_signature_algorithm"] == "ECDSAWithSHA256"
    assert issuer["ca_chain"] == [issuer["certificate"]] and issuer["manual_chain"] is None
    assert issuer["certificate"].endswith("-----END CERTIFICATE-----\n")
    updated = pki.post("pki/issuer/default", {"issuer_name": "renamed",
                                              "leaf_not_after_behavior": "truncate"})
    assert updated.json()["data"]["issuer_name"] == "renamed"
    assert pki.get("pki/issuer/renamed").json()["data"]["leaf_not_after_behavior"] == "truncate"
    reply = pki.post("pki/issuer/renamed", {"leaf_not_after_behavior": "never"})
    assert reply.status_code == 400
    assert pki.post("pki/key/default", {"key_name": "main"}).json()["data"]["key_name"] == "main"
    reply = pki.delete("pki/key/main")
    assert reply.json()["errors"] == [f"Failed to Delete Key.  Key in Use by Issuer: "
                                      f"{data['issuer_id']}"]
    reply = pki.delete("pki/issuer/renamed")
    assert reply.json()["warnings"] == ["Deleted issuer was the default; please update the "
                                        "default issuer through /config/issuers."]
    assert pki.get("pki/config/issuers").json()["data"]["default"] == ""
    assert pki.delete("pki/key/main").json()["warnings"] == [
        f"Deleted key {data['key_id']} (via key_ref main); this was configured as the default "
        "key. Operations without an explicit key will not work until a new default is "
        "configured."]
    assert pki.list("pki/keys").status_code == 404


def test_unauthenticated_ca_reads(pki: VaultHTTP, tmp_path: Path) -> None:
    data = root(pki)["data"]
    pem = data["certificate"]
    reply = pki.get("pki/ca/pem", token="")
    assert reply.headers["Content-Type"] == "application/pem-certificate-chain"
    assert reply.text == pem
    reply = pki.get("pki/ca", token="")
    assert reply.headers["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(reply.content) == x509.load_pem_x509_certificate(
        pem.encode())
    assert pki.get("pki/ca_chain", token="").text == pem
    assert pki.get("pki/issuer/default/pem", token="").text == pem + "\n"
    assert pki.get("pki/issuer/default/der", token="").content == reply.content
    assert pki.get("pki/issuer/default/json", token="").json()["data"]["certificate"] == pem + "\n"
    assert pki.get("pki/issuer/default", token="").status_code == 403
    chain = pki.get("pki/cert/ca_chain", token="").json()["data"]
    assert chain == {"ca_chain": pem, "certificate": pem, "revocation_time": 0,
                     "revocation_time_rfc3339": ""}
    assert pki.get("pki/cert/ca", token="").json()["data"]["certificate"] == pem
    serial = data["serial_number"]
    assert pki.get(f"pki/cert/{serial}", token="").json()["data"]["certificate"] == pem
    assert pki.get(f"pki/cert/{serial.replace(':', '-')}/raw/pem", token="").text == pem
    assert pki.list("pki/certs").json()["data"]["keys"] == [serial]
    assert pki.get("pki/cert/11:22").json() == {"errors": []}
    # openssl agrees the root is a CA it can verify against itself.
    (tmp_path / "root.pem").write_text(pem + "\n")
    result = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"),
                             str(tmp_path / "root.pem")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr


def test_delete_root_removes_every_issuer_and_key(pki: VaultHTTP) -> None:
    root(pki)
    root(pki)
    reply = pki.delete("pki/root")
    assert reply.json()["warnings"][0].startswith("DELETE /root deletes all keys and issuers")
    assert pki.list("pki/issuers").status_code == 404
    assert pki.list("pki/keys").status_code == 404
    assert pki.get("pki/ca/pem").status_code == 404


def test_private_keys_stay_sealed(pki: VaultHTTP) -> None:
    data = pki.post("pki/root/generate/exported",
                    {"common_name": "x", "key_type": "ec"}).json()["data"]
    table = boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test")
    dump = repr(table.scan(ConsistentRead=True)["Items"])
    body = data["private_key"].splitlines()[1]
    assert body not in dump



def test_rotate_replace_and_sign_self_issued(pki: VaultHTTP) -> None:
    old = root(pki, issuer_name="current")["data"]
    new = pki.post("pki/root/rotate/internal",
                   {"common_name": "Root CA 2", "key_type": "ec"}).json()["data"]
    assert new["issuer_name"] == "next"
    assert pki.get("pki/config/issuers").json()["data"]["default"] == old["issuer_id"]
    replaced = pki.post("pki/root/replace", {}).json()["data"]
    assert replaced == {"default": new["issuer_id"], "default_follows_latest_issuer": False}
    # The old root, cross-signed by the new one: same subject and key, new issuer.
    signed = pki.post("pki/root/sign-self-issued",
                      {"certificate": old["certificate"]}).json()["data"]
    cross = x509.load_pem_x509_certificate(signed["certificate"].encode())
    original = x509.load_pem_x509_certificate(old["certificate"].encode())
    issuer = x509.load_pem_x509_certificate(new["certificate"].encode())
    assert cross.subject == original.subject and cross.public_key() == original.public_key()
    assert cross.issuer == issuer.subject
    cross.verify_directly_issued_by(issuer)
    reply = pki.post("pki/root/sign-self-issued", {"certificate": "junk"})
    assert reply.json() == {"errors": ["certificate could not be PEM-decoded"]}


def test_issuer_post_replaces_and_patch_merges(pki: VaultHTTP) -> None:
    data = root(pki, issuer_name="kept")["data"]
    pki.post("pki/roles/web", {"issuer_ref": "kept", "key_type": "ec"})
    reply = pki.request("PATCH", "pki/issuer/kept", {"usage": "read-only,issuing-certificates"},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert reply.json()["data"]["issuer_name"] == "kept"
    assert reply.json()["data"]["usage"] == "issuing-certificates,read-only"
    reply = pki.post("pki/issuer/kept", {"revocation_signature_algorithm": "SHA256WithRSA"})
    assert reply.status_code == 400
    assert reply.json()["errors"] == errors("unable to use issuer of type ECDSA to sign with "
                                            "SHA256-RSA key type")
    # A POST is a full replace: the name goes (roles naming it are counted), defaults return.
    reply = pki.post("pki/issuer/kept", {"manual_chain": "self"}).json()
    assert reply["warnings"] == ["1 roles reference kept"]
    assert reply["data"]["issuer_name"] == ""
    assert reply["data"]["usage"] == "crl-signing,issuing-certificates,ocsp-signing,read-only"
    assert reply["data"]["manual_chain"] == [data["issuer_id"]]
    reply = pki.post("pki/issuer/default", {"usage": "nope"})
    assert reply.json()["errors"] == ["Unable to parse specified usages: [nope] - valid values "
                                      "are crl-signing,issuing-certificates,ocsp-signing,"
                                      "read-only"]


def test_keys_generate_and_import(pki: VaultHTTP) -> None:
    made = pki.post("pki/keys/generate/exported", {"key_type": "ec", "key_name": "made"}).json()
    data = made["data"]
    assert set(data) == {"key_id", "key_name", "key_type", "private_key"}
    assert data["key_type"] == "ec" and data["private_key"].startswith("-----BEGIN EC")
    internal = pki.post("pki/keys/generate/internal", {"key_type": "ed25519"}).json()["data"]
    assert set(internal) == {"key_id", "key_name", "key_type"}
    reply = pki.post("pki/keys/generate/internal", {"key_type": "ec", "key_bits": 7})
    assert reply.json() == {"errors": ["Validation for key_type, key_bits failed: unsupported "
                                       "bit length for EC key: 7"]}
    again = pki.post("pki/keys/import", {"pem_bundle": data["private_key"]}).json()
    assert again["data"]["key_id"] == data["key_id"]
    assert again["warnings"] == ["Key already imported, use key/ endpoint to update name."]
    reply = pki.post("pki/keys/import", {"pem_bundle": data["private_key"] * 2})
    assert reply.json() == {"errors": ["only a single key can be present within the "
                                       "pem_bundle for importing"]}
    # A root on the generated key, through the issuers/generate alias.
    root_data = pki.post("pki/issuers/generate/root/existing",
                         {"common_name": "On made", "key_ref": "made"}).json()["data"]
    assert root_data["key_id"] == data["key_id"]
    csr = pki.post("pki/intermediate/cross-sign",
                   {"common_name": "Cross", "key_ref": "made"}).json()["data"]
    assert csr["key_id"] == data["key_id"]

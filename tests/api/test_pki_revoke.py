"""pki revoke and revoke-with-key over HTTP: OpenBao 2.7.2's texts and statuses (its 500s
for what the request caused are our 400s with its words), cert/<serial> once revoked,
certs/revoked, an issuer refused, expired certificates only warned about, the revoked leaf
refused by `openssl verify -crl_check`, a generate_lease role's lease revoked, and no_store
roles keeping only a serial count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.core import jsonio
from chalicelib.core.errors import multierror
from chalicelib.core.runtime import runtime
from chalicelib.engines.pki.counts import SHARDS, UNSTORED_PREFIX
from chalicelib.engines.pki.x509build import serial_text
from chalicelib.storage.view import StorageView
from tests.api.pki_revocation_support import (
    as_int,
    crl_of,
    issue,
    mount_with_root,
    ocsp_status,
    openssl,
    serials,
    write,
)
from tests.support import VaultHTTP


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def test_refusals_as_openbao(pki: VaultHTTP) -> None:
    leaf = issue(pki)["data"]
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode()
    cases = [
        ("revoke", {}, "The serial number or certificate to revoke must be provided."),
        ("revoke", {"serial_number": leaf["serial_number"], "certificate": "x"},
         "Must provide either the certificate or the serial to revoke; not both."),
        ("revoke", {"serial_number": "aa:bb"}, "certificate with serial aa:bb not found."),
        ("revoke", {"serial_number": ""}, "The serial number must be provided"),
        ("revoke", {"certificate": "short"}, multierror(
            "provided certificate data was too short; perhaps a path was passed to the API "
            "rather than the contents of a PEM file")),
        ("revoke", {"certificate": "x" * 80}, multierror("certificate contains no PEM data")),
        ("revoke-with-key", {"serial_number": leaf["serial_number"]},
         "Must have private key to revoke via the /revoke-with-key path."),
        ("revoke-with-key", {"serial_number": leaf["serial_number"], "private_key": "short"},
         "Provided data for private_key was too short; perhaps a path was passed to the API "
         "rather than the contents of a PEM file?"),
        ("revoke-with-key", {"serial_number": leaf["serial_number"], "private_key": "x" * 70},
         multierror("provided key PEM block contained no data or failed to parse")),
        ("revoke-with-key", {"certificate": leaf["certificate"], "private_key": other},
         multierror("provided private key does not match certificate's public key")),
    ]
    for path, body, text in cases:
        reply = pki.post(f"pki/{path}", body)
        assert (reply.status_code, reply.json()["errors"]) == (400, [text]), (path, body)
    assert pki.list("pki/certs/revoked").status_code == 404


def test_revoke_shows_everywhere_and_answers_again_alike(pki: VaultHTTP) -> None:
    leaf = issue(pki)["data"]
    serial = leaf["serial_number"]
    assert pki.get(f"pki/cert/{serial}").json()["data"]["revocation_time"] == 0
    first = pki.post("pki/revoke", {"serial_number": serial}).json()["data"]
    assert first["state"] == "revoked" and first["revocation_time"] > 0
    assert first["revocation_time_rfc3339"].endswith("Z")
    again = pki.post("pki/revoke", {"serial_number": serial.replace(":", "-")}).json()["data"]
    assert again == first
    shown = pki.get(f"pki/cert/{serial}").json()["data"]
    issuer_id = pki.list("pki/issuers").json()["data"]["keys"][0]
    assert {k: shown[k] for k in ("revocation_time", "revocation_time_rfc3339", "issuer_id")} \
        == {"revocation_time": first["revocation_time"],
            "revocation_time_rfc3339": first["revocation_time_rfc3339"], "issuer_id": issuer_id}
    assert pki.list("pki/certs/revoked").json()["data"]["keys"] == [serial]
    assert as_int(serial) in serials(crl_of(pki))


def test_issuer_refused_and_expired_only_warned(pki: VaultHTTP) -> None:
    issuer = pki.get("pki/issuer/default").json()["data"]
    cert = x509.load_pem_x509_certificate(issuer["certificate"].encode())
    reply = pki.post("pki/revoke", {"serial_number": serial_text(cert)})
    assert reply.status_code == 400
    assert reply.json()["errors"] == [
        f"adding issuer (id: {issuer['issuer_id']}) to its own CRL is not allowed"]
    short = issue(pki, ttl="1s")["data"]  # within OpenBao's two seconds of slack
    reply = pki.post("pki/revoke", {"serial_number": short["serial_number"]})
    assert reply.status_code == 200 and reply.json()["data"] is None
    assert reply.json()["warnings"] == [
        f"certificate with serial {short['serial_number']} already expired; refusing to add "
        "to CRL. Enable 'AllowExpiredCertRevocation' to allow revoking expired certificates."]
    assert pki.list("pki/certs/revoked").status_code == 404


def test_revoke_with_key_and_by_certificate(pki: VaultHTTP) -> None:
    owned = issue(pki, "b.example.com")["data"]
    reply = pki.post("pki/revoke-with-key", {"certificate": owned["certificate"],
                                              "private_key": owned["private_key"]})
    assert reply.json()["data"]["state"] == "revoked", reply.text
    assert pki.post("pki/roles/volatile", {"allow_any_name": True, "key_type": "ec",
                                           "no_store": True, "ttl": "1h"}).status_code == 200
    unstored = issue(pki, "c.example.com", role="volatile")["data"]
    assert pki.get(f"pki/cert/{unstored['serial_number']}").status_code == 404
    reply = pki.post("pki/revoke", {"certificate": unstored["certificate"]})
    assert reply.json()["data"]["state"] == "revoked", reply.text
    # OpenBao keeps a presented certificate it had not stored.
    assert pki.get(f"pki/cert/{unstored['serial_number']}").json()["data"]["issuer_id"]
    foreign = ec.generate_private_key(ec.SECP256R1())
    self_signed = subprocess.run(
        ["openssl", "req", "-x509", "-key", "/dev/stdin", "-subj", "/CN=other", "-days", "1"],
        input=foreign.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode(),
        capture_output=True, text=True, check=True).stdout
    reply = pki.post("pki/revoke", {"certificate": self_signed})
    assert reply.status_code == 400
    assert "unable to verify signature on presented cert from any present issuer" in \
        reply.json()["errors"][0]
    assert serials(crl_of(pki)) == {as_int(owned["serial_number"]),
                                    as_int(unstored["serial_number"])}


def test_openssl_verify_refuses_the_revoked_leaf(pki: VaultHTTP, tmp_path: Path) -> None:
    root = pki.get("pki/cert/ca").json()["data"]["certificate"]
    revoked, kept = issue(pki, "r.example.com")["data"], issue(pki, "k.example.com")["data"]
    pki.post("pki/revoke", {"serial_number": revoked["serial_number"]})
    crl_pem = pki.get("pki/crl/pem").text
    listing = openssl("crl", "-in", write(tmp_path, "crl.pem", crl_pem), "-noout", "-text")
    assert listing.returncode == 0
    assert revoked["serial_number"].replace(":", "").upper() in listing.stdout
    checks = ["verify", "-crl_check", "-CRLfile", str(tmp_path / "crl.pem"),
              "-CAfile", write(tmp_path, "root.pem", root)]
    refused = openssl(*checks, write(tmp_path, "revoked.pem", revoked["certificate"]))
    assert refused.returncode != 0 and "certificate revoked" in refused.stdout + refused.stderr
    accepted = openssl(*checks, write(tmp_path, "kept.pem", kept["certificate"]))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_revoking_a_lease_revokes_its_certificate(pki: VaultHTTP, tmp_path: Path) -> None:
    root = pki.get("pki/cert/ca").json()["data"]["certificate"]
    assert pki.post("pki/roles/leased", {"allow_any_name": True, "key_type": "ec",
                                         "ttl": "1h", "generate_lease": True}).status_code == 200
    body = issue(pki, "l.example.com", role="leased")
    assert body["lease_id"].startswith("pki/issue/leased/")
    assert body["renewable"] is False and 3500 < body["lease_duration"] <= 3600
    assert issue(pki)["lease_id"] == ""  # roles without generate_lease: no lease
    renew = pki.put("sys/leases/renew", {"lease_id": body["lease_id"]})
    assert renew.status_code == 400, renew.text
    assert pki.put("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    serial = body["data"]["serial_number"]
    assert pki.get(f"pki/cert/{serial}").json()["data"]["revocation_time"] > 0
    assert as_int(serial) in serials(crl_of(pki))
    assert ": revoked" in ocsp_status(pki, tmp_path, root, body["data"]["certificate"])


def test_no_store_keeps_nothing_but_the_serial_count(pki: VaultHTTP) -> None:
    assert pki.post("pki/roles/volatile", {"allow_any_name": True, "key_type": "ec",
                                           "no_store": True, "ttl": "1h"}).status_code == 200
    before = set(pki.list("pki/certs").json()["data"]["keys"])
    for n in range(3):
        issue(pki, f"v{n}.example.com", role="volatile")
    assert set(pki.list("pki/certs").json()["data"]["keys"]) == before
    rt = runtime()
    mount = next(m for m in rt.mounts.entries if m.path == "pki/")
    view = StorageView(rt.barrier, mount.storage_prefix)
    shards = view.get_many([f"{UNSTORED_PREFIX}{n}" for n in range(SHARDS)]).values()
    assert sum(jsonio.loads(entry.value)["count"] for entry in shards) == 3

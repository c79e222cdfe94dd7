"""pki OCSP over HTTP, as OpenBao's path_ocsp.go: `openssl ocsp` says revoked (with its
time) and good; GET and POST unauthenticated; responses signed by the issuer; unknown
issuers answered "unknown" by the default issuer; malformed requests and ocsp_disable
answered with OCSP's own failure statuses."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from tests.api.pki_revocation_support import issue, mount_with_root, ocsp_status
from tests.support import VaultHTTP


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def _load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    return ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build() \
        .public_bytes(serialization.Encoding.DER)


def _post(vault: VaultHTTP, der: bytes) -> requests.Response:
    return requests.post(f"{vault.url}/v1/pki/ocsp", data=der, timeout=30,
                         headers={"Content-Type": "application/ocsp-request"})


def test_openssl_ocsp_says_revoked_and_good(pki: VaultHTTP, tmp_path: Path) -> None:
    root = pki.get("pki/cert/ca").json()["data"]["certificate"]
    revoked, kept = issue(pki, "r.example.com")["data"], issue(pki, "k.example.com")["data"]
    pki.post("pki/revoke", {"serial_number": revoked["serial_number"]})
    said = ocsp_status(pki, tmp_path, root, revoked["certificate"])
    assert "Response verify OK" in said and ": revoked" in said and "Revocation Time" in said
    said = ocsp_status(pki, tmp_path, root, kept["certificate"])
    assert "Response verify OK" in said and ": good" in said


def test_get_and_post_signed_by_the_issuer(pki: VaultHTTP) -> None:
    root = _load(pki.get("pki/cert/ca").json()["data"]["certificate"])
    leaf = issue(pki)["data"]
    reply = pki.post("pki/revoke", {"serial_number": leaf["serial_number"]}).json()["data"]
    der = _request(_load(leaf["certificate"]), root)
    for answer in (_post(pki, der), requests.get(
            f"{pki.url}/v1/pki/ocsp/{quote(base64.b64encode(der).decode(), safe='')}",
            timeout=30)):
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/ocsp-response"
        parsed = ocsp.load_der_ocsp_response(answer.content)
        assert parsed.certificate_status is ocsp.OCSPCertStatus.REVOKED
        assert int(parsed.revocation_time_utc.timestamp()) == reply["revocation_time"]
        assert parsed.serial_number == _load(leaf["certificate"]).serial_number
        assert parsed.next_update_utc - parsed.this_update_utc == datetime.timedelta(hours=12)
        root.public_key().verify(  # type: ignore[union-attr, call-arg]
            parsed.signature, parsed.tbs_response_bytes,
            ec.ECDSA(parsed.signature_hash_algorithm))  # type: ignore[arg-type]


def test_failures_are_ocsp_responses(pki: VaultHTTP) -> None:
    root = _load(pki.get("pki/cert/ca").json()["data"]["certificate"])
    leaf = _load(issue(pki)["data"]["certificate"])
    malformed = _post(pki, b"not an ocsp request")
    assert malformed.status_code == 400
    assert ocsp.load_der_ocsp_response(malformed.content).response_status is \
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    assert requests.get(f"{pki.url}/v1/pki/ocsp/", timeout=30).status_code == 400
    # Another CA's certificate: "unknown", signed by the default issuer.
    stranger_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "stranger")])
    stranger = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(stranger_key.public_key()).serial_number(7)
                .not_valid_before(root.not_valid_before_utc)
                .not_valid_after(root.not_valid_after_utc)
                .sign(stranger_key, hashes.SHA256()))
    unknown = ocsp.load_der_ocsp_response(_post(pki, _request(stranger, stranger)).content)
    assert unknown.certificate_status is ocsp.OCSPCertStatus.UNKNOWN
    assert unknown.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(
        root.public_key()).digest  # type: ignore[arg-type]
    pki.post("pki/config/crl", {"ocsp_disable": True})
    disabled = _post(pki, _request(leaf, root))
    assert disabled.status_code == 401
    assert ocsp.load_der_ocsp_response(disabled.content).response_status is \
        ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_an_issuer_without_ocsp_signing_is_unauthorized(pki: VaultHTTP) -> None:
    root = _load(pki.get("pki/cert/ca").json()["data"]["certificate"])
    leaf = _load(issue(pki)["data"]["certificate"])
    issuer = pki.get("pki/issuer/default").json()["data"]
    update = {"issuer_name": "root", "usage": "read-only,issuing-certificates,crl-signing",
              "leaf_not_after_behavior": issuer["leaf_not_after_behavior"]}
    assert pki.post("pki/issuer/default", update).status_code == 200
    reply = _post(pki, _request(leaf, root))
    assert reply.status_code == 401

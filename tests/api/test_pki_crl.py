"""pki CRLs over HTTP: unauthenticated reads in every form OpenBao serves, signed by the
issuer (its revocation_signature_algorithm honoured), numbers increasing, one CRL per
issuer, delta CRLs, crl/rotate, config/crl and config/urls (AIA and CRL points written into
issued certificates) with OpenBao 2.7.2's texts."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding

from chalicelib.core.errors import multierror
from tests.api.pki_revocation_support import (
    as_int,
    crl_of,
    issue,
    mount_with_root,
    openssl,
    serials,
    write,
)
from tests.support import VaultHTTP


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def _number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def test_every_form_unauthenticated_and_signed_by_the_issuer(pki: VaultHTTP,
                                                             tmp_path: Path) -> None:
    root = x509.load_pem_x509_certificate(pki.get("pki/cert/ca").json()["data"]
                                          ["certificate"].encode())
    leaf = issue(pki)["data"]
    assert pki.post("pki/revoke", {"serial_number": leaf["serial_number"]}).status_code == 200
    crl = crl_of(pki)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.issuer == root.subject and serials(crl) == {as_int(leaf["serial_number"])}
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    base = f"{pki.url}/v1/pki/"
    forms = {
        "crl": "application/pkix-crl", "crl/pem": "application/x-pem-file",
        "issuer/default/crl/der": "application/pkix-crl",
        "issuer/default/crl/pem": "application/x-pem-file",
        "crl/delta": "application/pkix-crl", "crl/delta/pem": "application/x-pem-file",
        "issuer/default/crl/delta/der": "application/pkix-crl",
        "issuer/default/crl/delta/pem": "application/x-pem-file",
    }
    for path, content_type in forms.items():
        reply = requests.get(base + path, timeout=30)
        assert (reply.status_code, reply.headers["Content-Type"]) == (200, content_type), path
    pem = requests.get(base + "crl/pem", timeout=30).text
    assert x509.load_pem_x509_crl(pem.encode()) == crl
    assert requests.get(base + "cert/crl", timeout=30).json()["data"] == {
        "certificate": pem.strip(), "revocation_time": 0, "revocation_time_rfc3339": ""}
    assert requests.get(base + "issuer/default/crl", timeout=30).json()["data"] == {"crl": pem}
    delta = x509.load_der_x509_crl(requests.get(base + "crl/delta", timeout=30).content)
    indicator = delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value
    assert indicator.crl_number == _number(crl) and _number(delta) > _number(crl)
    text = openssl("crl", "-in", write(tmp_path, "crl.pem", pem), "-noout", "-text").stdout
    assert "X509v3 CRL Number" in text and "Revoked Certificates" in text


def test_numbers_increase_and_rotation(pki: VaultHTTP) -> None:
    first = _number(crl_of(pki))
    assert pki.get("pki/crl/rotate").json()["data"] == {"success": True}
    second = _number(crl_of(pki))
    pki.post("pki/revoke", {"serial_number": issue(pki)["data"]["serial_number"]})
    third = _number(crl_of(pki))
    assert first < second < third
    reply = pki.get("pki/crl/rotate-delta").json()
    assert reply["warnings"] == [
        "requested rebuild of delta CRL when delta CRL is not enabled; this is a no-op"]
    assert pki.post("pki/crl/rotate").status_code == 405


def test_one_crl_per_issuer(pki: VaultHTTP) -> None:
    reply = pki.post("pki/root/generate/internal", {"common_name": "Second", "key_type": "ec",
                                                    "issuer_name": "second", "ttl": "24h"})
    second_root = x509.load_pem_x509_certificate(reply.json()["data"]["certificate"].encode())
    first = issue(pki)["data"]["serial_number"]
    other = pki.post("pki/issuer/second/issue/web", {"common_name": "b.example.com"})
    second = other.json()["data"]["serial_number"]
    for serial in (first, second):
        pki.post("pki/revoke", {"serial_number": serial})
    assert serials(crl_of(pki)) == {as_int(first)}
    theirs = crl_of(pki, "pki/issuer/second/crl/der")
    assert serials(theirs) == {as_int(second)}
    assert theirs.is_signature_valid(second_root.public_key())  # type: ignore[arg-type]


def test_delta_crls_carry_what_the_complete_one_lacks(pki: VaultHTTP) -> None:
    body = {"auto_rebuild": True, "enable_delta": True}
    assert pki.post("pki/config/crl", body).json()["data"]["enable_delta"] is True
    complete = crl_of(pki)
    serial = issue(pki)["data"]["serial_number"]
    pki.post("pki/revoke", {"serial_number": serial})
    # auto_rebuild: the complete CRL waits for its grace period, the delta for
    # delta_rebuild_interval (test_pki_delta.py) or crl/rotate-delta.
    assert as_int(serial) not in serials(crl_of(pki))
    assert pki.get("pki/crl/rotate-delta").status_code == 200
    delta = crl_of(pki, "pki/crl/delta")
    assert serials(delta) == {as_int(serial)}
    assert delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator).value.crl_number \
        == _number(complete)
    assert pki.get("pki/crl/rotate").status_code == 200
    assert as_int(serial) in serials(crl_of(pki))
    assert serials(crl_of(pki, "pki/crl/delta")) == set()


def test_revocation_signature_algorithm_is_honoured(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    reply = vault.post("pki/root/generate/internal", {"common_name": "RSA Root",
                                                      "key_type": "rsa", "key_bits": 2048})
    root = x509.load_pem_x509_certificate(reply.json()["data"]["certificate"].encode())
    issuer = vault.get("pki/issuer/default").json()["data"]
    update = {**{k: issuer[k] for k in ("usage", "leaf_not_after_behavior")},
              "issuer_name": "rsa", "revocation_signature_algorithm": "SHA256WithRSAPSS"}
    reply = vault.post("pki/issuer/default", update)
    assert reply.status_code == 200, reply.text
    assert vault.get("pki/crl/rotate").status_code == 200
    crl = crl_of(vault)
    assert isinstance(crl.signature_algorithm_parameters, padding.PSS)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]


def test_a_mount_without_issuers_answers_no_content(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    reply = requests.get(f"{vault.url}/v1/pki/crl", timeout=30)
    assert (reply.status_code, reply.content) == (204, b"")
    reply = requests.get(f"{vault.url}/v1/pki/cert/crl", timeout=30)
    assert (reply.status_code, reply.json()["errors"]) == (
        400, ["no default issuer currently configured"])


def test_config_crl_as_openbao(pki: VaultHTTP) -> None:
    assert pki.get("pki/config/crl").json()["data"] == {
        "allow_expired_cert_revocation": False, "auto_rebuild": False,
        "auto_rebuild_grace_period": "12h", "delta_rebuild_interval": "15m", "disable": False,
        "enable_delta": False, "expiry": "72h", "ocsp_disable": False, "ocsp_expiry": "12h"}
    refusals = [
        ({"ocsp_expiry": "-1s"}, "ocsp_expiry must be greater than or equal to 0 got: -1s"),
        ({"enable_delta": True}, "Delta CRLs cannot be enabled when auto rebuilding is "
         "disabled as the complete CRL is always regenerated!"),
        ({"auto_rebuild": True, "auto_rebuild_grace_period": "100h"},
         "CRL auto-rebuilding grace period (100h) must be strictly shorter than CRL expiry "
         "(72h) value when auto-rebuilding of CRLs is enabled"),
        ({"auto_rebuild": True, "enable_delta": True, "delta_rebuild_interval": "80h"},
         "CRL delta rebuild window (80h) must be strictly shorter than CRL expiry (72h) value "
         "when delta CRLs are enabled"),
    ]
    for body, text in refusals:
        reply = pki.post("pki/config/crl", body)
        assert (reply.status_code, reply.json()["errors"]) == (400, [text]), body
    reply = pki.post("pki/config/crl", {"expiry": "48h", "ocsp_expiry": "30m"}).json()
    assert (reply["data"]["expiry"], reply["data"]["ocsp_expiry"]) == ("48h", "30m")
    crl = crl_of(pki)
    assert crl.next_update_utc - crl.last_update_utc == datetime.timedelta(hours=48)
    pki.post("pki/config/crl", {"disable": True})
    pki.post("pki/revoke", {"serial_number": issue(pki)["data"]["serial_number"]})
    assert serials(crl_of(pki)) == set()  # disabled: OpenBao serves an empty CRL


def test_config_urls_reach_issued_certificates(pki: VaultHTTP) -> None:
    assert pki.get("pki/config/urls").json()["data"] == {
        "crl_distribution_points": [], "delta_crl_distribution_points": [],
        "enable_templating": False, "issuing_certificates": [], "ocsp_servers": []}
    reply = pki.post("pki/config/urls", {"issuing_certificates": "not a url"})
    assert reply.json()["errors"] == ["invalid URL found in Authority Information Access "
                                      "(AIA) parameter issuing_certificates: not a url"]
    body = {"issuing_certificates": "http://a/ca", "ocsp_servers": ["http://a/ocsp"],
            "crl_distribution_points": "http://a/crl,http://b/crl"}
    assert pki.post("pki/config/urls", body).status_code == 200
    cert = x509.load_pem_x509_certificate(issue(pki)["data"]["certificate"].encode())
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method.dotted_string, d.access_location.value) for d in aia] == [
        ("1.3.6.1.5.5.7.48.1", "http://a/ocsp"), ("1.3.6.1.5.5.7.48.2", "http://a/ca")]
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name[0].value for p in points] == ["http://a/crl", "http://b/crl"]
    issuer_id = pki.list("pki/issuers").json()["data"]["keys"][0]
    templated = {"enable_templating": True,
                 "issuing_certificates": "http://a/{{issuer_id}}/der"}
    assert pki.post("pki/config/urls", templated).status_code == 200
    cert = x509.load_pem_x509_certificate(issue(pki)["data"]["certificate"].encode())
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[-1].access_location.value == f"http://a/{issuer_id}/der"


def _freshest(crl: x509.CertificateRevocationList) -> list[str]:
    try:
        points = crl.extensions.get_extension_for_class(x509.FreshestCRL).value
    except x509.ExtensionNotFound:
        return []
    return [p.full_name[0].value for p in points if p.full_name]


def test_complete_crls_name_the_delta_points(pki: VaultHTTP) -> None:
    """OpenBao's buildCRL: the Freshest CRL extension, delta CRLs enabled or not, only
    when the URLs name something a certificate carries (its toURLEntries)."""
    delta = "http://crl.example.com/delta"
    assert pki.post("pki/config/urls", {"delta_crl_distribution_points": delta}
                    ).status_code == 200
    assert pki.get("pki/crl/rotate").status_code == 200
    assert _freshest(crl_of(pki)) == []
    assert pki.post("pki/config/urls", {"ocsp_servers": "http://ocsp.example.com"}
                    ).status_code == 200
    assert pki.get("pki/crl/rotate").status_code == 200
    assert _freshest(crl_of(pki)) == [delta]
    freshest = crl_of(pki).extensions.get_extension_for_class(x509.FreshestCRL)
    assert not freshest.critical


def test_the_issuers_delta_points_templated(pki: VaultHTTP) -> None:
    issuer_id = pki.get("pki/issuer/default").json()["data"]["issuer_id"]
    assert pki.post("pki/config/urls", {"ocsp_servers": "http://ocsp.example.com",
                                        "delta_crl_distribution_points": "http://g/d"}
                    ).status_code == 200
    body = {"enable_aia_url_templating": True, "ocsp_servers": "http://o.example.com",
            "delta_crl_distribution_points": "{{cluster_path}}/issuer/{{issuer_id}}/crl/delta"}
    leaf = issue(pki)["data"]["serial_number"]  # before: issuance would be refused too
    assert _freshest(crl_of(pki)) == ["http://g/d"]
    reply = pki.request("PATCH", "pki/issuer/default", body,
                        headers={"Content-Type": "application/merge-patch+json"})
    assert reply.status_code == 200, reply.text
    reply = pki.post("pki/revoke", {"serial_number": leaf})
    assert (reply.status_code, reply.json()["errors"]) == (400, [multierror(
        "error encountered during CRL building: error building CRLs: error building CRLs: "
        f"unable to build CRL for issuer ({issuer_id}): error fetching CA certificate: "
        "unable to fetch AIA URL information: unable to template AIA URLs as we lack local "
        "cluster address information (path)")])
    before = crl_of(pki)  # what was last built, as OpenBao serves it
    assert serials(before) == set() and _freshest(before) == ["http://g/d"]
    assert pki.post("pki/config/cluster", {"path": "https://v.example.com/v1/pki"}
                    ).status_code == 200
    after = crl_of(pki)  # the revocation was kept: the next build has it
    assert serials(after) == {as_int(leaf)}
    assert _freshest(after) == [f"https://v.example.com/v1/pki/issuer/{issuer_id}/crl/delta"]

"""config/urls in CA certificates, as OpenBao 2.7.2: roots (root/generate, root/rotate,
issuers/generate/root) carry the configured AIA and CRL distribution points, a root
ignores (with a warning) a configuration templated on ``{{issuer_id}}`` and is refused
(400 with OpenBao's words, where it answers 500) when other templating fails;
sign-intermediate and sign-self-issued carry the signer's URLs ({{issuer_id}}: the
signer's id); the "no AIA" warning appears only when the certificate (roots, signed
intermediates) or the configuration (CSRs, imports) has none."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from chalicelib.core.errors import multierror
from chalicelib.engines.pki.generation import MISSING_AIA
from chalicelib.engines.pki.urls import ROOT_ISSUER_ID_IGNORED
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


STATIC = {"issuing_certificates": "http://ca.example.com/ca",
          "crl_distribution_points": "http://ca.example.com/crl",
          "ocsp_servers": "http://ca.example.com/ocsp"}
STATIC_URLS = {"aia": ["OCSP=http://ca.example.com/ocsp",
                       "caIssuers=http://ca.example.com/ca"],
               "crl": ["http://ca.example.com/crl"]}
NONE: dict[str, list[str]] = {"aia": [], "crl": []}


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/pki")  # the module's tests share a cluster
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    return vault


def urls_of(pem: str) -> dict[str, list[str]]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    method = {AuthorityInformationAccessOID.OCSP: "OCSP",
              AuthorityInformationAccessOID.CA_ISSUERS: "caIssuers"}
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        aia = x509.AuthorityInformationAccess([])
    try:
        points = list(cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value)
    except x509.ExtensionNotFound:
        points = []
    return {"aia": [f"{method[d.access_method]}={d.access_location.value}" for d in aia],
            "crl": [p.full_name[0].value for p in points if p.full_name]}


def generated(vault: VaultHTTP, path: str = "pki/root/generate/internal",
              **fields: Any) -> tuple[dict[str, Any], list[str]]:
    reply = vault.post(path, {"common_name": "Root", "key_type": "ec", **fields})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    return body["data"], body.get("warnings") or []


def csr_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Intermediate")])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def test_without_config_urls_roots_carry_none_and_warn(pki: VaultHTTP) -> None:
    data, warnings = generated(pki)
    assert urls_of(data["certificate"]) == NONE
    assert warnings == [MISSING_AIA]


@pytest.mark.parametrize("path", ["pki/root/generate/internal", "pki/root/rotate/internal",
                                  "pki/issuers/generate/root/internal"])
def test_roots_carry_the_configured_urls(pki: VaultHTTP, path: str) -> None:
    assert pki.post("pki/config/urls", STATIC).status_code == 200
    data, warnings = generated(pki, path)
    assert urls_of(data["certificate"]) == STATIC_URLS
    assert MISSING_AIA not in warnings


def test_a_root_ignores_issuer_id_templates_with_a_warning(pki: VaultHTTP) -> None:
    body = {**STATIC, "enable_templating": True,
            "issuing_certificates": "http://ca.example.com/{{issuer_id}}/der"}
    assert pki.post("pki/config/urls", body).status_code == 200
    data, warnings = generated(pki)
    assert urls_of(data["certificate"]) == NONE
    assert warnings == [ROOT_ISSUER_ID_IGNORED, MISSING_AIA]
    # ... but what it signs names it.
    reply = pki.post("pki/root/sign-intermediate", {"csr": csr_pem(), "ttl": "1h"})
    assert reply.status_code == 200, reply.text
    assert urls_of(reply.json()["data"]["certificate"]) == {
        **STATIC_URLS, "aia": ["OCSP=http://ca.example.com/ocsp",
                               f"caIssuers=http://ca.example.com/{data['issuer_id']}/der"]}
    assert MISSING_AIA not in (reply.json().get("warnings") or [])


def test_a_root_is_refused_when_other_templating_fails(pki: VaultHTTP) -> None:
    lack = ("unable to template AIA URLs as we lack local cluster address information "
            "(path)")
    for url in ("{{cluster_path}}/ca", "{{cluster_path}}/{{issuer_id}}/ca"):
        body = {"enable_templating": True, "issuing_certificates": url}
        assert pki.post("pki/config/urls", body).status_code == 200
        reply = pki.post("pki/root/generate/internal", {"common_name": "Root"})
        assert (reply.status_code, reply.json()["errors"]) == (400, [multierror(
            f"unable to parse AIA URL information: {lack}\nUsing templated AIA URL's "
            "{{issuer_id}} field when generating root certificates is not supported.")])
    pki.post("pki/config/cluster", {"path": "https://vault.example.com/v1/pki"})
    data, warnings = generated(pki)
    assert urls_of(data["certificate"]) == NONE  # {{issuer_id}} still: ignored
    assert warnings == [ROOT_ISSUER_ID_IGNORED, MISSING_AIA]
    pki.post("pki/config/urls", {"issuing_certificates": "{{cluster_path}}/ca"})
    data, warnings = generated(pki)
    assert urls_of(data["certificate"])["aia"] == [
        "caIssuers=https://vault.example.com/v1/pki/ca"]


def test_sign_intermediate_refused_when_templating_fails(pki: VaultHTTP) -> None:
    generated(pki)
    body = {"enable_templating": True, "ocsp_servers": "{{cluster_aia_path}}/ocsp"}
    assert pki.post("pki/config/urls", body).status_code == 200
    for path in ("pki/root/sign-intermediate", "pki/issuer/default/sign-intermediate"):
        reply = pki.post(path, {"csr": csr_pem()})
        assert (reply.status_code, reply.json()["errors"]) == (400, [multierror(
            "error fetching CA certificate: unable to fetch AIA URL information: unable to "
            "template AIA URLs as we lack local cluster address information (aia_path)")])


def test_sign_intermediate_warns_only_without_urls(pki: VaultHTTP) -> None:
    generated(pki)
    reply = pki.post("pki/root/sign-intermediate", {"csr": csr_pem(), "ttl": "1h"})
    assert urls_of(reply.json()["data"]["certificate"]) == NONE
    assert MISSING_AIA in reply.json()["warnings"]
    assert pki.post("pki/config/urls", STATIC).status_code == 200
    reply = pki.post("pki/issuer/default/sign-intermediate", {"csr": csr_pem(), "ttl": "1h"})
    assert urls_of(reply.json()["data"]["certificate"]) == STATIC_URLS
    assert MISSING_AIA not in (reply.json().get("warnings") or [])


def test_sign_self_issued_takes_the_signers_urls(pki: VaultHTTP) -> None:
    generated(pki)
    other, _ = generated(pki, issuer_name="other")  # self-issued, no URLs
    assert pki.post("pki/config/urls", STATIC).status_code == 200
    reply = pki.post("pki/root/sign-self-issued", {"certificate": other["certificate"]})
    assert reply.status_code == 200, reply.text
    resigned = reply.json()["data"]["certificate"]
    assert urls_of(resigned) == STATIC_URLS
    pki.post("pki/config/urls", {name: "" for name in STATIC})
    reply = pki.post("pki/issuer/default/sign-self-issued", {"certificate": resigned})
    assert urls_of(reply.json()["data"]["certificate"]) == NONE  # dropped, as OpenBao


def test_csrs_and_imports_warn_only_without_config(pki: VaultHTTP) -> None:
    data, _ = generated(pki)
    intermediate_warning = (MISSING_AIA + " Since this certificate is an intermediate, it "
                            "might be useful to regenerate this certificate after fixing "
                            "this problem for the root mount.")
    csr = pki.post("pki/intermediate/generate/internal", {"common_name": "I"})
    assert intermediate_warning in csr.json()["warnings"]
    imported = pki.post("pki/issuers/import/cert", {"pem_bundle": data["certificate"]})
    assert MISSING_AIA in imported.json()["warnings"]
    assert pki.post("pki/config/urls", STATIC).status_code == 200
    csr = pki.post("pki/intermediate/generate/internal", {"common_name": "I"})
    assert intermediate_warning not in (csr.json().get("warnings") or [])
    imported = pki.post("pki/issuers/import/cert", {"pem_bundle": data["certificate"]})
    assert MISSING_AIA not in (imported.json().get("warnings") or [])

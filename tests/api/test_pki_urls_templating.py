"""config/urls with enable_templating over HTTP, as OpenBao 2.7.2: ``{{cluster_path}}`` and
``{{cluster_aia_path}}`` come from config/cluster and ``{{issuer_id}}`` from the signing
issuer, in issued certificates' AIA and CRL distribution points (issue, sign, sign-verbatim
and ACME finalize); the warning config/urls gives and the refusals issuance gives (400 with
OpenBao's words where it answers 500) while an address is missing or a result is no URL."""

# The fixture dev_acme comes from test_pki_acme, imported by name:
# ruff: noqa: F811

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from chalicelib.core.errors import multierror
from tests.api.pki_revocation_support import issue, mount_with_root
from tests.api.test_pki_acme import (  # noqa: F401
    AcmeClient,
    csr_der,
    dev_acme,
    enable_acme,
    ready_order,
)
from tests.support import VaultHTTP

# OpenBao checks the lists in Go's random map order; we check them in this one.
TEMPLATED = {
    "enable_templating": True,
    "issuing_certificates": "{{cluster_path}}/issuer/{{issuer_id}}/der",
    "crl_distribution_points": "{{cluster_path}}/issuer/{{issuer_id}}/crl/der",
    "ocsp_servers": "{{cluster_aia_path}}/ocsp",
}
CONSIDER = "\n\nConsider setting the cluster-local address if it is not already set."
LACK = "unable to template AIA URLs as we lack "
REFUSED = "error fetching CA certificate: unable to fetch AIA URL information: "


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def urls_of(pem: str) -> dict[str, list[str]]:
    cert = x509.load_pem_x509_certificate(pem.encode())
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    method = {AuthorityInformationAccessOID.OCSP: "OCSP",
              AuthorityInformationAccessOID.CA_ISSUERS: "caIssuers"}
    return {"aia": [f"{method[d.access_method]}={d.access_location.value}" for d in aia],
            "crl": [p.full_name[0].value for p in points]}


def expected(issuer_id: str) -> dict[str, list[str]]:
    return {"aia": ["OCSP=http://aia.example.com/v1/pki/ocsp",
                    f"caIssuers=https://vault.example.com/v1/pki/issuer/{issuer_id}/der"],
            "crl": [f"https://vault.example.com/v1/pki/issuer/{issuer_id}/crl/der"]}


def refusal(vault: VaultHTTP, path: str, body: dict[str, Any]) -> tuple[int, list[str]]:
    reply = vault.post(path, body)
    return reply.status_code, reply.json()["errors"]


def test_a_templated_issue_reads_the_cluster_addresses_in_its_first_read(
    pki: VaultHTTP, calls: Counter[str]
) -> None:
    pki.post("pki/config/cluster", {"path": "https://vault.example.com/v1/pki",
                                    "aia_path": "http://aia.example.com/v1/pki"})
    pki.post("pki/config/urls", TEMPLATED)
    issue(pki)  # warms this container
    issuer_id = pki.list("pki/issuers").json()["data"]["keys"][0]
    calls.clear()
    assert urls_of(issue(pki)["data"]["certificate"]) == expected(issuer_id)
    # As an untemplated issue: config/cluster rides with the role and config/urls.
    writes = {"TransactWriteItems": 1, "UpdateItem": 1}
    assert dict(calls) == {"BatchGetItem": 1, "GetItem": 2, **writes}


def test_cluster_addresses_fill_issued_certificates(pki: VaultHTTP) -> None:
    reply = pki.post("pki/config/urls", TEMPLATED)
    assert reply.status_code == 200
    assert reply.json()["warnings"] == [f"issuance may fail: {LACK}local cluster address "
                                        f"information (path){CONSIDER}"]
    assert pki.get("pki/config/urls").json()["data"] == {
        **TEMPLATED, "delta_crl_distribution_points": [],
        **{name: [TEMPLATED[name]] for name in ("issuing_certificates",
                                                "crl_distribution_points", "ocsp_servers")}}
    web = {"common_name": "a.example.com"}
    assert refusal(pki, "pki/issue/web", web) == (
        400, [multierror(f"{REFUSED}{LACK}local cluster address information (path)")])
    assert pki.post("pki/config/cluster",
                    {"path": "https://vault.example.com/v1/pki"}).status_code == 200
    assert refusal(pki, "pki/issue/web", web) == (
        400, [multierror(f"{REFUSED}{LACK}local cluster address information (aia_path)")])
    reply = pki.post("pki/config/urls", {})
    assert reply.json()["warnings"] == [f"issuance may fail: {LACK}local cluster address "
                                        f"information (aia_path){CONSIDER}"]
    assert pki.post("pki/config/cluster",
                    {"aia_path": "http://aia.example.com/v1/pki"}).status_code == 200
    assert pki.post("pki/config/urls", {}).json()["warnings"] is None
    issuer_id = pki.list("pki/issuers").json()["data"]["keys"][0]
    assert urls_of(issue(pki)["data"]["certificate"]) == expected(issuer_id)
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "b.example.com")])).sign(
        ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    for path in ("pki/sign/web", "pki/sign-verbatim"):
        reply = pki.post(path, {"csr": pem, "ttl": "1h"})
        assert reply.status_code == 200, reply.text
        assert urls_of(reply.json()["data"]["certificate"]) == expected(issuer_id)


def test_a_templated_result_must_be_a_url(pki: VaultHTTP) -> None:
    body = {"enable_templating": True, "ocsp_servers": "{{issuer_id}}/ocsp"}
    issuer_id = pki.list("pki/issuers").json()["data"]["keys"][0]
    error = f"error validating templated ocsp_servers; invalid URI: {issuer_id}/ocsp"
    assert pki.post("pki/config/urls", body).json()["warnings"] == [
        f"issuance may fail: {error}{CONSIDER}"]
    assert refusal(pki, "pki/issue/web", {"common_name": "a.example.com"}) == (
        400, [multierror(REFUSED + error)])
    # Without templating the same value is refused when written.
    assert refusal(pki, "pki/config/urls", {"enable_templating": False}) == (
        400, ["invalid URL found in Authority Information Access (AIA) parameter "
              "ocsp_servers: {{issuer_id}}/ocsp"])


def test_no_issuer_no_warning(vault: VaultHTTP) -> None:
    """OpenBao tries the templates on the mount's first issuer; without one it says
    nothing."""
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    reply = vault.post("pki/config/urls", TEMPLATED)
    assert (reply.status_code, reply.json()["warnings"]) == (200, None)


def test_acme_certificates_carry_templated_urls(vault: VaultHTTP, server: str,
                                                dev_acme: dict[str, int]) -> None:
    base = enable_acme(vault, server)
    assert vault.post("pki/config/urls", TEMPLATED).status_code == 200
    client = AcmeClient(f"{base}/roles/web/acme/directory")
    assert client.register().status_code == 201
    order = ready_order(client, "localhost", dev_acme["http"])
    final = client.post(order["finalize"], {"csr": csr_der(["localhost"])})
    assert (final.status_code, final.json()["detail"]) == (
        500, f"failed loading CA {vault.list('pki/issuers').json()['data']['keys'][0]}: "
        f"unable to fetch AIA URL information: {LACK}local cluster address information "
        "(aia_path)"), final.text
    assert vault.post("pki/config/cluster", {"aia_path": "http://aia.example.com/v1/pki"}
                      ).status_code == 200
    final = client.post(order["finalize"], {"csr": csr_der(["localhost"])})
    assert final.json()["status"] == "valid", final.text
    leaf = client.post(final.json()["certificate"]).text.split("-----END CERTIFICATE-----")[0]
    issuer_id = vault.list("pki/issuers").json()["data"]["keys"][0]
    assert urls_of(leaf + "-----END CERTIFICATE-----") == {
        "aia": ["OCSP=http://aia.example.com/v1/pki/ocsp",
                f"caIssuers={base}/issuer/{issuer_id}/der"],
        "crl": [f"{base}/issuer/{issuer_id}/crl/der"]}

"""An issuer's own AIA URLs (issuer/<ref>'s issuing_certificates, crl_distribution_points,
delta_crl_distribution_points, ocsp_servers, enable_aia_url_templating) over HTTP, as
OpenBao 2.7.2: read, POST and PATCH with its quirks (lists never set read null, a POST
does not store the delta CRL points, a PATCH cannot turn templating off), its refusal and
warning texts, the issuer's URLs taking precedence over config/urls (templated with its
id) in everything it signs, and issuance refusing a templating failure before any other
check of the request."""

# The fixture dev_acme comes from test_pki_acme, imported by name:
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.core.errors import multierror
from tests.api.pki_revocation_support import issue, mount_with_root
from tests.api.test_pki_acme import (  # noqa: F401
    AcmeClient,
    csr_der,
    dev_acme,
    enable_acme,
    ready_order,
)
from tests.api.test_pki_root_urls import STATIC, STATIC_URLS, csr_pem, generated, urls_of
from tests.support import VaultHTTP

LISTS = ("issuing_certificates", "crl_distribution_points", "delta_crl_distribution_points",
         "ocsp_servers")
NO_URLS = {**{name: [] for name in LISTS}, "enable_aia_url_templating": "absent"}
OWN = {"issuing_certificates": "http://own.example.com/ca",
       "crl_distribution_points": "http://own.example.com/crl",
       "ocsp_servers": "http://own.example.com/ocsp"}
OWN_URLS = {"aia": ["OCSP=http://own.example.com/ocsp", "caIssuers=http://own.example.com/ca"],
            "crl": ["http://own.example.com/crl"]}
REFUSED = ("error fetching CA certificate: unable to fetch AIA URL information: unable to "
           "template AIA URLs as we lack local cluster address information (path)")
WARNED = ("issuance may fail: unable to template AIA URLs as we lack local cluster address "
          "information (path)\n\nConsider setting the cluster-local address if it is not "
          "already set.")


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def leaf_csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "b.example.com")])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def send(vault: VaultHTTP, method: str, body: dict[str, Any]) -> Any:
    """POST or PATCH issuer/default."""
    if method == "post":
        return vault.post("pki/issuer/default", body)
    return vault.request("PATCH", "pki/issuer/default", body,
                         headers={"Content-Type": "application/merge-patch+json"})


def urls_part(vault: VaultHTTP, reply: Any = None) -> dict[str, Any]:
    body = (reply or vault.get("pki/issuer/default")).json()
    return {k: body["data"].get(k, "absent") for k in (*LISTS, "enable_aia_url_templating")}


def test_post_and_patch_as_openbao(pki: VaultHTTP) -> None:
    assert urls_part(pki) == NO_URLS
    reply = pki.post("pki/issuer/default", {"issuing_certificates": "http://a/x",
                                            "delta_crl_distribution_points": "http://d/x"})
    assert reply.status_code == 200, reply.text
    expected = {"issuing_certificates": ["http://a/x"], "crl_distribution_points": None,
                "delta_crl_distribution_points": None, "ocsp_servers": None,
                "enable_aia_url_templating": False}
    assert urls_part(pki, reply) == urls_part(pki) == expected  # POST drops the delta points
    reply = send(pki, "patch", {"delta_crl_distribution_points": "http://d/y"})
    assert urls_part(pki, reply) == {**expected, "delta_crl_distribution_points": ["http://d/y"]}
    # A POST keeps the delta points a PATCH stored while the issuer keeps URLs; a list it
    # changes to empty reads [], one it leaves empty stays null.
    reply = pki.post("pki/issuer/default", {"ocsp_servers": "http://o/x"})
    assert urls_part(pki, reply) == {**expected, "issuing_certificates": [],
                                     "ocsp_servers": ["http://o/x"],
                                     "delta_crl_distribution_points": ["http://d/y"]}
    # No URL a certificate carries left: nothing is kept, the delta points neither.
    reply = send(pki, "patch", {"ocsp_servers": ""})
    assert urls_part(pki, reply) == NO_URLS
    reply = pki.post("pki/issuer/default", {"delta_crl_distribution_points": "http://d/x"})
    assert urls_part(pki, reply)["delta_crl_distribution_points"] == []


@pytest.mark.parametrize("method", ["post", "patch"])
@pytest.mark.parametrize("name", LISTS)
def test_invalid_urls_refused_unless_templating(pki: VaultHTTP, method: str, name: str) -> None:
    reply = send(pki, method, {name: "http://a/x,bad"})
    assert (reply.status_code, reply.json()["errors"]) == (400, [
        f"invalid URL found in Authority Information Access (AIA) parameter {name}: bad"])
    assert urls_part(pki)[name] == []


def test_templating_warns_and_a_patch_cannot_turn_it_off(pki: VaultHTTP) -> None:
    body = {"enable_aia_url_templating": True, "ocsp_servers": "{{cluster_path}}/ocsp"}
    for method in ("post", "patch"):
        reply = send(pki, method, body)
        assert (reply.status_code, reply.json()["warnings"]) == (200, [WARNED]), reply.text
    reply = send(pki, "patch", {"enable_aia_url_templating": False})
    assert urls_part(pki, reply)["enable_aia_url_templating"] is True
    assert reply.json()["warnings"] == [WARNED]
    reply = pki.post("pki/issuer/default", {"enable_aia_url_templating": False,
                                            "ocsp_servers": "{{cluster_path}}/ocsp"})
    assert reply.json()["errors"] == ["invalid URL found in Authority Information Access "
                                      "(AIA) parameter ocsp_servers: {{cluster_path}}/ocsp"]


def test_the_issuers_urls_take_precedence_templated(pki: VaultHTTP) -> None:
    assert pki.post("pki/config/urls", STATIC).status_code == 200
    assert urls_of(issue(pki)["data"]["certificate"]) == STATIC_URLS
    issuer_id = pki.get("pki/issuer/default").json()["data"]["issuer_id"]
    body = {"enable_aia_url_templating": True,
            "issuing_certificates": "{{cluster_path}}/issuer/{{issuer_id}}/der",
            "crl_distribution_points": "{{cluster_path}}/issuer/{{issuer_id}}/crl/der",
            "ocsp_servers": "{{cluster_aia_path}}/ocsp"}
    assert pki.post("pki/issuer/default", body).status_code == 200
    assert pki.post("pki/config/cluster", {"path": "https://v.example.com/v1/pki",
                                           "aia_path": "http://aia.example.com/v1/pki"}
                    ).status_code == 200
    templated = {"aia": ["OCSP=http://aia.example.com/v1/pki/ocsp",
                         f"caIssuers=https://v.example.com/v1/pki/issuer/{issuer_id}/der"],
                 "crl": [f"https://v.example.com/v1/pki/issuer/{issuer_id}/crl/der"]}
    assert urls_of(issue(pki)["data"]["certificate"]) == templated
    for path in ("pki/sign/web", "pki/sign-verbatim"):
        reply = pki.post(path, {"csr": leaf_csr(), "ttl": "1h"})
        assert urls_of(reply.json()["data"]["certificate"]) == templated, reply.text
    assert pki.post("pki/issuer/default", {}).status_code == 200  # back to config/urls
    assert urls_of(issue(pki)["data"]["certificate"]) == STATIC_URLS


def test_ca_certificates_carry_the_signers_urls(pki: VaultHTTP) -> None:
    assert pki.post("pki/config/urls", STATIC).status_code == 200
    assert pki.post("pki/issuer/default", OWN).status_code == 200
    reply = pki.post("pki/root/sign-intermediate", {"csr": csr_pem(), "ttl": "1h"})
    assert urls_of(reply.json()["data"]["certificate"]) == OWN_URLS, reply.text
    other, _ = generated(pki, path="pki/issuers/generate/root/internal", issuer_name="other")
    assert urls_of(other["certificate"]) == STATIC_URLS  # a new root: config/urls
    reply = pki.post("pki/root/sign-self-issued", {"certificate": other["certificate"]})
    assert urls_of(reply.json()["data"]["certificate"]) == OWN_URLS, reply.text


def test_templating_refused_before_other_checks(pki: VaultHTTP) -> None:
    body = {"enable_aia_url_templating": True, "ocsp_servers": "{{cluster_path}}/ocsp"}
    assert pki.post("pki/issuer/default", body).status_code == 200
    wrong: list[tuple[str, dict[str, Any]]] = [
        ("pki/issue/web", {"common_name": "a.example.net"}),
        ("pki/issue/web", {"common_name": "a.example.com", "format": "bad"}),
        ("pki/issue/web", {"common_name": "a.example.com", "ttl": "-1"}),
        ("pki/sign/web", {"csr": "not a csr"}),
        ("pki/sign-verbatim", {"csr": "not a csr", "ttl": "-1"}),
        ("pki/root/sign-intermediate", {"csr": "not a csr"}),
    ]
    for path, fields in wrong:
        reply = pki.post(path, fields)
        assert (reply.status_code, reply.json()["errors"]) == (400, [multierror(REFUSED)]), path


def test_acme_certificates_carry_the_issuers_urls(vault: VaultHTTP, server: str,
                                                  dev_acme: dict[str, int]) -> None:
    base = enable_acme(vault, server)
    assert vault.post("pki/config/urls", STATIC).status_code == 200
    assert vault.post("pki/issuer/default", OWN).status_code == 200
    client = AcmeClient(f"{base}/roles/web/acme/directory")
    assert client.register().status_code == 201
    order = ready_order(client, "localhost", dev_acme["http"])
    final = client.post(order["finalize"], {"csr": csr_der(["localhost"])})
    assert final.json()["status"] == "valid", final.text
    leaf = client.post(final.json()["certificate"]).text.split("-----END CERTIFICATE-----")[0]
    assert urls_of(leaf + "-----END CERTIFICATE-----") == OWN_URLS

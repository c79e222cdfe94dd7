"""hvac's ``client.secrets.pki`` against our dev server and OpenBao 2.7.2's, call for call:
root, role, certificate, CA reads, issuers and an intermediate signed and set."""

from __future__ import annotations

from typing import Any

import hvac
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


def _walk(client: hvac.Client) -> dict[str, Any]:
    pki = client.secrets.pki
    for mount in ("hvac_pki", "hvac_int"):
        client.sys.disable_secrets_engine(mount)
        client.sys.enable_secrets_engine("pki", path=mount)
    root = pki.generate_root("internal", "Root CA", {"key_type": "ec"}, mount_point="hvac_pki")
    pki.create_or_update_role("web", {"allowed_domains": "example.com",
                                      "allow_subdomains": True, "key_type": "ec", "ttl": "1h"},
                              mount_point="hvac_pki")
    leaf = pki.generate_certificate("web", "a.example.com", mount_point="hvac_pki")
    ca_pem = pki.read_ca_certificate(mount_point="hvac_pki")
    chain = pki.read_ca_certificate_chain(mount_point="hvac_pki")
    issuers = pki.list_issuers(mount_point="hvac_pki")
    issuer = pki.read_issuer(root["data"]["issuer_id"], mount_point="hvac_pki")
    certs = pki.list_certificates(mount_point="hvac_pki")
    csr = pki.generate_intermediate("internal", "Int CA", {"key_type": "ec"},
                                    mount_point="hvac_int")
    signed = pki.sign_intermediate(csr["data"]["csr"], "Int CA",
                                   {"format": "pem_bundle", "ttl": "240h"},
                                   mount_point="hvac_pki")
    set_signed = pki.set_signed_intermediate(signed["data"]["certificate"],
                                             mount_point="hvac_int")
    role = pki.read_role("web", mount_point="hvac_pki")
    assert x509.load_pem_x509_certificate(ca_pem.encode())
    key = ec.generate_private_key(ec.SECP256R1())
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "b.example.com")])).sign(key, hashes.SHA256())
    csr_pem = request.public_bytes(serialization.Encoding.PEM).decode()
    signed_leaf = pki.sign_certificate("web", csr_pem, "b.example.com", mount_point="hvac_pki")
    verbatim = pki.sign_verbatim(csr_pem, extra_params={"ttl": "1h"}, mount_point="hvac_pki")
    read_back = pki.read_certificate(leaf["data"]["serial_number"], mount_point="hvac_pki")
    updated = pki.update_issuer(root["data"]["issuer_id"], {"issuer_name": "renamed"},
                                mount_point="hvac_pki")
    self_issued = pki.sign_self_issued(root["data"]["certificate"], mount_point="hvac_pki")
    roles = pki.list_roles(mount_point="hvac_pki")
    pki.delete_role("web", mount_point="hvac_pki")
    deleted = pki.delete_root(mount_point="hvac_int")
    return {
        "signed_leaf": sorted(signed_leaf["data"]), "verbatim": sorted(verbatim["data"]),
        "read_back": read_back["data"]["certificate"] == leaf["data"]["certificate"],
        "updated": updated["data"]["issuer_name"], "self_issued": sorted(self_issued["data"]),
        "roles": roles["data"]["keys"], "deleted": deleted["warnings"],
        "root": sorted(root["data"]), "leaf": sorted(leaf["data"]), "ca_pem": ca_pem.strip()
        == root["data"]["certificate"], "chain": chain.count("BEGIN CERTIFICATE"),
        "issuers": [sorted(v) for v in issuers["data"]["key_info"].values()],
        "issuer": sorted(issuer["data"]), "certs": len(certs["data"]["keys"]),
        "csr": sorted(csr["data"]), "signed": sorted(signed["data"]),
        "set_signed": sorted(set_signed["data"]),
        "imported": len(set_signed["data"]["imported_issuers"]), "role": role["data"],
    }


def test_hvac_pki_matches_openbao(dev_server: Server, openbao_dev: Server) -> None:
    ours, theirs = (_walk(hvac.Client(url=s.address, token=ROOT_TOKEN))
                    for s in (dev_server, openbao_dev))
    assert ours == theirs
    assert ours["ca_pem"] and ours["certs"] == 2 and ours["imported"] == 2

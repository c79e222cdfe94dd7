"""pki roles, issue/, sign/ and sign-verbatim over HTTP, and a root -> intermediate -> leaf
chain: every certificate parsed back, verified with cryptography's X.509 verifier and with
`openssl verify`; refusal texts as OpenBao 2.7.2's."""

from __future__ import annotations

import base64
import datetime
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from tests.api.test_userpass import add_user, auth_of
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault



@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/pki")  # the module's tests share a cluster
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    reply = vault.post("pki/root/generate/internal",
                       {"common_name": "Root CA", "key_type": "ec", "issuer_name": "root"})
    assert reply.status_code == 200, reply.text
    return vault


def role(pki: VaultHTTP, name: str = "web", **fields: object) -> dict:
    body = {"allowed_domains": "example.com", "allow_subdomains": True, "key_type": "ec",
            "ttl": "1h", **fields}
    reply = pki.post(f"pki/roles/{name}", body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def csr_for(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cn: str,
            sans: list[str] = ()) -> str:  # type: ignore[assignment]
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def verify_chain(leaf_pem: str, roots: list[str], intermediates: list[str], name: str) -> None:
    store = Store([load(p) for p in roots])
    verifier = PolicyBuilder().store(store).build_server_verifier(x509.DNSName(name))
    verifier.verify(load(leaf_pem), [load(p) for p in intermediates])


def openssl_verify(tmp_path: Path, root: str, leaf: str, untrusted: str = "") -> None:
    (tmp_path / "root.pem").write_text(root.strip() + "\n")
    (tmp_path / "leaf.pem").write_text(leaf.strip() + "\n")
    args = ["openssl", "verify", "-CAfile", str(tmp_path / "root.pem")]
    if untrusted:
        (tmp_path / "int.pem").write_text(untrusted.strip() + "\n")
        args += ["-untrusted", str(tmp_path / "int.pem")]
    result = subprocess.run([*args, str(tmp_path / "leaf.pem")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_role_defaults_as_openbao(pki: VaultHTTP) -> None:
    body = pki.post("pki/roles/r", {"allowed_domains": "example.com"}).json()
    data = pki.get("pki/roles/r").json()["data"]
    assert body["data"] == data
    assert data["key_type"] == "rsa" and data["key_bits"] == 2048
    assert data["signature_bits"] == 0 and data["not_before_duration"] == 30
    assert data["key_usage"] == ["DigitalSignature", "KeyAgreement", "KeyEncipherment"]
    assert data["cn_validations"] == ["email", "hostname"]
    assert data["issuer_ref"] == "default" and data["allow_localhost"] is True
    assert data["not_after_bound"] == "permit" and data["allowed_domains"] == ["example.com"]
    assert pki.list("pki/roles").json()["data"]["keys"] == ["r"]
    assert pki.delete("pki/roles/r").status_code == 204
    assert pki.get("pki/roles/r").status_code == 404


ROLE_REFUSALS = [
    ({"ttl": "2h", "max_ttl": "1h"}, '"ttl" value must be less than "max_ttl" value'),
    ({"key_type": "ec", "key_bits": 1}, "unsupported bit length for EC key: 1"),
    ({"allowed_other_sans": "1.2.3;bad"},
     'error parsing allowed_other_sans: expected a colon in other SAN "1.2.3;bad"'),
    ({"ext_key_usage_oids": "nope"},
     '"nope" could not be parsed as a valid oid for an extended key usage'),
    ({"not_after_bound": "soon"}, "Unknown value for field `not_after_bound`. Possible values "
                                  "are `permit`, `ttl-limited`, `forbid`, or an explicit "
                                  "timestamp."),
]


def test_role_refusals(pki: VaultHTTP) -> None:
    for body, message in ROLE_REFUSALS:
        reply = pki.post("pki/roles/bad", body)
        assert (reply.status_code, reply.json()) == (400, {"errors": [message]}), body


def test_cn_validations_refusal_has_openbao_s_words(pki: VaultHTTP) -> None:
    # OpenBao: a 500 (a multierror); the request caused it, so a 400 here.
    reply = pki.post("pki/roles/bad", {"cn_validations": "email,email"})
    assert (reply.status_code, reply.json()["errors"]) == (400, [
        "1 error occurred:\n\t* cn_validations value incorrect: `email` specified multiple "
        "times\n\n"])


def test_issue_within_the_role(pki: VaultHTTP, tmp_path: Path) -> None:
    role(pki, ttl="1h")
    reply = pki.post("pki/issue/web", {"common_name": "www.example.com",
                                       "alt_names": "api.example.com", "ip_sans": "10.0.0.1"})
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert set(data) == {"certificate", "issuing_ca", "ca_chain", "private_key",
                         "private_key_type", "serial_number", "expiration", "not_before"}
    assert data["private_key_type"] == "ec"
    leaf = load(data["certificate"])
    root_pem = data["issuing_ca"]
    assert data["ca_chain"] == [root_pem]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.example.com", "api.example.com"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.1"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_agreement and usage.key_encipherment
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert lifetime == datetime.timedelta(hours=1, seconds=30)
    key = serialization.load_pem_private_key(data["private_key"].encode(), None)
    assert key.public_key() == leaf.public_key()
    verify_chain(data["certificate"], [root_pem], [], "www.example.com")
    openssl_verify(tmp_path, root_pem, data["certificate"])
    # Stored: one item per serial, listed and readable unauthenticated.
    assert data["serial_number"] in pki.list("pki/certs").json()["data"]["keys"]
    stored = pki.get(f"pki/cert/{data['serial_number']}", token="").json()["data"]
    assert stored["certificate"] == data["certificate"]


ISSUE_REFUSALS = [
    ({"common_name": "www.other.com"}, "common name www.other.com not allowed by this role"),
    ({"common_name": "example.com"}, "common name example.com not allowed by this role"),
    ({"common_name": "a.example.com", "alt_names": "b.other.com"},
     "subject alternate name b.other.com not allowed by this role"),
    ({"common_name": "a.example.com", "alt_names": "x@other.com"},
     "email address x@other.com not allowed by this role"),
    ({"common_name": "a.example.com", "ip_sans": "nope"},
     'the value "nope" is not a valid IP address'),
    ({"common_name": "a.example.com", "uri_sans": "spiffe://x"},
     "URI Subject Alternative Names are not allowed in this role, but were provided via the "
     "API"),
    ({"common_name": "a.example.com", "other_sans": "1.2.3.4;UTF8:x"},
     "other SAN OID 1.2.3.4 not allowed by this role"),
    ({}, 'the common_name field is required, or must be provided in a CSR with '
         '"use_csr_common_name" set to true, unless "require_cn" is set to false'),
    ({"common_name": "a.example.com", "ttl": "1h", "not_after": "2030-01-01T00:00:00Z"},
     "Either ttl or not_after should be provided. Both should not be provided in the same "
     "request."),
    ({"common_name": "a.example.com", "format": "p12"},
     'the "format" path parameter must be "pem", "der", or "pem_bundle"'),
]


def test_issue_refusals(pki: VaultHTTP) -> None:
    role(pki)
    for body, message in ISSUE_REFUSALS:
        reply = pki.post("pki/issue/web", body)
        assert (reply.status_code, reply.json()) == (400, {"errors": [message]}), body


def test_unknown_role_and_role_limits(pki: VaultHTTP) -> None:
    reply = pki.post("pki/issue/nope", {"common_name": "x"})
    assert reply.json() == {"errors": ["unknown role: nope"]}
    role(pki, "bare", allow_bare_domains=True, allow_subdomains=False,
         allow_wildcard_certificates=False, allow_ip_sans=False)
    assert pki.post("pki/issue/bare", {"common_name": "example.com"}).status_code == 200
    for cn in ("*.example.com", "a.example.com"):
        reply = pki.post("pki/issue/bare", {"common_name": cn})
        assert reply.json() == {"errors": [f"common name {cn} not allowed by this role"]}
    reply = pki.post("pki/issue/bare", {"common_name": "example.com", "ip_sans": "1.1.1.1"})
    assert reply.json() == {"errors": ["IP Subject Alternative Names are not allowed in this "
                                       "role, but was provided via the API"]}
    role(pki, "glob", allowed_domains="*.svc.local", allow_glob_domains=True)
    assert pki.post("pki/issue/glob", {"common_name": "db.svc.local"}).status_code == 200
    role(pki, "any", allow_any_name=True, enforce_hostnames=True)
    reply = pki.post("pki/issue/any", {"common_name": "bad_name!"})
    assert reply.json() == {"errors": ["common name bad_name! not allowed by this role"]}
    role(pki)
    assert pki.post("pki/issue/web", {"common_name": "localhost"}).status_code == 200


def test_ttl_beyond_the_ca_follows_leaf_not_after_behavior(pki: VaultHTTP) -> None:
    role(pki, max_ttl="87600h")
    reply = pki.post("pki/issue/web", {"common_name": "a.example.com", "ttl": "8000h"})
    assert reply.status_code == 400
    assert reply.json()["errors"][0].startswith("cannot satisfy request, as TTL would result in "
                                                "notAfter of ")
    pki.post("pki/issuer/root", {"leaf_not_after_behavior": "truncate"})
    data = pki.post("pki/issue/web", {"common_name": "a.example.com", "ttl": "8000h"}).json()
    assert load(data["data"]["certificate"]).not_valid_after_utc == load(
        data["data"]["issuing_ca"]).not_valid_after_utc


def test_formats_and_no_store(pki: VaultHTTP) -> None:
    role(pki, no_store=True)
    data = pki.post("pki/issue/web", {"common_name": "a.example.com", "format": "der",
                                      "private_key_format": "pkcs8"}).json()["data"]
    cert = x509.load_der_x509_certificate(base64.b64decode(data["certificate"]))
    serialization.load_der_private_key(base64.b64decode(data["private_key"]), None)
    assert pki.get(f"pki/cert/{data['serial_number']}").status_code == 404
    assert cert.subject.rfc4514_string() == "CN=a.example.com"
    bundle = pki.post("pki/issue/web", {"common_name": "a.example.com",
                                        "format": "pem_bundle"}).json()["data"]
    assert bundle["certificate"].startswith("-----BEGIN EC PRIVATE KEY-----")
    assert bundle["certificate"].count("BEGIN CERTIFICATE") == 2


def test_sign_checks_the_csr_key_and_names(pki: VaultHTTP, tmp_path: Path) -> None:
    role(pki)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = csr_for(key, "svc.example.com", ["svc.example.com", "alt.example.com"])
    data = pki.post("pki/sign/web", {"csr": csr, "common_name": "ignored.example.com"}).json()
    assert data["warnings"] == ['the common_name field was provided but the role is set with '
                                '"use_csr_common_name" set to true']
    leaf = load(data["data"]["certificate"])
    assert leaf.public_key() == key.public_key() and "private_key" not in data["data"]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"svc.example.com", "alt.example.com"}
    openssl_verify(tmp_path, data["data"]["issuing_ca"], data["data"]["certificate"])
    bad = csr_for(ec.generate_private_key(ec.SECP256R1()), "svc.other.com")
    reply = pki.post("pki/sign/web", {"csr": bad})
    assert reply.json() == {"errors": ["common name svc.other.com not allowed by this role"]}
    reply = pki.post("pki/sign/web", {"csr": csr_for(_rsa_key(), "x.example.com")})
    assert reply.json() == {"errors": ["role requires keys of type ec"]}
    role(pki, "big", key_type="ec", key_bits=384)
    reply = pki.post("pki/sign/big", {"csr": csr})
    assert reply.json() == {"errors": ["role requires a minimum of a 384-bit key, but CSR's key "
                                       "is 256 bits"]}
    assert pki.post("pki/sign/web", {"csr": ""}).json() == {"errors": ['"csr" is empty']}
    assert pki.post("pki/sign/web", {"csr": "junk"}).json() == {"errors": ["csr contains no data"]}


def test_sign_verbatim_keeps_the_csr_subject(pki: VaultHTTP) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = csr_for(key, "anything at all", ["whatever.test"])
    data = pki.post("pki/sign-verbatim", {"csr": csr, "ttl": "1h"}).json()["data"]
    leaf = load(data["certificate"])
    assert leaf.subject.rfc4514_string() == "CN=anything at all"
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["whatever.test"]
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_root_intermediate_leaf_chain(pki: VaultHTTP, tmp_path: Path) -> None:
    root_pem = pki.get("pki/ca/pem").text
    assert pki.post("sys/mounts/pki_int", {"type": "pki"}).status_code == 204
    csr = pki.post("pki_int/intermediate/generate/internal",
                   {"common_name": "Intermediate CA", "key_type": "ec"}).json()["data"]
    assert set(csr) == {"csr", "key_id"}
    signed = pki.post("pki/root/sign-intermediate",
                      {"csr": csr["csr"], "format": "pem_bundle", "ttl": "240h"}).json()
    int_pem = signed["data"]["certificate"]
    assert signed["data"]["ca_chain"] == [int_pem.split("\n-----BEGIN")[0], root_pem]
    cert = load(int_pem)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    imported = pki.post("pki_int/intermediate/set-signed", {"certificate": int_pem}).json()
    data = imported["data"]
    assert len(data["imported_issuers"]) == 2 and data["imported_keys"] is None
    issuer_id = next(i for i, k in data["mapping"].items() if k)
    assert data["mapping"][issuer_id] == csr["key_id"]
    assert pki.get("pki_int/config/issuers").json()["data"]["default"] == issuer_id
    chain = pki.get("pki_int/issuer/default").json()["data"]["ca_chain"]
    assert [c.strip() for c in chain] == [int_pem.split("\n-----BEGIN")[0], root_pem]
    pki.post("pki_int/roles/leaf", {"allowed_domains": "example.com", "allow_subdomains": True,
                                    "key_type": "ec", "ttl": "1h"})
    leaf = pki.post("pki_int/issue/leaf", {"common_name": "app.example.com"}).json()["data"]
    assert leaf["issuing_ca"].strip() == int_pem.split("\n-----BEGIN")[0]
    assert len(leaf["ca_chain"]) == 2
    verify_chain(leaf["certificate"], [root_pem], [leaf["issuing_ca"]], "app.example.com")
    openssl_verify(tmp_path, root_pem, leaf["certificate"], leaf["issuing_ca"])
    again = pki.post("pki_int/issuers/import/bundle", {"pem_bundle": int_pem}).json()["data"]
    assert again["imported_issuers"] is None and len(again["existing_issuers"]) == 2
    assert pki.get("pki_int/cert/ca_chain").json()["data"]["ca_chain"].count("BEGIN") == 2


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_policies_and_user_ids(pki: VaultHTTP) -> None:
    policy = '[{"oid": "1.3.6.1.4.1.44947.1.2.3", "cps": "https://example.com/cps", ' \
             '"notice": "test notice"}]'
    role(pki, policy_identifiers=policy, allowed_user_ids="alice,svc-*")
    data = pki.get("pki/roles/web").json()["data"]
    assert data["policy_identifiers"] == ['{"oid":"1.3.6.1.4.1.44947.1.2.3","cps":'
                                          '"https://example.com/cps","notice":"test notice"}']
    issued = pki.post("pki/issue/web", {"common_name": "a.example.com",
                                        "user_ids": "alice,svc-db"}).json()["data"]
    cert = load(issued["certificate"])
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.USER_ID)] == [
        "alice", "svc-db"]
    info = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value[0]
    assert info.policy_identifier.dotted_string == "1.3.6.1.4.1.44947.1.2.3"
    assert info.policy_qualifiers[0] == "https://example.com/cps"
    assert info.policy_qualifiers[1].explicit_text == "test notice"
    reply = pki.post("pki/issue/web", {"common_name": "a.example.com", "user_ids": "mallory"})
    assert reply.json() == {"errors": ["user_id mallory is not allowed by this role"]}


def test_role_patch_changes_only_what_it_names(pki: VaultHTTP) -> None:
    role(pki, max_ttl="2h")
    reply = pki.request("PATCH", "pki/roles/web", {"allow_bare_domains": True},
                        headers={"Content-Type": "application/merge-patch+json"})
    data = reply.json()["data"]
    assert data["allow_bare_domains"] is True and data["max_ttl"] == 7200
    assert data["allowed_domains"] == ["example.com"] and data["key_type"] == "ec"
    reply = pki.request("PATCH", "pki/roles/none", {"ttl": "1h"},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert reply.json() == {"errors": ["Unable to fetch role entry to patch"]}


def test_issuer_scoped_paths_and_existing_keys(pki: VaultHTTP) -> None:
    role(pki)
    second = pki.post("pki/root/generate/internal", {"common_name": "Second", "key_type": "ec",
                                                     "issuer_name": "second"}).json()["data"]
    data = pki.post("pki/issuer/second/issue/web",
                    {"common_name": "a.example.com"}).json()["data"]
    assert data["issuing_ca"] == second["certificate"]
    default = pki.post("pki/issue/web", {"common_name": "a.example.com"}).json()["data"]
    assert default["issuing_ca"] != second["certificate"]  # the role's issuer: the default
    csr = csr_for(ec.generate_private_key(ec.SECP256R1()), "b.example.com")
    signed = pki.post("pki/issuer/second/sign/web", {"csr": csr}).json()["data"]
    assert load(signed["certificate"]).issuer == load(second["certificate"]).subject
    # A CSR for a key the mount already holds.
    again = pki.post("pki/intermediate/generate/existing",
                     {"common_name": "Again", "key_ref": second["key_id"]}).json()["data"]
    assert again["key_id"] == second["key_id"]
    request = x509.load_pem_x509_csr(again["csr"].encode())
    assert request.public_key() == load(second["certificate"]).public_key()


def test_certs_list_pages(pki: VaultHTTP) -> None:
    role(pki)
    for _ in range(3):
        pki.post("pki/issue/web", {"common_name": "a.example.com"})
    keys = pki.list("pki/certs").json()["data"]["keys"]
    assert len(keys) == 4 and keys == sorted(keys)  # the root's own and three leaves
    page = pki.list("pki/certs", params={"after": keys[1], "limit": 1}).json()["data"]["keys"]
    assert page == [keys[2]]


def test_rsa_leaves_and_pss(pki: VaultHTTP) -> None:
    pki.post("pki/roles/rsa", {"allow_any_name": True, "ttl": "1h"})  # OpenBao's rsa default
    data = pki.post("pki/issue/rsa", {"common_name": "rsa.test"}).json()["data"]
    assert data["private_key_type"] == "rsa"
    assert data["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert load(data["certificate"]).public_key().key_size == 2048
    rsa_root = pki.post("pki/root/generate/internal", {"common_name": "RSA Root",
                                                       "issuer_name": "rsa-root"}).json()
    assert load(rsa_root["data"]["certificate"]).signature_hash_algorithm.name == "sha256"
    pki.post("pki/roles/pss", {"allow_any_name": True, "ttl": "1h", "key_type": "ec",
                               "use_pss": True, "issuer_ref": "rsa-root"})
    leaf = load(pki.post("pki/issue/pss", {"common_name": "pss.test"}).json()["data"][
        "certificate"])
    assert leaf.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.RSASSA_PSS
    leaf.verify_directly_issued_by(load(rsa_root["data"]["certificate"]))


def test_chain_trimming_and_cn_exclusion(pki: VaultHTTP) -> None:
    role(pki)
    data = pki.post("pki/issue/web", {"common_name": "a.example.com",
                                      "exclude_cn_from_sans": True,
                                      "remove_roots_from_chain": True}).json()["data"]
    assert "ca_chain" not in data  # the only CA is a root
    cert = load(data["certificate"])
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "a.example.com"


def test_templated_domains_follow_the_callers_entity(pki: VaultHTTP) -> None:
    assert pki.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    accessor = pki.get("sys/auth").json()["data"]["userpass/"]["accessor"]
    pki.post("sys/policies/acl/issuer", {"policy": 'path "pki/issue/*" {capabilities = '
                                                   '["update"]}'})
    add_user(pki, "alice", policies="issuer")
    token = auth_of(pki, "alice")["client_token"]
    role(pki, allowed_domains="{{identity.entity.aliases." + accessor + ".name}}.example.com",
         allowed_domains_template=True, allow_bare_domains=True, allow_subdomains=False)
    reply = pki.post("pki/issue/web", {"common_name": "alice.example.com"}, token=token)
    assert reply.status_code == 200, reply.text
    reply = pki.post("pki/issue/web", {"common_name": "bob.example.com"}, token=token)
    assert reply.json() == {"errors": ["common name bob.example.com not allowed by this role"]}


def test_not_before_bounds(pki: VaultHTTP) -> None:
    start = "2026-01-01T00:00:00Z"
    role(pki, not_before_bound="forbid")
    reply = pki.post("pki/issue/web", {"common_name": "a.example.com", "not_before": start})
    assert reply.json() == {"errors": ["not_before_bound is set to forbid. not_before cannot be "
                                       "provided."]}
    role(pki)  # permit: the requested start is used
    data = pki.post("pki/issue/web", {"common_name": "a.example.com",
                                      "not_before": start}).json()["data"]
    assert load(data["certificate"]).not_valid_before_utc.isoformat() == "2026-01-01T00:00:00+00:00"
    csr = pki.post("pki/intermediate/generate/internal",
                   {"common_name": "CSR CA", "key_type": "ec",
                    "add_basic_constraints": True}).json()["data"]["csr"]
    request = x509.load_pem_x509_csr(csr.encode())
    assert request.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    signed = pki.post("pki/root/sign-intermediate", {"csr": csr, "ttl": "24h",
                                                     "not_before": start}).json()["data"]
    assert load(signed["certificate"]).not_valid_before_utc.year == 2026


def test_subject_strings_are_encoded_as_go_encodes_them(pki: VaultHTTP) -> None:
    role(pki, organization="Acme Ü")
    cert = load(pki.post("pki/issue/web", {"common_name": "a.example.com"}).json()["data"][
        "certificate"])
    der = cert.subject.public_bytes()
    assert b"\x13\x0da.example.com" in der  # PrintableString
    assert b"\x0c\x07Acme \xc3\x9c" in der  # UTF8String where PrintableString cannot hold it


def test_a_warm_issue_costs_one_first_read_two_reads_and_two_writes(
    pki: VaultHTTP, calls: Counter[str]
) -> None:
    role(pki)
    pki.post("pki/issue/web", {"common_name": "a.example.com"})  # warms this container
    calls.clear()
    assert pki.post("pki/issue/web", {"common_name": "b.example.com"}).status_code == 200
    # The token, cluster state, role and default-issuer config in the first BatchGetItem;
    # then the issuer and its key; then the certificate's entry with its certs/ index item
    # (one transaction), and the `ADD gen 1` on the certs/ folder marker that every new
    # key in a folder costs (see the storage notes: that marker is the mount's one shared
    # write per issue).
    writes = {"TransactWriteItems": 1, "UpdateItem": 1}
    assert dict(calls) == {"BatchGetItem": 1, "GetItem": 2, **writes}

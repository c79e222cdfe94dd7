"""pki through the real `bao` CLI, side by side with OpenBao 2.7.2's `bao server -dev`:
a root and an intermediate on two mounts, roles, issue and sign inside and outside the
role's limits (same refusals, byte for byte), the issuers list and the CA chain."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same

pytestmark = pytest.mark.compat


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    servers = [module_dev_server, openbao_dev]
    for server in servers:
        for mount in ("pki", "pki_int"):
            server.bao("secrets", "disable", mount)  # both servers serve the whole module
            server.bao("secrets", "enable", f"-path={mount}", "pki")
    return servers


def each(servers: list[Server], *args: str) -> list[dict[str, Any]]:
    """``bao args -format=json`` on both, both succeeding; their JSON answers."""
    results = [server.bao(*args[:1], "-format=json", *args[1:]) for server in servers]
    return [result.json() for result in results]  # type: ignore[misc]


# Requests that change nothing (refusals and reads), each answered alike by both servers;
# they run concurrently, a few at a time.
_GENERATE = ("write", "pki/root/generate/internal", "common_name=x")
REFUSALS_BEFORE_ROLES = [
    (*_GENERATE, "key_type=ec", "key_bits=5"), (*_GENERATE, "format=bad"),
    (*_GENERATE, "key_type=ec", "key_bits=5", "issuer_name=a b"),
    (*_GENERATE, "issuer_name=root", "key_type=ec"),
    (*_GENERATE, "issuer_name=default", "key_type=ec"),
    ("write", "pki/root/generate/bogus", "common_name=x"),
    ("write", "pki/roles/bad", "ttl=2h", "max_ttl=1h"),
    ("write", "pki/roles/bad", "cn_validations=email,email"),
    ("patch", "pki/roles/none", "ttl=1h"),
    ("write", "pki/issue/nope", "common_name=x"),
    ("read", "pki/issuer/nope"), ("read", "pki/key/nope"),
    ("write", "pki/issuer/root", "issuer_name=root", "usage=nope"),
    ("write", "pki/issuer/root", "issuer_name=root",
     "revocation_signature_algorithm=SHA256WithRSA"),
    ("write", "pki/issuer/root", "issuer_name=root", "manual_chain=nope"),
    ("write", "pki/issuer/root", "issuer_name=root", "leaf_not_after_behavior=never"),
    ("write", "pki/root/replace"),
    ("write", "pki/config/issuers", "default_follows_latest_issuer=true"),
    ("write", "pki/root/sign-self-issued", "certificate=junk"),
    ("write", "pki/issuers/import/bundle", "pem_bundle=short"),
    ("write", "pki/issuers/import/bundle"), ("write", "pki/intermediate/set-signed"),
]
ISSUE_REFUSALS = [
    ("write", "pki/issue/web", *refused.split())
    for refused in ("common_name=www.other.com", "common_name=example.com",
                    "common_name=a.example.com alt_names=b.other.com",
                    "common_name=a.example.com ip_sans=nope",
                    "common_name=a.example.com uri_sans=spiffe://x",
                    "common_name=a.example.com other_sans=1.2.3.4;UTF8:x",
                    "alt_names=a.example.com")
] + [("write", "pki/sign/web", "csr="), ("write", "pki/sign/web", "csr=junk"),
     ("write", "pki/issue/policy", "common_name=x", "user_ids=bob")]


def all_same(servers: list[Server], commands: list[tuple[str, ...]]) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda args: same(servers, *args, their_500=True), commands))


def _csr_file(tmp_path: Path, name: str, key: Any, common_name: str) -> str:
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])).sign(key, hashes.SHA256())
    path = tmp_path / name
    path.write_bytes(request.public_bytes(serialization.Encoding.PEM))
    return f"csr=@{path}"


def test_root_roles_and_refusals_match_openbao(both: list[Server], tmp_path: Path) -> None:
    ours, theirs = each(both, "write", "pki/root/generate/internal", "common_name=Root CA",
                        "key_type=ec", "issuer_name=root", "ttl=720h")
    assert set(ours["data"]) == set(theirs["data"])
    assert ours["warnings"] == theirs["warnings"]
    all_same(both, REFUSALS_BEFORE_ROLES)
    same(both, "write", "-format=json", "pki/roles/web", "allowed_domains=example.com",
         "allow_subdomains=true", "key_type=ec", "ttl=1h")
    same(both, "write", "-format=json", "pki/roles/policy",
         'policy_identifiers=[{"oid": "1.3.6.1.4.1.7.8", "cps": "https://example.com/cps", '
         '"notice": "hi"}]', "allowed_user_ids=alice", "allow_any_name=true", "ttl=1h")
    same(both, "write", "-format=json", "pki/roles/oids", "policy_identifiers=1.2.3.4,1.2.3.5")
    same(both, "patch", "-format=json", "pki/roles/oids", "allow_any_name=true")
    same(both, "write", "-format=json", "pki/roles/any", "key_type=any", "allow_any_name=true",
         "ttl=1h")
    same(both, "write", "-format=json", "pki/roles/big", "key_type=ec", "key_bits=384",
         "allow_any_name=true", "ttl=1h")
    rsa_csr = _csr_file(tmp_path, "rsa.csr", rsa.generate_private_key(65537, 2048), "a.example.com")
    ec_csr = _csr_file(tmp_path, "ec.csr", ec.generate_private_key(ec.SECP256R1()), "x.other")
    all_same(both, [*ISSUE_REFUSALS, ("read", "-format=json", "pki/roles/web"),
                    ("list", "-format=json", "pki/roles"),
                    ("write", "pki/issue/any", "common_name=x"),
                    ("write", "pki/sign/web", rsa_csr), ("write", "pki/sign/web", ec_csr),
                    ("write", "pki/sign/big", ec_csr)])
    ours, theirs = each(both, "write", "pki/issue/web", "common_name=a.example.com")
    assert set(ours["data"]) == set(theirs["data"])
    ours, theirs = each(both, "list", "pki/issuers")
    assert len(ours) == len(theirs) == 1
    ours, theirs = each(both, "read", "pki/issuer/root")
    assert set(ours["data"]) == set(theirs["data"])
    for name in ("usage", "leaf_not_after_behavior", "revocation_signature_algorithm",
                 "issuer_name", "manual_chain", "revoked"):
        assert ours["data"][name] == theirs["data"][name], name
    for args in (("pki/root/generate/exported", "common_name=E", "key_type=ed25519",
                  "format=pem_bundle", "private_key_format=pkcs8", "max_path_length=0"),
                 ("pki/issue/web", "common_name=a.example.com", "format=der"),
                 ("pki/issue/web", "common_name=a.example.com", "format=pem_bundle",
                  "key_type=rsa")):
        ours, theirs = each(both, "write", *args)
        assert (set(ours["data"]), ours["warnings"]) == (set(theirs["data"]),
                                                          theirs["warnings"]), args
        assert ours["data"]["certificate"].count("BEGIN") == theirs["data"][
            "certificate"].count("BEGIN"), args
    ours, theirs = each(both, "write", "pki/config/issuers", "default=root")
    assert ours["data"].keys() == theirs["data"].keys() and ours["warnings"] == theirs["warnings"]


_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _shape(value: Any) -> Any:
    """A response's structure: keys, types and list lengths, not its random values."""
    if isinstance(value, dict):
        return sorted((_UUID.sub("<id>", k), _shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return [len(value)]
    return type(value).__name__


def _intermediate_walk(server: Server) -> dict[str, Any]:
    """Root, intermediate CSR, signing, imports, reads, a leaf and the `bao pki` helpers."""
    server.bao("write", "pki/root/generate/internal", "common_name=Root CA", "key_type=ec",
               "ttl=100h", "issuer_name=root")
    csr = server.bao("write", "-format=json", "pki_int/intermediate/generate/internal",
                     "common_name=Int CA", "key_type=ec").json()["data"]["csr"]
    signed = server.bao("write", "-format=json", "pki/root/sign-intermediate", f"csr={csr}",
                        "ttl=50h", "format=pem_bundle").json()
    pem = signed["data"]["certificate"]
    first = server.bao("write", "-format=json", "pki_int/intermediate/set-signed",
                       f"certificate={pem}")
    again = server.bao("write", "-format=json", "pki_int/issuers/import/cert",
                       f"pem_bundle={pem}")
    reads = [server.bao("read", "-format=json", path).json() for path in (
        "pki_int/issuer/default", "pki_int/key/default", "pki_int/cert/ca_chain",
        "pki_int/cert/ca", "pki/cert/ca_chain")]
    server.bao("write", "pki_int/roles/leaf", "allowed_domains=example.com",
               "allow_subdomains=true", "key_type=ec", "ttl=1h")
    leaf = server.bao("write", "-format=json", "pki_int/issue/leaf",
                      "common_name=app.example.com").json()["data"]
    renamed = server.bao("write", "-format=json", "pki_int/key/default", "key_name=").json()
    in_use = server.bao("delete", "pki_int/key/default", check=False)
    server.bao("pki", "issue", "-issuer_name=int2", "/pki/issuer/root", "/pki_int/",
               "common_name=Int2", "key_type=ec", "ttl=50h")
    verify = server.bao("pki", "verify-sign", "/pki/issuer/root", "/pki_int/issuer/int2")
    listed = server.bao("pki", "list-intermediates", "/pki/issuer/root")
    return {
        "signed": (_shape(signed["data"]), signed["warnings"]),
        "imports": [(_shape(r.json()["data"]), r.json()["warnings"]) for r in (first, again)],
        "reads": [_shape(r["data"]) for r in reads],
        "issuer": {k: reads[0]["data"][k] for k in (
            "revocation_signature_algorithm", "usage", "manual_chain", "issuer_name")},
        "chain_is_certificate": reads[2]["data"]["ca_chain"] == reads[2]["data"]["certificate"],
        "leaf_chain": [x509.load_pem_x509_certificate(p.encode()).subject.rfc4514_string()
                       for p in leaf["ca_chain"]],
        "renamed": (_shape(renamed["data"]), len(renamed["warnings"])),
        "in_use": (in_use.code, in_use.err.split("Issuer: ")[0].replace(server.address, "")),
        "verify": sorted(verify.out.splitlines()),
        "intermediates": sorted(line.split()[-1] for line in listed.out.splitlines()[2:]
                                if line.strip()),
    }


def test_intermediates_imports_and_helpers_match_openbao(both: list[Server]) -> None:
    """One walk per server, compared part by part: shapes and texts agree, and `bao pki
    issue`, `verify-sign` and `list-intermediates` work on both."""
    ours, theirs = (_intermediate_walk(server) for server in both)
    for name in ours:
        assert ours[name] == theirs[name], (name, ours[name], theirs[name])
    assert ours["leaf_chain"] == ["CN=Int CA", "CN=Root CA"]
    assert "signature_match    true" in ours["verify"]
    assert ours["intermediates"] and set(ours["intermediates"]) == {"true"}


_AIA_FIELDS = ("issuing_certificates", "crl_distribution_points",
               "delta_crl_distribution_points", "ocsp_servers", "enable_aia_url_templating")


def _freshest(server: Server) -> list[str]:
    reply = requests.get(f"{server.address}/v1/pki/crl", timeout=30)
    crl = x509.load_der_x509_crl(reply.content)
    try:
        points = crl.extensions.get_extension_for_class(x509.FreshestCRL).value
    except x509.ExtensionNotFound:
        return []
    return [p.full_name[0].value for p in points if p.full_name]


def test_issuer_urls_match_openbao(both: list[Server]) -> None:
    """issuer/<ref>'s own AIA URLs: POST and PATCH answers, refusals, the templating
    warning, issuance refusing a templating failure before the request's own faults, and
    the Freshest CRL extension of the complete CRL."""
    each(both, "write", "pki/root/generate/internal", "common_name=Root CA", "key_type=ec",
         "issuer_name=root", "ttl=720h")
    each(both, "write", "pki/roles/web", "allowed_domains=example.com", "allow_subdomains=true",
         "key_type=ec", "ttl=1h")
    all_same(both, [("write", "pki/issuer/root", "issuer_name=root", "crl_distribution_points=x"),
                    ("patch", "pki/issuer/root", "ocsp_servers=x")])
    steps = [
        ("write", "pki/issuer/root", "issuer_name=root", "issuing_certificates=http://a/x",
         "delta_crl_distribution_points=http://d/x"),
        ("patch", "pki/issuer/root", "delta_crl_distribution_points=http://d/y"),
        ("write", "pki/issuer/root", "issuer_name=root", "ocsp_servers=http://o/x"),
        ("patch", "pki/issuer/root", "enable_aia_url_templating=true",
         "ocsp_servers={{cluster_path}}/ocsp"),
        ("patch", "pki/issuer/root", "enable_aia_url_templating=false"),
    ]
    for step in steps:
        ours, theirs = each(both, *step)
        assert ({k: ours["data"].get(k) for k in _AIA_FIELDS}, ours["warnings"]) == (
            {k: theirs["data"].get(k) for k in _AIA_FIELDS}, theirs["warnings"]), step
    all_same(both, [("write", "pki/issue/web", "common_name=www.other.com"),
                    ("write", "pki/issue/web", "common_name=a.example.com", "format=bad")])
    each(both, "write", "pki/issuer/root", "issuer_name=root", "ocsp_servers=http://o/x")
    each(both, "patch", "pki/issuer/root", "delta_crl_distribution_points=http://d/z")
    each(both, "read", "pki/crl/rotate")
    assert _freshest(both[0]) == _freshest(both[1]) == ["http://d/z"]

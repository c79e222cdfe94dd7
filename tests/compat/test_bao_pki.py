"""pki through the real `bao` CLI, side by side with OpenBao 2.7.2's `bao server -dev`:
a root and an intermediate on two mounts, roles, issue and sign inside and outside the
role's limits (same refusals, byte for byte), the issuers list and the CA chain."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cryptography import x509

from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same

pytestmark = pytest.mark.compat


@pytest.fixture
def both(dev_server: Server, openbao_dev: Server) -> list[Server]:
    servers = [dev_server, openbao_dev]
    for server in servers:
        for mount in ("pki", "pki_int"):
            server.bao("secrets", "disable", mount)  # the OpenBao server is shared
            server.bao("secrets", "enable", f"-path={mount}", "pki")
    return servers


def each(servers: list[Server], *args: str) -> list[dict[str, Any]]:
    """``bao args -format=json`` on both, both succeeding; their JSON answers."""
    results = [server.bao(*args[:1], "-format=json", *args[1:]) for server in servers]
    return [result.json() for result in results]  # type: ignore[misc]


def test_root_roles_and_refusals_match_openbao(both: list[Server]) -> None:
    ours, theirs = each(both, "write", "pki/root/generate/internal", "common_name=Root CA",
                        "key_type=ec", "issuer_name=root", "ttl=720h")
    assert set(ours["data"]) == set(theirs["data"])
    assert ours["warnings"] == theirs["warnings"]
    for bad in ("key_type=ec key_bits=5", "format=bad", "issuer_name=root key_type=ec",
                "issuer_name=default key_type=ec"):
        same(both, "write", "pki/root/generate/internal", "common_name=x", *bad.split())
    same(both, "write", "pki/root/generate/bogus", "common_name=x")
    same(both, "write", "-format=json", "pki/roles/web", "allowed_domains=example.com",
         "allow_subdomains=true", "key_type=ec", "ttl=1h")
    same(both, "read", "-format=json", "pki/roles/web")
    same(both, "list", "-format=json", "pki/roles")
    same(both, "write", "-format=json", "pki/roles/policy",
         'policy_identifiers=[{"oid": "1.3.6.1.4.1.7.8", "cps": "https://example.com/cps", '
         '"notice": "hi"}]', "allowed_user_ids=alice", "allow_any_name=true", "ttl=1h")
    same(both, "write", "-format=json", "pki/roles/oids", "policy_identifiers=1.2.3.4,1.2.3.5")
    same(both, "write", "pki/issue/policy", "common_name=x", "user_ids=bob")
    same(both, "patch", "-format=json", "pki/roles/oids", "allow_any_name=true")
    same(both, "patch", "pki/roles/none", "ttl=1h")
    same(both, "write", "pki/roles/bad", "ttl=2h", "max_ttl=1h")
    same(both, "write", "pki/roles/bad", "cn_validations=email,email")
    for refused in ("common_name=www.other.com", "common_name=example.com",
                    "common_name=a.example.com alt_names=b.other.com",
                    "common_name=a.example.com ip_sans=nope",
                    "common_name=a.example.com uri_sans=spiffe://x",
                    "common_name=a.example.com other_sans=1.2.3.4;UTF8:x",
                    "alt_names=a.example.com"):
        same(both, "write", "pki/issue/web", *refused.split())
    same(both, "write", "pki/issue/nope", "common_name=x")
    ours, theirs = each(both, "write", "pki/issue/web", "common_name=a.example.com")
    assert set(ours["data"]) == set(theirs["data"])
    ours, theirs = each(both, "list", "pki/issuers")
    assert len(ours) == len(theirs) == 1
    ours, theirs = each(both, "read", "pki/issuer/root")
    assert set(ours["data"]) == set(theirs["data"])
    for name in ("usage", "leaf_not_after_behavior", "revocation_signature_algorithm",
                 "issuer_name", "manual_chain", "revoked"):
        assert ours["data"][name] == theirs["data"][name], name
    same(both, "read", "pki/issuer/nope")
    same(both, "read", "pki/key/nope")
    same(both, "write", "pki/issuer/root", "issuer_name=root", "usage=nope")
    same(both, "write", "pki/issuer/root", "issuer_name=root",
         "revocation_signature_algorithm=SHA256WithRSA")
    same(both, "write", "pki/issuer/root", "issuer_name=root", "manual_chain=nope")
    same(both, "write", "pki/issuer/root", "issuer_name=root",
         "leaf_not_after_behavior=never")
    same(both, "write", "pki/root/replace")
    same(both, "write", "pki/config/issuers", "default_follows_latest_issuer=true")
    ours, theirs = each(both, "write", "pki/config/issuers", "default=root")
    assert ours["data"].keys() == theirs["data"].keys() and ours["warnings"] == theirs["warnings"]
    same(both, "write", "pki/root/sign-self-issued", "certificate=junk")
    same(both, "write", "pki/sign/web", "csr=")
    same(both, "write", "pki/sign/web", "csr=junk")
    same(both, "write", "pki/issuers/import/bundle", "pem_bundle=short")
    same(both, "write", "pki/issuers/import/bundle")


def test_intermediate_chain_matches_openbao(both: list[Server]) -> None:
    chains = []
    for server in both:
        server.bao("write", "pki/root/generate/internal", "common_name=Root CA", "key_type=ec")
        csr = server.bao("write", "-format=json", "pki_int/intermediate/generate/internal",
                         "common_name=Int CA", "key_type=ec").json()["data"]["csr"]
        signed = server.bao("write", "-format=json", "pki/root/sign-intermediate",
                            f"csr={csr}", "format=pem_bundle", "ttl=240h").json()["data"]
        imported = server.bao("write", "-format=json", "pki_int/intermediate/set-signed",
                              f"certificate={signed['certificate']}").json()["data"]
        assert len(imported["imported_issuers"]) == 2
        server.bao("write", "pki_int/roles/leaf", "allowed_domains=example.com",
                   "allow_subdomains=true", "key_type=ec", "ttl=1h")
        leaf = server.bao("write", "-format=json", "pki_int/issue/leaf",
                          "common_name=app.example.com").json()["data"]
        chain = [x509.load_pem_x509_certificate(p.encode()) for p in leaf["ca_chain"]]
        chains.append([c.subject.rfc4514_string() for c in chain])
        read = server.bao("read", "-format=json", "pki_int/cert/ca_chain").json()["data"]
        assert read["ca_chain"].count("BEGIN CERTIFICATE") == 2
    assert chains[0] == chains[1] == ["CN=Int CA", "CN=Root CA"]


_UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _shape(value: Any) -> Any:
    """A response's structure: keys, types and list lengths, not its random values."""
    if isinstance(value, dict):
        return sorted((_UUID.sub("<id>", k), _shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return [len(value)]
    return type(value).__name__


def test_imports_keys_and_chains_have_openbao_shapes(both: list[Server]) -> None:
    answers = []
    for server in both:
        server.bao("write", "pki/root/generate/internal", "common_name=example.com",
                   "key_type=ec", "ttl=100h")
        csr = server.bao("write", "-format=json", "pki_int/intermediate/generate/internal",
                         "common_name=Int CA", "key_type=ec").json()["data"]["csr"]
        signed = server.bao("write", "-format=json", "pki/root/sign-intermediate", f"csr={csr}",
                            "ttl=50h", "format=pem_bundle").json()
        bundle = f"pem_bundle={signed['data']['certificate']}"
        first = server.bao("write", "-format=json", "pki_int/issuers/import/bundle", bundle)
        again = server.bao("write", "-format=json", "pki_int/issuers/import/bundle", bundle)
        reads = [server.bao("read", "-format=json", path).json() for path in (
            "pki_int/issuer/default", "pki_int/key/default", "pki_int/cert/ca_chain",
            "pki_int/cert/ca", "pki/cert/ca_chain")]
        renamed = server.bao("write", "-format=json", "pki_int/key/default", "key_name=").json()
        in_use = server.bao("delete", "pki_int/key/default", check=False)
        answers.append({
            "signed": (_shape(signed["data"]), signed["warnings"]),
            "imports": [(_shape(r.json()["data"]), r.json()["warnings"]) for r in (first, again)],
            "reads": [_shape(r["data"]) for r in reads],
            "issuer": {k: reads[0]["data"][k] for k in (
                "revocation_signature_algorithm", "usage", "manual_chain", "issuer_name")},
            "chain_is_certificate": reads[2]["data"]["ca_chain"] == reads[2]["data"][
                "certificate"],
            "renamed": (_shape(renamed["data"]), len(renamed["warnings"])),
            "in_use": (in_use.code, in_use.err.split("Issuer: ")[0].replace(server.address, "")),
        })
    for name in answers[0]:
        assert answers[0][name] == answers[1][name], (name, answers[0][name], answers[1][name])


def test_bao_pki_helpers_agree_with_openbao(both: list[Server]) -> None:
    """`bao pki issue`, `verify-sign` and `list-intermediates` read and write through the
    issuer, generation, signing and import endpoints."""
    outputs = []
    for server in both:
        server.bao("write", "pki/root/generate/internal", "common_name=Root", "key_type=ec",
                   "ttl=100h", "issuer_name=root")
        server.bao("pki", "issue", "-issuer_name=int1", "/pki/issuer/root", "/pki_int/",
                   "common_name=Int", "key_type=ec", "ttl=50h")
        verify = server.bao("pki", "verify-sign", "/pki/issuer/root", "/pki_int/issuer/int1")
        listed = server.bao("pki", "list-intermediates", "/pki/issuer/root")
        outputs.append((sorted(verify.out.splitlines()),
                        sorted(line.split()[-1] for line in listed.out.splitlines()[2:]
                               if line.strip())))
    assert outputs[0] == outputs[1]
    assert "signature_match    true" in outputs[0][0]

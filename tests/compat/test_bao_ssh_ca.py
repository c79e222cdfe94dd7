"""The ssh engine's CA mode through the real `bao` CLI, side by side with OpenBao 2.7.2's
`bao server -dev`: roles, config/ca, public_key, sign and issue. Certificates differ by
their CA, serial, nonce and signature, so they are compared by their parsed properties."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import SSHCertificate

from tests.api.test_ssh_ca import USER_KEY
from tests.compat.conftest import BAO, ROOT_TOKEN, BaoResult, Server
from tests.compat.test_bao_userpass import same, same_words

pytestmark = pytest.mark.compat

MOUNT = "ssh-ca"
ROLES: dict[str, dict[str, Any]] = {
    "users": {"key_type": "ca", "allow_user_certificates": True,
              "allowed_users": "alice,bob", "default_user": "alice",
              "allowed_extensions": "permit-pty,permit-port-forwarding",
              "allowed_critical_options": "force-command", "ttl": "1h", "max_ttl": "2h",
              "default_extensions": {"permit-pty": ""}, "not_before_duration": "1m",
              "key_id_format": "{{role_name}}-{{token_display_name}}-{{public_key_hash}}"},
    "hosts": {"key_type": "ca", "allow_host_certificates": True,
              "allowed_domains": "example.com", "allow_subdomains": True,
              "allow_bare_domains": True},
    "any": {"key_type": "ca", "allow_user_certificates": True, "allowed_users": "*",
            "allow_user_key_ids": True, "allowed_user_key_lengths": {"ed25519": [0]},
            "algorithm_signer": "rsa-sha2-512", "default_critical_options": {"a": 1}},
    "otp": {"key_type": "otp", "default_user": "admin", "cidr_list": "10.0.0.0/8"},
}


@pytest.fixture
def both(module_dev_server: Server, openbao_dev: Server) -> list[Server]:
    servers = [module_dev_server, openbao_dev]
    for server in servers:
        server.bao("secrets", "disable", MOUNT)  # both servers serve the whole module
        server.bao("secrets", "enable", f"-path={MOUNT}", "ssh")
    return servers


def bao_stdin(server: Server, args: list[str], body: dict[str, Any],
              token: str = ROOT_TOKEN) -> BaoResult:
    """`bao <args> -` with ``body`` as JSON on stdin: how the CLI sends maps (a
    ``key=value`` argument is always a string, which a map field refuses)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env.update(BAO_ADDR=server.address, BAO_TOKEN=token)
    done = subprocess.run([str(BAO), *args, "-"], input=json.dumps(body), env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    return BaoResult(done.returncode, done.stdout, done.stderr)


def same_stdin(servers: list[Server], args: list[str], body: dict[str, Any],
               tokens: list[str] | None = None) -> list[Any]:
    """``bao_stdin`` on both: the exit codes and answers agree (scrubbed); the JSON
    answers when they succeeded."""
    results = [bao_stdin(server, args, body, token)
               for server, token in zip(servers, tokens or [ROOT_TOKEN] * 2, strict=True)]
    assert results[0].code == results[1].code, results
    if results[0].code == 0 and "-format=json" in args:
        return [result.json() for result in results]
    texts = [(result.out.replace(server.address, "ADDR"),
              result.err.replace(server.address, "ADDR"))
             for result, server in zip(results, servers, strict=True)]
    assert texts[0] == texts[1]
    return []


def write_roles(servers: list[Server]) -> None:
    for name, body in ROLES.items():
        same_stdin(servers, ["write", f"{MOUNT}/roles/{name}"], body)


def ci_tokens(servers: list[Server]) -> list[str]:
    """A child token named "ci" on each server, so key IDs name the same token."""
    return [server.bao("token", "create", "-display-name=ci", "-field=token").out.strip()
            for server in servers]


def certificate(line: str) -> SSHCertificate:
    cert = serialization.load_ssh_public_identity(line.encode())
    assert isinstance(cert, SSHCertificate)
    return cert


def properties(data: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """What a signed key says, less what is random per CA and per certificate."""
    cert = certificate(data["signed_key"])
    cert.verify_cert_signature()
    path = tmp_path / "cert.pub"
    path.write_text(data["signed_key"])
    listing = subprocess.run(["ssh-keygen", "-L", "-f", str(path)], capture_output=True,
                             text=True, check=True).stdout
    algorithm = listing.split("(using ")[1].split(")")[0]
    return {
        "fields": sorted(data), "type": cert.type, "key_id": cert.key_id,
        "principals": cert.valid_principals, "lifetime": cert.valid_before - cert.valid_after,
        "critical_options": cert.critical_options, "extensions": cert.extensions,
        "signature": algorithm, "serial_hex": data["serial_number"] == format(cert.serial, "x"),
        "key": cert.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                              serialization.PublicFormat.OpenSSH),
    }


def test_roles_match_openbao(both: list[Server]) -> None:
    write_roles(both)
    for name in ROLES:
        same(both, "read", "-format=json", f"{MOUNT}/roles/{name}")
    same(both, "list", "-format=json", f"{MOUNT}/roles")
    for bad in ([], ["key_type=dynamic"], ["key_type=nope"], ["key_type=otp"],
                ["key_type=ca"],
                ["key_type=ca", "allow_user_certificates=true", "ttl=3h", "max_ttl=1h"]):
        same(both, "write", f"{MOUNT}/roles/bad", *bad)
    for bad in (["key_type=ca", "algorithm_signer=sha1"],
                ["key_type=otp", "default_user=u", "cidr_list=10.0.0.1"]):
        same_words(both, "write", f"{MOUNT}/roles/bad", *bad)
    for body in ({"key_type": "ca", "allow_user_certificates": True,
                  "allowed_user_key_lengths": {"rsa": "x"}},
                 {"key_type": "ca", "allow_user_certificates": True,
                  "allowed_user_key_lengths": {"rsa": [2048, "4096", " 1024"]}}):
        same_stdin(both, ["write", f"{MOUNT}/roles/bad"], body)
    same(both, "delete", f"{MOUNT}/roles/bad")
    same(both, "read", f"{MOUNT}/roles/bad")
    same(both, "delete", f"{MOUNT}/roles/otp")
    same(both, "list", "-format=json", f"{MOUNT}/roles")


def test_config_ca_and_public_key_match_openbao(both: list[Server]) -> None:
    same(both, "read", f"{MOUNT}/config/ca")
    same(both, "read", f"{MOUNT}/public_key")
    for bad in (["generate_signing_key=false"], ["public_key=x"],
                ["public_key=x", "private_key=y"], ["generate_signing_key=true", "public_key=x"]):
        same(both, "write", f"{MOUNT}/config/ca", *bad)
    for bad in (["key_type=foo"], ["key_bits=1024"], ["key_type=ec", "key_bits=1"]):
        same_words(both, "write", f"{MOUNT}/config/ca", *bad)
    same(both, "delete", f"{MOUNT}/config/ca")
    answers = [server.bao("write", "-format=json", f"{MOUNT}/config/ca", "key_type=ec",
                          "key_bits=384").json() for server in both]
    ours, theirs = (answer["data"] for answer in answers)  # type: ignore[index]
    assert sorted(ours) == sorted(theirs) == ["issuer_id", "issuer_name", "public_key"]
    assert ours["public_key"].split()[0] == theirs["public_key"].split()[0] == \
        "ecdsa-sha2-nistp384"
    for server, data in zip(both, (ours, theirs), strict=True):
        reply = requests.get(f"{server.address}/v1/{MOUNT}/public_key", timeout=10)
        assert (reply.status_code, reply.text) == (200, data["public_key"])
        assert reply.headers["Content-Type"] == "text/plain"
    same(both, "delete", f"{MOUNT}/config/ca")


def test_signed_certificates_match_openbao(both: list[Server], tmp_path: Path) -> None:
    write_roles(both)
    signing = ["public_key=" + USER_KEY]
    same(both, "write", f"{MOUNT}/sign/users", *signing)  # no CA yet
    for server in both:
        server.bao("write", f"{MOUNT}/config/ca", "key_type=rsa", "key_bits=2048")
    tokens = ci_tokens(both)
    requests_to_compare: list[tuple[str, dict[str, Any]]] = [
        ("sign/users", {}),
        ("sign/users", {"valid_principals": "bob,alice", "ttl": "30m",
                        "critical_options": {"force-command": "ls"},
                        "extensions": {"permit-port-forwarding": ""}}),
        ("sign/hosts", {"cert_type": "host", "valid_principals": "a.example.com"}),
        ("sign/any", {"key_id": "mine"}),
        ("sign/any", {}),
    ]
    for path, body in requests_to_compare:
        answers = same_stdin(both, ["write", "-format=json", f"{MOUNT}/{path}"],
                             {"public_key": USER_KEY, **body}, tokens)
        ours, theirs = (properties(answer["data"], tmp_path) for answer in answers)
        assert ours == theirs, path
    for path, params in [
        ("sign/users", [*signing, "valid_principals=carol"]),
        ("sign/users", [*signing, "ttl=3h"]),
        ("sign/users", [*signing, "key_id=x"]),
        ("sign/users", [*signing, "cert_type=host"]),
        ("sign/users", [*signing, "valid_principals="]),
        ("sign/hosts", [*signing, "cert_type=host", "valid_principals=b.example.org"]),
        ("sign/nope", signing),
        ("sign/users", ["public_key=abc"]),
        ("sign/users", []),
        ("issue/users", ["key_type=rsa", "key_bits=1024"]),
        ("issue/otp", []),
        ("issue/nope", []),
        ("issue/any", ["key_type=rsa", "key_bits=2048"]),
    ]:
        same(both, "write", f"{MOUNT}/{path}", *params)
    for body in ({"critical_options": {"source-address": "1.2.3.4"}},
                 {"extensions": {"permit-X11-forwarding": ""}}):
        same_stdin(both, ["write", f"{MOUNT}/sign/users"], {"public_key": USER_KEY, **body})


def test_issued_key_pairs_match_openbao(both: list[Server], tmp_path: Path) -> None:
    write_roles(both)
    for server in both:
        server.bao("write", f"{MOUNT}/config/ca", "key_type=ed25519")
    tokens = ci_tokens(both)
    for key in (["key_type=ed25519"], ["key_type=ec", "key_bits=256"]):
        answers = [server.bao("write", "-format=json", f"{MOUNT}/issue/users", *key,
                              token=token).json()
                   for server, token in zip(both, tokens, strict=True)]
        datas: list[dict[str, Any]] = [answer["data"] for answer in answers]  # type: ignore[index]
        shapes = []
        for data in datas:
            shape = properties(data, tmp_path)
            shape.pop("key")  # a new key pair on each server
            shape["key_id"] = shape["key_id"].rsplit(b"-", 1)[0]
            shapes.append((shape, data["private_key_type"],
                           data["private_key"].splitlines()[0]))
        assert shapes[0] == shapes[1], json.dumps(key)

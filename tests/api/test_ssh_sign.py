"""sign/<role> and issue/<role> over HTTP, as OpenBao's path_issue_sign.go: certificates
parsed back with cryptography and `ssh-keygen -L`, every refusal with OpenBao's text."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import SSHCertificate, SSHCertificateType

from tests.api.audit_support import enable, of_request
from tests.api.test_rabbitmq import table_dump
from tests.api.test_ssh_ca import (  # noqa: F401 (fixture)
    NO_CA,
    USER_KEY,
    configure_ca,
    errors,
    key_pair,
    ssh_mount,
)
from tests.api.test_ssh_roles import USER_CA, write
from tests.api.test_userpass import add_user, auth_of
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


# The system's default and maximum lease TTL (32 days), which an untuned mount inherits.
SYSTEM_TTL = 2764800
ALICE = {**USER_CA, "allowed_users": "alice,bob", "default_user": "alice"}
OPENSSH = (serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)


def signed(reply: Any) -> SSHCertificate:
    """The certificate of a successful sign or issue, with its serial checked."""
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    cert = serialization.load_ssh_public_identity(data["signed_key"].encode())
    assert isinstance(cert, SSHCertificate)
    assert data["signed_key"].endswith("\n")
    assert data["serial_number"] == format(cert.serial, "x")
    return cert


def sign(vault: VaultHTTP, role: str, **body: Any) -> Any:
    return vault.post(f"ssh/sign/{role}", {"public_key": USER_KEY, **body})


def key_hash(line: str) -> str:
    """OpenBao's {{public_key_hash}}: SHA-256 of the key's wire form, in hex."""
    return hashlib.sha256(base64.b64decode(line.split()[1])).hexdigest()


def keygen_listing(signed_key: str, tmp_path: Path) -> str:
    path = tmp_path / "id-cert.pub"
    path.write_text(signed_key)
    return subprocess.run(["ssh-keygen", "-L", "-f", str(path)], capture_output=True,
                          text=True, check=True).stdout


def refused(reply: Any, message: str, *, wrapped: bool = False) -> None:
    """A 400 with OpenBao's words; ``wrapped``: in Go's multierror wording, where OpenBao
    answers 500 for what the request or the role caused."""
    expected = errors(message) if wrapped else [message]
    assert (reply.status_code, reply.json()) == (400, {"errors": expected})


def test_a_user_certificate_carries_what_the_role_and_request_say(ssh: VaultHTTP):
    ca = configure_ca(ssh)
    write(ssh, "u", {**ALICE, "allowed_critical_options": "force-command,source-address",
                     "allowed_extensions": "permit-pty,permit-agent-forwarding",
                     "ttl": "1h", "not_before_duration": "2m"})
    before = int(time.time())
    reply = sign(ssh, "u", valid_principals="bob,alice,bob",
                 critical_options={"force-command": "ls"},
                 extensions={"permit-pty": "", "permit-agent-forwarding": ""})
    cert = signed(reply)
    assert cert.type == SSHCertificateType.USER
    assert cert.valid_principals == [b"alice", b"bob"]
    assert cert.key_id == f"vault-root-{key_hash(USER_KEY)}".encode()
    assert cert.critical_options == {b"force-command": b"ls"}
    assert cert.extensions == {b"permit-agent-forwarding": b"", b"permit-pty": b""}
    assert before - 120 <= cert.valid_after <= int(time.time()) - 120
    assert cert.valid_before - cert.valid_after == 3600 + 120
    assert cert.public_key().public_bytes(*OPENSSH).decode() == USER_KEY
    cert.verify_cert_signature()
    assert cert.signature_key().public_bytes(*OPENSSH).decode() + "\n" == ca["public_key"]
    data = reply.json()["data"]
    assert sorted(data) == ["issuer_id", "serial_number", "signed_key"]
    assert data["issuer_id"] == ca["issuer_id"]
    assert signed(sign(ssh, "u")).serial != cert.serial


def test_defaults_apply_when_the_request_names_nothing(ssh: VaultHTTP):
    configure_ca(ssh)
    write(ssh, "u", {**ALICE, "default_critical_options": {"force-command": "id"},
                     "default_extensions": {"permit-pty": ""}})
    cert = signed(sign(ssh, "u"))
    assert cert.valid_principals == [b"alice"]
    assert cert.critical_options == {b"force-command": b"id"}
    assert cert.extensions == {b"permit-pty": b""}
    assert cert.valid_before - cert.valid_after == SYSTEM_TTL + 30


@pytest.mark.parametrize(("signer", "algorithm"), [
    ("default", "rsa-sha2-256"), ("ssh-rsa", "ssh-rsa"), ("rsa-sha2-256", "rsa-sha2-256"),
    ("rsa-sha2-512", "rsa-sha2-512"),
])
def test_an_rsa_ca_signs_with_the_roles_algorithm(ssh: VaultHTTP, tmp_path: Path,
                                                  signer: str, algorithm: str):
    configure_ca(ssh, key_type="rsa", key_bits=2048)
    write(ssh, "u", {**ALICE, "algorithm_signer": signer})
    reply = sign(ssh, "u")
    signed(reply).verify_cert_signature()
    listing = keygen_listing(reply.json()["data"]["signed_key"], tmp_path)
    assert "Signing CA: RSA SHA256:" in listing
    assert f"(using {algorithm})" in listing


@pytest.mark.parametrize(("body", "algorithm"), [
    ({"key_type": "ec"}, "ecdsa-sha2-nistp256"),
    ({"key_type": "ecdsa-sha2-nistp384"}, "ecdsa-sha2-nistp384"),
    ({"key_type": "ec", "key_bits": 521}, "ecdsa-sha2-nistp521"),
    ({"key_type": "ed25519"}, "ssh-ed25519"),
])
def test_ecdsa_and_ed25519_cas_sign_natively(ssh: VaultHTTP, tmp_path: Path,
                                             body: dict[str, Any], algorithm: str):
    configure_ca(ssh, **body)
    write(ssh, "u", ALICE)
    reply = sign(ssh, "u")
    signed(reply).verify_cert_signature()
    listing = keygen_listing(reply.json()["data"]["signed_key"], tmp_path)
    assert f"(using {algorithm})" in listing
    # An RSA algorithm cannot be asked of another key type (OpenBao: a 500).
    write(ssh, "r", {**ALICE, "algorithm_signer": "rsa-sha2-256"})
    refused(sign(ssh, "r"), "failed to generate signed SSH key: sign error: ssh: unsupported "
            f'signature algorithm "rsa-sha2-256" for key format "{algorithm}"', wrapped=True)


def test_host_certificates_follow_allowed_domains(ssh: VaultHTTP):
    configure_ca(ssh)
    write(ssh, "h", {"key_type": "ca", "allow_host_certificates": True,
                     "allowed_domains": "example.com", "allow_subdomains": True})
    cert = signed(sign(ssh, "h", cert_type="host", valid_principals="a.example.com"))
    assert cert.type == SSHCertificateType.HOST
    assert cert.valid_principals == [b"a.example.com"]
    refused(sign(ssh, "h", cert_type="host", valid_principals="example.com"),
            "example.com is not a valid value for valid_principals")
    refused(sign(ssh, "h", cert_type="host", valid_principals="a.other.com"),
            "a.other.com is not a valid value for valid_principals")
    refused(sign(ssh, "h", cert_type="host"), "refusing to issue unsafe, globally-valid "
            "certificate with no principals specified; set valid_principals or default_user")
    refused(sign(ssh, "h"), "cert_type 'user' is not allowed by role")
    write(ssh, "h", {"key_type": "ca", "allow_host_certificates": True,
                     "allowed_domains": "example.com", "allow_bare_domains": True})
    assert signed(sign(ssh, "h", cert_type="host", valid_principals="example.com"))
    refused(sign(ssh, "h", cert_type="host", valid_principals="a.example.com"),
            "a.example.com is not a valid value for valid_principals")


def test_principal_rules(ssh: VaultHTTP):
    configure_ca(ssh)
    write(ssh, "u", ALICE)
    refused(sign(ssh, "u", valid_principals="carol"),
            "carol is not a valid value for valid_principals")
    refused(sign(ssh, "u", valid_principals=""), "refusing to issue unsafe, globally-valid "
            "certificate with no principals specified; set valid_principals or default_user")
    refused(sign(ssh, "u", cert_type="x"), "cert_type must be either 'user' or 'host'")
    refused(sign(ssh, "u", cert_type="host"), "cert_type 'host' is not allowed by role")
    write(ssh, "none", {**USER_CA, "default_user": "alice"})
    refused(sign(ssh, "none"), "role is not configured to allow any principals")
    # "*" allows any principal, and none at all (a certificate valid for every one).
    write(ssh, "any", {**USER_CA, "allowed_users": "*"})
    assert signed(sign(ssh, "any", valid_principals="y, x")).valid_principals == [b"x", b"y"]
    assert signed(sign(ssh, "any")).valid_principals == []
    write(ssh, "empty", {**ALICE, "default_user": "", "allow_empty_principals": True})
    assert signed(sign(ssh, "empty")).valid_principals == []


def test_key_ids(ssh: VaultHTTP):
    configure_ca(ssh)
    write(ssh, "u", ALICE)
    refused(sign(ssh, "u", key_id="mine"), "setting key_id is not allowed by role")
    write(ssh, "u", {**ALICE, "allow_user_key_ids": True,
                     "key_id_format": "{{role_name}}:{{token_display_name}}"})
    assert signed(sign(ssh, "u", key_id="mine")).key_id == b"mine"
    assert signed(sign(ssh, "u")).key_id == b"u:root"
    token = ssh.post("auth/token/create", {"display_name": "ci"}).json()["auth"]
    reply = ssh.post("ssh/sign/u", {"public_key": USER_KEY}, token=token["client_token"])
    assert signed(reply).key_id == b"u:token-ci"


def test_critical_options_and_extensions_allow_lists(ssh: VaultHTTP):
    configure_ca(ssh)
    write(ssh, "u", {**ALICE, "allowed_critical_options": "force-command"})
    refused(sign(ssh, "u", critical_options={"source-address": "10.0.0.1"}),
            "critical options not on allowed list: [source-address]")
    refused(sign(ssh, "u", extensions={"permit-pty": ""}),
            "extensions [permit-pty] are not on allowed list")
    write(ssh, "u", {**ALICE, "allowed_extensions": "*"})
    cert = signed(sign(ssh, "u", critical_options={"anything": "1"},
                       extensions={"permit-x11-forwarding": ""}))
    assert cert.critical_options == {b"anything": b"1"}
    assert cert.extensions == {b"permit-x11-forwarding": b""}


def test_ttls(ssh: VaultHTTP):
    configure_ca(ssh)
    write(ssh, "u", {**ALICE, "ttl": "1h", "max_ttl": "2h", "not_before_duration": 0})
    cert = signed(sign(ssh, "u"))
    assert cert.valid_before - cert.valid_after == 3600
    cert = signed(sign(ssh, "u", ttl="90m"))
    assert cert.valid_before - cert.valid_after == 5400
    refused(sign(ssh, "u", ttl="3h"), "ttl is larger than maximum allowed 7200")
    # The mount's tuned TTLs stand in for a role's zero, and cap an unrequested TTL.
    assert ssh.post("sys/mounts/ssh/tune", {"default_lease_ttl": "3h",
                                            "max_lease_ttl": "5h"}).status_code == 204
    write(ssh, "m", {**ALICE, "not_before_duration": 0})
    cert = signed(sign(ssh, "m"))
    assert cert.valid_before - cert.valid_after == 3 * 3600
    refused(sign(ssh, "m", ttl="6h"), "ttl is larger than maximum allowed 18000")
    write(ssh, "m", {**ALICE, "ttl": "8h", "not_before_duration": 0})
    cert = signed(sign(ssh, "m"))
    assert cert.valid_before - cert.valid_after == 5 * 3600


def test_user_key_lengths(ssh: VaultHTTP):
    configure_ca(ssh)
    rsa_key = key_pair("rsa")[0]
    ec_key = key_pair("ec")[0]
    write(ssh, "u", {**ALICE, "allowed_user_key_lengths": {"rsa": [2048, 4096]}})
    assert signed(ssh.post("ssh/sign/u", {"public_key": rsa_key}))
    refused(sign(ssh, "u"), "public_key failed to meet the key requirements: key of type "
            "ed25519 is not allowed")
    write(ssh, "u", {**ALICE, "allowed_user_key_lengths": {"ssh-rsa": [4096],
                                                           "ecdsa-sha2-nistp256": [256]}})
    refused(ssh.post("ssh/sign/u", {"public_key": rsa_key}),
            "public_key failed to meet the key requirements: key is of an invalid size: 2048")
    assert signed(ssh.post("ssh/sign/u", {"public_key": ec_key}))
    write(ssh, "u", {**ALICE, "allowed_user_key_lengths": {"ed25519": [0]}})
    assert signed(sign(ssh, "u"))


def test_public_key_refusals_and_unknown_roles(ssh: VaultHTTP):
    refused(sign(ssh, "nope"), "Unknown role: nope")
    write(ssh, "u", ALICE)
    refused(ssh.post("ssh/sign/u", {}), "missing public_key")
    refused(ssh.post("ssh/sign/u", {"public_key": "abc"}),
            "failed to parse public_key as SSH key: illegal base64 data at input byte 0")
    refused(ssh.post("ssh/sign/u", {"public_key": "ssh-ed25519 AAAA"}),
            "failed to parse public_key as SSH key: ssh: short read")
    # Everything else is checked before the CA is looked for.
    refused(sign(ssh, "u"), NO_CA)
    write(ssh, "elsewhere", {**ALICE, "issuer_ref": "nope"})
    configure_ca(ssh)
    refused(sign(ssh, "elsewhere"), "unable to find issuer for reference: nope")


def test_a_role_may_name_its_issuer_by_id(ssh: VaultHTTP):
    first = configure_ca(ssh)
    configure_ca(ssh, key_type="ec")
    write(ssh, "old", {**ALICE, "issuer_ref": first["issuer_id"]})
    reply = sign(ssh, "old")
    assert reply.json()["data"]["issuer_id"] == first["issuer_id"]
    assert signed(reply).signature_key().public_bytes(*OPENSSH).decode() + "\n" == \
        first["public_key"]


@pytest.mark.parametrize(("body", "header"), [
    ({"key_type": "ed25519"}, "OPENSSH PRIVATE KEY"),
    ({"key_type": "ec", "key_bits": 384}, "EC PRIVATE KEY"),
    ({"key_type": "rsa", "key_bits": 2048}, "RSA PRIVATE KEY"),
])
def test_issue_returns_a_new_key_pair_and_its_certificate(ssh: VaultHTTP,
                                                          body: dict[str, Any], header: str):
    configure_ca(ssh)
    write(ssh, "u", ALICE)
    reply = ssh.post("ssh/issue/u", body)
    cert = signed(reply)
    data = reply.json()["data"]
    assert sorted(data) == ["issuer_id", "private_key", "private_key_type", "serial_number",
                            "signed_key"]
    assert data["private_key_type"] == body["key_type"]
    assert data["private_key"].startswith(f"-----BEGIN {header}-----")
    pem = data["private_key"].encode()
    private = (serialization.load_ssh_private_key(pem, None) if b"OPENSSH" in pem
               else serialization.load_pem_private_key(pem, None))
    public = private.public_key().public_bytes(*OPENSSH)
    assert cert.public_key().public_bytes(*OPENSSH) == public
    assert cert.key_id == f"vault-root-{key_hash(public.decode())}".encode()
    # The issued private key is not kept anywhere.
    assert data["private_key"].splitlines()[2] not in table_dump()


def test_issue_refusals(ssh: VaultHTTP):
    refused(ssh.post("ssh/issue/nope", {}), "unknown role: nope")
    write(ssh, "otp", {"key_type": "otp", "default_user": "u"})
    refused(ssh.post("ssh/issue/otp", {}), "role key type 'otp' not allowed to issue key pairs")
    write(ssh, "u", ALICE)
    refused(ssh.post("ssh/issue/u", {"key_type": "ed25519"}), NO_CA)
    configure_ca(ssh)
    refused(ssh.post("ssh/issue/u", {"key_type": "rsa", "key_bits": 1024}),
            "refusing to generate weak rsa key: 1024 bits < 2048 bits")
    refused(ssh.post("ssh/issue/u", {"key_type": "foo"}), "unknown ssh key pair algorithm: foo")
    write(ssh, "k", {**ALICE, "allowed_user_key_lengths": {"rsa": [2048]}})
    refused(ssh.post("ssh/issue/k", {"key_type": "ed25519"}),
            "provided key_type value not in allowed_user_key_types")
    refused(ssh.post("ssh/issue/k", {"key_type": "rsa"}),
            "provided key_bits value not in list of role's allowed_user_key_types")
    assert signed(ssh.post("ssh/issue/k", {"key_type": "rsa", "key_bits": 2048}))
    # On issue, what sign reports as a server error is a 400.
    write(ssh, "r", {**ALICE, "algorithm_signer": "rsa-sha2-256"})
    refused(ssh.post("ssh/issue/r", {"key_type": "ed25519"}), "failed to generate signed SSH "
            'key: sign error: ssh: unsupported signature algorithm "rsa-sha2-256" for key '
            'format "ssh-ed25519"')


@pytest.fixture
def alice(ssh: VaultHTTP) -> dict[str, Any]:
    """alice logged in through userpass: her auth block (her token has an entity). A fresh
    userpass mount: a new alias, so a new entity, on the module's shared cluster."""
    ssh.delete("sys/auth/userpass")
    assert ssh.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    add_user(ssh, "alice", token_policies="ssh")
    policy = 'path "ssh/*" { capabilities = ["create", "update", "read"] }'
    assert ssh.put("sys/policies/acl/ssh", {"policy": policy}).status_code == 204
    return auth_of(ssh, "alice")


def test_identity_templates_render_for_the_tokens_entity(ssh: VaultHTTP,
                                                         alice: dict[str, Any]):
    configure_ca(ssh)
    accessor = ssh.get("sys/auth").json()["data"]["userpass/"]["accessor"]
    alias = "{{identity.entity.aliases." + accessor + ".name}}"
    write(ssh, "t", {**USER_CA, "allowed_users": f"{alias},ops", "allowed_users_template": True,
                     "default_user": alias, "default_user_template": True,
                     "default_extensions": {"login@example.com": alias, "permit-pty": ""},
                     "default_extensions_template": True})
    token = alice["client_token"]
    reply = ssh.post("ssh/sign/t", {"public_key": USER_KEY}, token=token)
    cert = signed(reply)
    assert cert.valid_principals == [b"alice"]
    assert cert.extensions == {b"login@example.com": b"alice", b"permit-pty": b""}
    assert reply.json()["warnings"] is None
    refused(ssh.post("ssh/sign/t", {"public_key": USER_KEY, "valid_principals": "bob"},
                     token=token), "bob is not a valid value for valid_principals")
    # The root token has no entity: the templates stay as written, and templated default
    # extensions are left out with OpenBao's warning.
    reply = sign(ssh, "t", valid_principals=alias)
    assert signed(reply).valid_principals == [alias.encode()]
    assert signed(reply).extensions == {b"permit-pty": b""}
    assert reply.json()["warnings"] == [
        "default_extension templating enabled with at least one extension requiring "
        "identity templating. However, this request lacked identity entity information, "
        "causing one or more extensions to be skipped from the generated certificate."]


def test_a_template_that_cannot_be_rendered_is_refused(ssh: VaultHTTP,
                                                       alice: dict[str, Any]):
    configure_ca(ssh)
    template = "{{identity.entity.metadata.team}}"
    write(ssh, "t", {**USER_CA, "allowed_users": template, "allowed_users_template": True})
    reply = ssh.post("ssh/sign/t", {"public_key": USER_KEY, "valid_principals": "x"},
                     token=alice["client_token"])
    refused(reply, f"template '{template}' could not be rendered -> no value could be found "
            "for one of the template directives")
    write(ssh, "d", {**USER_CA, "allowed_users": "*", "default_user": template,
                     "default_user_template": True})
    reply = ssh.post("ssh/sign/d", {"public_key": USER_KEY}, token=alice["client_token"])
    refused(reply, f"template '{template}' could not be rendered -> no value could be found "
            "for one of the template directives", wrapped=True)


@pytest.mark.parametrize(("value", "flag", "forbidden"), [
    ("a*b", "allow_wildcards_in_identity_templates", "*"),
    ("a,b", "allow_commas_in_identity_templates", ","),
])
def test_substitutions_carry_no_comma_or_wildcard_unless_the_role_allows(
        ssh: VaultHTTP, alice: dict[str, Any], value: str, flag: str, forbidden: str):
    configure_ca(ssh)
    reply = ssh.post(f"identity/entity/id/{alice['entity_id']}", {"metadata": {"u": value}})
    assert reply.status_code in (200, 204), reply.text
    template = "{{identity.entity.metadata.u}}"
    message = (f"template '{template}' could not be rendered -> template substitution "
               f'contains forbidden value: "{forbidden}"')
    token = alice["client_token"]
    write(ssh, "t", {**USER_CA, "allowed_users": template, "allowed_users_template": True})
    reply = ssh.post("ssh/sign/t", {"public_key": USER_KEY, "valid_principals": "a"},
                     token=token)
    refused(reply, message)
    write(ssh, "t", {**USER_CA, "allowed_users": template, "allowed_users_template": True,
                     flag: True})
    assert signed(ssh.post("ssh/sign/t", {"public_key": USER_KEY,
                                          "valid_principals": value.split(",")[0]},
                           token=token))
    # A templated default_user is held to the same rule (OpenBao: a 500).
    write(ssh, "d", {**USER_CA, "allowed_users": "*", "default_user": template,
                     "default_user_template": True})
    refused(ssh.post("ssh/sign/d", {"public_key": USER_KEY}, token=token), message, wrapped=True)
    # Templated default extensions are not.
    write(ssh, "e", {**USER_CA, "allowed_users": "*", "default_extensions": {"e": template},
                     "default_extensions_template": True})
    reply = ssh.post("ssh/sign/e", {"public_key": USER_KEY, "valid_principals": "q"},
                     token=token)
    assert signed(reply).extensions == {b"e": value.encode()}


def test_private_keys_reach_the_audit_log_only_hashed(ssh: VaultHTTP, tmp_path: Path):
    log = tmp_path / "audit.log"
    enable(ssh, "file", "file", file_path=str(log))
    public, private = key_pair("rsa")
    assert ssh.post("ssh/config/ca", {"public_key": public, "private_key": private}
                    ).status_code == 200
    write(ssh, "u", ALICE)
    issued = ssh.post("ssh/issue/u", {"key_type": "ed25519"}).json()["data"]["private_key"]
    text = log.read_text()
    for secret in (private.splitlines()[5], issued.splitlines()[2]):
        assert secret not in text
    imported = of_request(log, "ssh/config/ca", "request")[-1]["request"]["data"]
    assert imported["private_key"].startswith("hmac-sha256:")

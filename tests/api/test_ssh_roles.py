"""ssh roles over HTTP: both key types written as OpenBao's pathRoleWrite and
createCARole write them, read back as parseRole shows them, listed with key_info."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_ssh_ca import errors, ssh_mount  # noqa: F401 (fixture)
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


CA_DEFAULTS = {
    "algorithm_signer": "default", "allow_bare_domains": False,
    "allow_commas_in_identity_templates": False, "allow_empty_principals": False,
    "allow_host_certificates": False, "allow_subdomains": False,
    "allow_user_certificates": True, "allow_user_key_ids": False,
    "allow_wildcards_in_identity_templates": False, "allowed_critical_options": "",
    "allowed_domains": "", "allowed_domains_template": False, "allowed_extensions": "",
    "allowed_user_key_lengths": {}, "allowed_users": "", "allowed_users_template": False,
    "default_critical_options": {}, "default_extensions": {},
    "default_extensions_template": False, "default_user": "", "default_user_template": False,
    "issuer_ref": "default", "key_id_format": "", "key_type": "ca", "max_ttl": 0,
    "not_before_duration": 30, "ttl": 0,
}
USER_CA = {"key_type": "ca", "allow_user_certificates": True}


def write(vault: VaultHTTP, name: str, body: dict[str, Any]) -> None:
    reply = vault.post(f"ssh/roles/{name}", body)
    assert reply.status_code == 204, reply.text


def read(vault: VaultHTTP, name: str) -> dict[str, Any]:
    reply = vault.get(f"ssh/roles/{name}")
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({}, 400, ["missing key type"]),
    ({"key_type": "x"}, 400, ["invalid key type"]),
    ({"key_type": "dynamic"}, 400, ["dynamic key type roles are no longer supported"]),
    ({"key_type": "otp"}, 400, ["missing default user"]),
    ({"key_type": "otp", "default_user": "u", "cidr_list": "1.2.3.4"}, 400,
     errors("failed to validate cidr_list: invalid CIDR address: 1.2.3.4")),
    ({"key_type": "otp", "default_user": "u", "cidr_list": ","}, 400,
     errors("failed to validate cidr_list: missing CIDR blocks that needs validation")),
    ({"key_type": "otp", "default_user": "u", "exclude_cidr_list": "bad"}, 400,
     errors("failed to validate exclude_cidr_list entry: invalid CIDR address: bad")),
    # The CIDR lists are checked before the key type, for CA roles too.
    ({**USER_CA, "cidr_list": "bad"}, 400,
     errors("failed to validate cidr_list: invalid CIDR address: bad")),
    ({"key_type": "ca", "algorithm_signer": "x"}, 400,
     errors('unknown algorithm signer "x"')),
    ({"key_type": "ca"}, 400,
     ["Either 'allow_user_certificates' or 'allow_host_certificates' must be set to 'true'"]),
    ({**USER_CA, "ttl": "2h", "max_ttl": "1h"}, 400,
     ['"ttl" value must be less than "max_ttl" when both are specified']),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": "abc"}}, 400, [
        'error processing allowed_user_key_lengths: strconv.ParseInt: parsing "abc": '
        "invalid syntax"]),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": [2048, "x"]}}, 400, [
        'error processing allowed_user_key_lengths: strconv.ParseInt: parsing "x": '
        "invalid syntax"]),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": "0x10"}}, 400, [
        'error processing allowed_user_key_lengths: strconv.ParseInt: parsing "0x10": '
        "invalid syntax"]),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": 2.5}}, 400, [
        'error processing allowed_user_key_lengths: strconv.ParseInt: parsing "2.5": '
        "invalid syntax"]),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": "9223372036854775808"}}, 400, [
        "error processing allowed_user_key_lengths: strconv.ParseInt: parsing "
        '"9223372036854775808": value out of range']),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": {"a": 1}}}, 400,
     ["error processing allowed_user_key_lengths: could not parse value from input"]),
    ({**USER_CA, "allowed_user_key_lengths": {"rsa": [[1]]}}, 400,
     ["error processing allowed_user_key_lengths: could not parse value from input"]),
])
def test_role_write_refusals(ssh: VaultHTTP, body: dict[str, Any], status: int,
                             message: list[str]):
    reply = ssh.post("ssh/roles/r", body)
    assert (reply.status_code, reply.json()) == (status, {"errors": message})
    assert ssh.get("ssh/roles/r").status_code == 404


def test_an_otp_role_shows_its_six_fields_and_port_22(ssh: VaultHTTP):
    write(ssh, "o", {"key_type": "OTP", "default_user": "u", "cidr_list": " 10.0.0.0/8 ,::1/128",
                     "allow_user_certificates": True, "ttl": "1h"})
    assert read(ssh, "o") == {
        "allowed_users": "", "cidr_list": " 10.0.0.0/8 ,::1/128", "default_user": "u",
        "exclude_cidr_list": "", "key_type": "otp", "port": 22,
    }
    write(ssh, "o", {"key_type": "otp", "default_user": "u", "port": 2222})
    assert read(ssh, "o")["port"] == 2222


def test_a_ca_role_shows_openbaos_defaults(ssh: VaultHTTP):
    write(ssh, "c", {**USER_CA, "port": 7, "cidr_list": "10.0.0.0/8"})
    assert read(ssh, "c") == CA_DEFAULTS


def test_a_ca_role_keeps_every_field_in_openbaos_form(ssh: VaultHTTP):
    body = {
        "key_type": "ca", "allow_host_certificates": True, "allowed_domains": "example.com",
        "allow_bare_domains": True, "allow_subdomains": True, "ttl": "1h", "max_ttl": 7200,
        "not_before_duration": "1m", "algorithm_signer": "rsa-sha2-512",
        "allowed_critical_options": "force-command", "allowed_extensions": "*",
        "default_critical_options": {"a": 1, "b": True, "c": None, "d": [1, 2],
                                     "e": {"x": 1}, "f": 2.5},
        "default_extensions": {"permit-pty": ""}, "key_id_format": "{{role_name}}",
        "allowed_user_key_lengths": {"a": True, "b": None, "c": "", "d": "-5", "e": "1, 2",
                                     "f": [" 3"], "g": ["", 4], "h": "2048,", "i": 4096},
        "issuer_ref": "", "allow_wildcards_in_identity_templates": True,
    }
    write(ssh, "h", body)
    assert read(ssh, "h") == {
        **CA_DEFAULTS, "allow_user_certificates": False, "allow_host_certificates": True,
        "allowed_domains": "example.com", "allow_bare_domains": True, "allow_subdomains": True,
        "ttl": 3600, "max_ttl": 7200, "not_before_duration": 60,
        "algorithm_signer": "rsa-sha2-512", "allowed_critical_options": "force-command",
        "allowed_extensions": "*",
        "default_critical_options": {"a": "1", "b": "true", "c": "<nil>", "d": "[1 2]",
                                     "e": "map[x:1]", "f": "2.5"},
        "default_extensions": {"permit-pty": ""}, "key_id_format": "{{role_name}}",
        "allowed_user_key_lengths": {"a": [1], "b": None, "c": [0], "d": [-5], "e": [1, 2],
                                     "f": [3], "g": [4], "h": [2048], "i": [4096]},
        "allow_wildcards_in_identity_templates": True,
    }
    # "" and "default" both mean the default signer.
    write(ssh, "h", {**USER_CA, "algorithm_signer": ""})
    assert read(ssh, "h")["algorithm_signer"] == "default"


def test_roles_are_listed_with_key_info_and_paged(ssh: VaultHTTP):
    write(ssh, "b-ca", {**USER_CA, "issuer_ref": "my-ca"})
    write(ssh, "a-otp", {"key_type": "otp", "default_user": "u"})
    write(ssh, "c-ca", USER_CA)
    reply = ssh.list("ssh/roles")
    assert reply.json()["data"] == {
        "keys": ["a-otp", "b-ca", "c-ca"],
        "key_info": {"a-otp": {"key_type": "otp"},
                     "b-ca": {"key_type": "ca", "issuer_ref": "my-ca"},
                     "c-ca": {"key_type": "ca", "issuer_ref": "default"}},
    }
    reply = ssh.get("ssh/roles", params={"list": "true", "after": "a-otp", "limit": 1})
    assert reply.json()["data"] == {
        "keys": ["b-ca"], "key_info": {"b-ca": {"key_type": "ca", "issuer_ref": "my-ca"}}}


def test_no_roles_list_as_404(ssh: VaultHTTP):
    reply = ssh.list("ssh/roles")
    assert (reply.status_code, reply.json()) == (404, {"errors": []})


def test_deleting_a_role_takes_it_off_config_zeroaddress(ssh: VaultHTTP):
    for name in ("a", "b"):
        write(ssh, name, {"key_type": "otp", "default_user": "u"})
    reply = ssh.post("ssh/config/zeroaddress", {"roles": "a,b"})
    assert reply.status_code == 204, reply.text
    assert ssh.delete("ssh/roles/a").status_code == 204
    assert ssh.get("ssh/roles/a").status_code == 404
    assert ssh.get("ssh/config/zeroaddress").json()["data"]["roles"] == ["b"]
    # A role that never existed deletes quietly.
    assert ssh.delete("ssh/roles/never").status_code == 204


@pytest.mark.parametrize("path", ["roles/a%20b", "roles/-a", "sign/a%21", "issue/a."])
def test_names_openbao_does_not_route_are_unsupported_paths(ssh: VaultHTTP, path: str):
    reply = ssh.post(f"ssh/{path}", {"key_type": "otp", "default_user": "u"})
    assert (reply.status_code, reply.json()) == (404, {"errors": errors("unsupported path")})
    write(ssh, "a@b.c-d_e", {"key_type": "otp", "default_user": "u"})

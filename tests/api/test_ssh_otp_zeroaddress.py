"""config/zeroaddress and lookup of the ssh engine over HTTP, with Vault's texts."""

from __future__ import annotations

import pytest

from tests.api.test_ssh_otp import answer, creds, otp_role
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault



@pytest.fixture
def ssh(vault: VaultHTTP) -> VaultHTTP:
    vault.delete("sys/mounts/ssh")  # the module's tests share a cluster
    assert vault.post("sys/mounts/ssh", {"type": "ssh"}).status_code == 204
    otp_role(vault, "web", default_user="ubuntu", cidr_list="10.0.0.0/8",
             exclude_cidr_list="10.9.0.0/16")
    otp_role(vault, "lan", default_user="ubuntu", cidr_list="192.168.0.0/16,10.1.0.0/16")
    otp_role(vault, "any", default_user="admin", cidr_list="172.16.0.0/12")
    return vault


def test_zeroaddress_read_write_delete(ssh: VaultHTTP):
    assert answer(ssh.get("ssh/config/zeroaddress")) == (404, {"errors": []})
    assert ssh.post("ssh/config/zeroaddress", {"roles": "any, web"}).status_code == 204
    reply = ssh.get("ssh/config/zeroaddress")
    assert (reply.status_code, reply.json()["data"]) == (200, {"roles": ["any", "web"]})
    assert ssh.post("ssh/config/zeroaddress", {"roles": ["lan"]}).status_code == 204
    assert ssh.get("ssh/config/zeroaddress").json()["data"] == {"roles": ["lan"]}
    assert ssh.delete("ssh/config/zeroaddress").status_code == 204
    assert ssh.get("ssh/config/zeroaddress").status_code == 404


@pytest.mark.parametrize(("roles", "message"), [
    ("", "Missing roles"),
    (" , ", "Missing roles"),
    ("web,ghost", 'Role "ghost" does not exist'),
    ('we"b', 'Role "we\\"b" does not exist'),
])
def test_zeroaddress_refusals(ssh: VaultHTTP, roles: str, message: str):
    reply = ssh.post("ssh/config/zeroaddress", {"roles": roles})
    assert answer(reply) == (400, {"errors": [message]})
    assert ssh.get("ssh/config/zeroaddress").status_code == 404


def test_a_zero_address_role_takes_any_ip(ssh: VaultHTTP):
    reply = ssh.post("ssh/creds/any", {"ip": "8.8.8.8"})
    assert answer(reply) == (400, {"errors": ["Error validating IP: IP does not belong to role"]})
    assert ssh.post("ssh/config/zeroaddress", {"roles": "any"}).status_code == 204
    assert creds(ssh, {"ip": "8.8.8.8"}, "any")["data"]["ip"] == "8.8.8.8"
    assert creds(ssh, {"ip": "2001:db8::7"}, "any")["data"]["ip"] == "2001:db8::7"


def test_lookup_lists_roles_by_cidr_then_zero_address_roles(ssh: VaultHTTP):
    def lookup(ip: str) -> object:
        reply = ssh.post("ssh/lookup", {"ip": ip})
        assert reply.status_code == 200, reply.text
        return reply.json()["data"]["roles"]

    assert lookup("10.1.2.3") == ["lan", "web"]
    assert lookup("10.9.0.1") == ["web"]  # exclude_cidr_list is not consulted
    assert lookup("8.8.8.8") is None
    assert ssh.post("ssh/config/zeroaddress", {"roles": "web,any"}).status_code == 204
    assert lookup("10.1.2.3") == ["lan", "web", "web", "any"]
    assert lookup("8.8.8.8") == ["web", "any"]


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Missing ip"),
    ({"ip": "10.0.0.300"}, 'Invalid IP "<nil>"'),
])
def test_lookup_refusals(ssh: VaultHTTP, body: dict[str, str], message: str):
    assert answer(ssh.post("ssh/lookup", body)) == (400, {"errors": [message]})

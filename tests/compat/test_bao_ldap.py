"""ldap through the real `bao` CLI against the same slapd, side by side with OpenBao 2.6.2's
`bao server -dev` (2.7 dropped the method): configuration, logins that work and logins that
must not, policies from directory groups, and external identity groups."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.compat.conftest import Server
from tests.compat.test_bao_userpass import same, scrub
from tests.ldap_support import OPENBAO_262, USERS, Directory

pytestmark = pytest.mark.compat

EXTERNAL_GROUP = "eng-ext"


@pytest.fixture
def both(dev_server: Server, openbao_ldap: Server, slapd: Directory) -> list[Server]:
    servers = [dev_server, openbao_ldap]
    config = {**slapd.config(), "token_policies": "base"}
    for server in servers:
        # The OpenBao server is shared by the module: start from a clean mount.
        server.bao("auth", "disable", "ldap")
        server.bao("delete", f"identity/group/name/{EXTERNAL_GROUP}")
        server.bao("auth", "enable", "ldap")
        server.bao("write", "auth/ldap/config", *(f"{k}={v}" for k, v in config.items()))
    return servers


def _external_group(server: Server, name: str, alias: str, policy: str) -> None:
    accessor = server.bao("auth", "list", "-format=json").json()["ldap/"]["accessor"]  # type: ignore[index]
    made = server.bao("write", "-format=json", "identity/group", f"name={name}", "type=external",
                      f"policies={policy}").json()
    group_id = made["data"]["id"]  # type: ignore[index]
    server.bao("write", "identity/group-alias", f"name={alias}", f"mount_accessor={accessor}",
               f"canonical_id={group_id}")


def _cli_login(server: Server, username: str, password: str) -> Any:
    env = {"BAO_ADDR": server.address, "HOME": os.environ.get("HOME", "/tmp"),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run(
        [str(OPENBAO_262), "login", "-method=ldap", "-no-store", "-format=json",
         f"username={username}", f"password={password}"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(done.stdout)


def test_logins_match_openbao(both: list[Server]) -> None:
    same(both, "write", "auth/ldap/groups/engineers", "policies=eng,Shared")
    same(both, "write", "auth/ldap/users/alice", "policies=own", "groups=extra")
    same(both, "read", "-format=json", "auth/ldap/users/alice")
    same(both, "list", "-format=json", "auth/ldap/groups")
    for server in both:
        _external_group(server, EXTERNAL_GROUP, "engineers", "ext")
    for name in ("alice", "bob", "carol", "dave, jr", "erin"):
        auth = same(both, "write", "-format=json", f"auth/ldap/login/{name}",
                    f"password={USERS[name]}", token=None)
        assert "default" in auth["auth"]["policies"]
    # `bao login -method=ldap`: the 2.7 CLI no longer knows the method, 2.6.2's does.
    logins = [scrub(_cli_login(server, "bob", "bob-pw")) for server in both]
    assert logins[0] == logins[1] and logins[0]["auth"]["metadata"] == {"username": "bob"}
    # The external group's policy reaches the token through identity, on both.
    for server in both:
        token = server.bao("write", "-field=token", "auth/ldap/login/alice", "password=alice-pw",
                           token=None).out.strip()
        looked = server.bao("token", "lookup", "-format=json", token=token).json()
        assert looked["data"]["identity_policies"] == ["ext"]  # type: ignore[index]
        assert looked["data"]["meta"] == {"username": "alice"}  # type: ignore[index]


# A wrong password, an unknown user, filter injections, an empty password.
REFUSED = [("alice", "wrong"), ("nobody", "x"), ("*", "alice-pw"), ("alice)(cn=*", "alice-pw"),
           ("alice", "")]


def test_refused_logins_match_openbao(both: list[Server]) -> None:
    for name, password in REFUSED:  # one pair of servers for all (each start costs seconds)
        same(both, "write", f"auth/ldap/login/{name}", f"password={password}", token=None)


def test_config_reads_match_openbao(both: list[Server], slapd: Directory) -> None:
    same(both, "write", "auth/ldap/config", "starttls=true", f"certificate={slapd.ca_pem}",
         "request_timeout=20s")
    same(both, "read", "-format=json", "auth/ldap/config")
    same(both, "write", "auth/ldap/config", "userfilter=(uid={{.Username}})")
    same(both, "write", "auth/ldap/config", "certificate=junk")
    same(both, "write", "auth/ldap/login/bob", "password=bob-pw", token=None)

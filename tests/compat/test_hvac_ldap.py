"""Logging in through hvac's ``client.auth.ldap``, the way applications do, against
`lambdavault server -dev` and OpenBao 2.6.2's `bao server -dev`, over the same slapd."""

from __future__ import annotations

from typing import Any

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server
from tests.ldap_support import ADMIN_DN, ADMIN_PASSWORD, GROUPS_DN, USERS_DN, Directory

pytestmark = pytest.mark.compat


def _session(server: Server, slapd: Directory) -> dict[str, Any]:
    admin = hvac.Client(url=server.address, token=ROOT_TOKEN)
    if "ldap/" in admin.sys.list_auth_methods()["data"]:
        admin.sys.disable_auth_method("ldap")  # the OpenBao server is shared
    admin.sys.enable_auth_method("ldap")
    admin.auth.ldap.configure(
        url=slapd.url, binddn=ADMIN_DN, bindpass=ADMIN_PASSWORD, userdn=USERS_DN,
        userattr="cn", groupdn=GROUPS_DN, token_policies=["base"],
    )  # fmt: skip
    admin.auth.ldap.create_or_update_group("engineers", policies=["eng"])
    admin.auth.ldap.create_or_update_user("bob", policies=["own"], groups=["extra"])
    user = hvac.Client(url=server.address)
    auth = user.auth.ldap.login("bob", "bob-pw", mount_point="ldap")["auth"]
    assert user.is_authenticated() and user.token == auth["client_token"]
    refused = []
    for name, password in (("bob", "wrong"), ("*", "bob-pw"), ("ghost", "x")):
        with pytest.raises(InvalidRequest) as error:
            hvac.Client(url=server.address).auth.ldap.login(name, password)
        refused.append(error.value.errors)
    looked = user.auth.token.lookup_self()["data"]
    config = admin.auth.ldap.read_configuration()["data"]
    return {
        "policies": auth["policies"], "metadata": auth["metadata"], "refused": refused,
        "renewable": user.auth.token.renew_self()["auth"]["renewable"],
        "display_name": looked["display_name"], "path": looked["path"],
        "user": admin.auth.ldap.read_user("bob")["data"],
        "groups": admin.auth.ldap.list_groups()["data"]["keys"],
        "config_has_bindpass": "bindpass" in config, "binddn": config["binddn"],
    }  # fmt: skip


def test_hvac_ldap_login_matches_openbao(
    dev_server: Server, openbao_ldap: Server, slapd: Directory
) -> None:
    ours = _session(dev_server, slapd)
    assert ours["policies"] == ["base", "default", "eng", "own"]
    assert ours == _session(openbao_ldap, slapd)

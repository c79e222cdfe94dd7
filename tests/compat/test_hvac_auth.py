"""Logging in through hvac's ``client.auth.userpass`` and ``client.auth.approle``, the way
applications do, against `lambdavault server -dev` and a real `bao server -dev`."""

from __future__ import annotations

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


def _admin(server: Server) -> hvac.Client:
    client = hvac.Client(url=server.address, token=ROOT_TOKEN)
    for method in ("userpass", "approle"):
        if f"{method}/" in client.sys.list_auth_methods()["data"]:
            client.sys.disable_auth_method(method)  # the OpenBao server is shared
        client.sys.enable_auth_method(method)
    return client


def _userpass_session(server: Server) -> dict:
    admin = _admin(server)
    admin.auth.userpass.create_or_update_user("alice", "pw", policies=["app"])
    user = hvac.Client(url=server.address)
    auth = user.auth.userpass.login("alice", "pw")["auth"]
    assert user.is_authenticated() and user.token == auth["client_token"]
    with pytest.raises(InvalidRequest, match="invalid username or password"):
        hvac.Client(url=server.address).auth.userpass.login("alice", "wrong")
    renewed = user.auth.token.renew_self()["auth"]
    looked = user.auth.token.lookup_self()["data"]
    return {
        "policies": auth["policies"], "metadata": auth["metadata"],
        "renewable": renewed["renewable"], "display_name": looked["display_name"],
        "path": looked["path"], "has_entity": bool(looked["entity_id"]),
        "users": admin.auth.userpass.list_user()["data"]["keys"],
    }


def _approle_session(server: Server) -> dict:
    admin = _admin(server)
    admin.auth.approle.create_or_update_approle("app", token_policies=["app"], token_ttl="1h")
    role_id = admin.auth.approle.read_role_id("app")["data"]["role_id"]
    secret = admin.auth.approle.generate_secret_id("app", metadata={"host": "web-1"})["data"]
    machine = hvac.Client(url=server.address)
    auth = machine.auth.approle.login(role_id, secret["secret_id"])["auth"]
    assert machine.is_authenticated()
    with pytest.raises((InvalidRequest, Forbidden)):
        hvac.Client(url=server.address).auth.approle.login(role_id, "not-the-secret")
    looked = admin.auth.approle.read_secret_id("app", secret["secret_id"])["data"]
    return {
        "policies": auth["policies"], "metadata": auth["metadata"],
        "lease_duration": auth["lease_duration"], "secret_metadata": looked["metadata"],
    }


@pytest.mark.parametrize("session", [_userpass_session, _approle_session])
def test_hvac_logins_match_openbao(dev_server: Server, openbao_dev: Server, session) -> None:
    assert session(dev_server) == session(openbao_dev)

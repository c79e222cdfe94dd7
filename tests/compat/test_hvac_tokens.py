"""Tokens through hvac's ``client.auth.token`` against `lambdavault server -dev`."""

from __future__ import annotations

import hvac
import pytest
from hvac.exceptions import Forbidden, InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module", name="dev_server")
def module_server(module_dev_server: Server) -> Server:
    """One server for the module's tests (each makes tokens of its own)."""
    return module_dev_server


def _client(server: Server, token: str = ROOT_TOKEN) -> hvac.Client:
    return hvac.Client(url=server.address, token=token)


def test_create_lookup_renew(dev_server: Server) -> None:
    client = _client(dev_server)
    auth = client.auth.token.create(policies=["web"], ttl="1h", meta={"app": "x"})["auth"]
    token = auth["client_token"]
    assert auth["policies"] == ["default", "web"] and auth["lease_duration"] == 3600
    data = client.auth.token.lookup(token)["data"]
    assert data["id"] == token and data["meta"] == {"app": "x"}
    assert data["display_name"] == "token-token"  # hvac sends display_name="token"
    assert client.auth.token.lookup_accessor(auth["accessor"])["data"]["id"] == ""
    user = _client(dev_server, token)
    assert user.is_authenticated()
    assert user.auth.token.lookup_self()["data"]["policies"] == ["default", "web"]
    assert user.auth.token.renew_self(increment="2h")["auth"]["lease_duration"] == 7200
    assert client.auth.token.renew(token, increment="30m")["auth"]["lease_duration"] == 1800
    renewed = client.auth.token.renew_accessor(auth["accessor"], increment="1h")["auth"]
    assert renewed["client_token"] == "" and renewed["lease_duration"] == 3600


def test_orphans_batch_and_errors(dev_server: Server) -> None:
    client = _client(dev_server)
    orphan = client.auth.token.create_orphan(policies=["web"])["auth"]
    assert orphan["orphan"] is True
    batch = client.auth.token.create(policies=["web"], type="batch", ttl="10m")["auth"]
    assert batch["client_token"].startswith("b.") and batch["renewable"] is False
    assert _client(dev_server, batch["client_token"]).is_authenticated()
    with pytest.raises(InvalidRequest, match="batch tokens cannot be renewed"):
        client.auth.token.renew(batch["client_token"])
    with pytest.raises(InvalidRequest, match="number of uses cannot be negative"):
        client.auth.token.create(num_uses=-1)
    with pytest.raises(Forbidden):
        client.auth.token.lookup("s.doesnotexist000000000000")


def test_revocation(dev_server: Server) -> None:
    client = _client(dev_server)
    parent = client.auth.token.create(policies=["root"])["auth"]["client_token"]
    as_parent = _client(dev_server, parent)
    child = as_parent.auth.token.create()["auth"]
    grandchild = _client(dev_server, child["client_token"]).auth.token.create()["auth"]
    client.auth.token.revoke_and_orphan_children(parent)
    assert not as_parent.is_authenticated()
    assert client.auth.token.lookup(child["client_token"])["data"]["orphan"] is True
    client.auth.token.revoke(child["client_token"])
    assert not _client(dev_server, grandchild["client_token"]).is_authenticated()
    spare = client.auth.token.create(policies=["web"])["auth"]
    assert spare["accessor"] in client.auth.token.list_accessors()["data"]["keys"]
    client.auth.token.revoke_accessor(spare["accessor"])
    assert spare["accessor"] not in client.auth.token.list_accessors()["data"]["keys"]
    selfish = client.auth.token.create(policies=["web"])["auth"]["client_token"]
    _client(dev_server, selfish).auth.token.revoke_self()
    assert not _client(dev_server, selfish).is_authenticated()
    assert client.auth.token.tidy().status_code == 202


def test_roles(dev_server: Server) -> None:
    client = _client(dev_server)
    client.auth.token.create_or_update_role(
        "app", allowed_policies=["web"], orphan=True, token_period="1h", path_suffix="v1.0"
    )
    role = client.auth.token.read_role("app")["data"]
    assert role["allowed_policies"] == ["web"] and role["token_period"] == 3600
    assert client.auth.token.list_roles()["data"]["keys"] == ["app"]
    auth = client.auth.token.create(role_name="app")["auth"]
    assert auth["orphan"] is True and auth["lease_duration"] == 3600
    with pytest.raises(InvalidRequest, match="must be subset of the role's allowed policies"):
        client.auth.token.create(role_name="app", policies=["other"])
    client.auth.token.delete_role("app")
    with pytest.raises(InvalidRequest, match="unknown role app"):
        client.auth.token.create(role_name="app")

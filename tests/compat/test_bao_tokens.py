"""Tokens through the real OpenBao CLI against `lambdavault server -dev`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compat.conftest import Server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module", name="dev_server")
def module_server(module_dev_server: Server) -> Server:
    """One server for the module's tests (each makes tokens of its own)."""
    return module_dev_server


def _create(server: Server, *flags: str, token: str | None = None) -> dict:
    kwargs = {} if token is None else {"token": token}
    reply = server.bao("token", "create", "-format=json", *flags, **kwargs).json()
    assert isinstance(reply, dict)
    return reply["auth"]


def _write_policy(server: Server, tmp_path: Path, name: str, hcl: str) -> None:
    rules = tmp_path / f"{name}.hcl"
    rules.write_text(hcl)
    server.bao("policy", "write", name, str(rules))


def test_create_login_and_lookup(dev_server: Server) -> None:
    auth = _create(dev_server, "-policy=web", "-ttl=1h", "-use-limit=5", "-display-name=app",
                   "-metadata=team=a")
    token, accessor = auth["client_token"], auth["accessor"]
    assert token.startswith("s.") and auth["policies"] == ["default", "web"]
    assert auth["lease_duration"] == 3600 and auth["metadata"] == {"team": "a"}
    login = dev_server.bao("login", "-no-store", token, token=None)
    assert "Success! You are now authenticated." in login.out
    assert token in login.out and accessor in login.out
    data = dev_server.bao("token", "lookup", "-format=json", token).json()["data"]
    assert data["id"] == token and data["display_name"] == "token-app"
    assert data["num_uses"] == 4  # the login's lookup-self spent one
    by_accessor = dev_server.bao("token", "lookup", "-format=json", "-accessor", accessor).json()
    assert by_accessor["data"]["id"] == "" and by_accessor["data"]["accessor"] == accessor
    table = dev_server.bao("token", "lookup", token).out
    assert "creation_ttl        1h" in table and "path                auth/token/create" in table


def test_use_limit_through_the_cli(dev_server: Server) -> None:
    token = _create(dev_server, "-policy=web", "-use-limit=2")["client_token"]
    assert dev_server.bao("token", "lookup", token=token).code == 0
    assert dev_server.bao("token", "lookup", token=token).code == 0
    spent = dev_server.bao("token", "lookup", token=token, check=False)
    assert spent.code == 2 and "permission denied" in spent.err


def test_create_flags(dev_server: Server, tmp_path: Path) -> None:
    orphan = _create(dev_server, "-orphan", "-period=1h", "-policy=web")
    assert orphan["orphan"] is True and orphan["lease_duration"] == 3600
    batch = _create(dev_server, "-type=batch", "-policy=web", "-ttl=10m")
    assert batch["client_token"].startswith("b.") and batch["accessor"] == ""
    looked = dev_server.bao("token", "lookup", "-format=json", batch["client_token"]).json()
    assert looked["data"]["type"] == "batch"
    dev_server.bao("write", "auth/token/roles/app", "allowed_policies=web", "orphan=true",
                   "path_suffix=v1.0")
    role = _create(dev_server, "-role=app")
    assert role["policies"] == ["default", "web"] and role["orphan"] is True
    role_data = dev_server.bao("token", "lookup", "-format=json", role["client_token"]).json()
    assert role_data["data"]["path"] == "auth/token/create/app/v1.0"
    _write_policy(dev_server, tmp_path, "creator", 'path "auth/token/*" { capabilities = '
                  '["create", "update"] }')
    creator = _create(dev_server, "-policy=creator")["client_token"]
    refused = dev_server.bao("token", "create", "-policy=other", token=creator, check=False)
    assert refused.code == 2 and "child policies must be subset of parent" in refused.err


def test_renew(dev_server: Server) -> None:
    token = _create(dev_server, "-policy=web", "-ttl=1h", "-explicit-max-ttl=2h")["client_token"]
    renewed = dev_server.bao("token", "renew", "-increment=30m", "-format=json", token).json()
    assert renewed["auth"]["lease_duration"] == 1800
    capped = dev_server.bao("token", "renew", "-increment=3h", "-format=json", token).json()
    assert capped["auth"]["lease_duration"] <= 7200
    assert "TTL value is capped accordingly" in capped["warnings"][0]
    self_renew = dev_server.bao("token", "renew", "-format=json", token=token).json()
    assert self_renew["auth"]["client_token"] == token
    root = dev_server.bao("token", "renew", check=False)
    assert root.code == 2 and "lease is not renewable" in root.err


def test_revoke_modes(dev_server: Server, tmp_path: Path) -> None:
    _write_policy(dev_server, tmp_path, "creator", 'path "auth/token/*" { capabilities = '
                  '["create", "update", "read"] }')
    parent = _create(dev_server, "-policy=creator")["client_token"]
    child = _create(dev_server, token=parent)["client_token"]
    out = dev_server.bao("token", "revoke", "-mode=orphan", parent).out
    assert "Success! Revoked token (if it existed)" in out
    orphaned = dev_server.bao("token", "lookup", "-format=json", child).json()["data"]
    assert orphaned["orphan"] is True
    grandchild = _create(dev_server, token=child)["client_token"]
    dev_server.bao("token", "revoke", child)
    for gone in (parent, child, grandchild):
        missing = dev_server.bao("token", "lookup", gone, check=False)
        assert missing.code == 2 and "bad token" in missing.err
    auth = _create(dev_server, "-policy=web")
    dev_server.bao("token", "revoke", "-accessor", auth["accessor"])
    assert dev_server.bao("token", "lookup", auth["client_token"], check=False).code == 2
    self_token = _create(dev_server, "-policy=web")["client_token"]
    dev_server.bao("token", "revoke", "-self", token=self_token)
    assert dev_server.bao("token", "lookup", self_token, check=False).code == 2


def test_token_capabilities(dev_server: Server, tmp_path: Path) -> None:
    assert dev_server.bao("token", "capabilities", "sys/mounts").out.strip() == "root"
    _write_policy(dev_server, tmp_path, "reader",
                  'path "sys/mounts" { capabilities = ["read", "update"] }')
    token = _create(dev_server, "-policy=reader")["client_token"]
    listed = dev_server.bao("token", "capabilities", token, "sys/mounts").out.strip()
    assert listed == "read, update"
    # Without a TOKEN argument the CLI asks sys/capabilities-self with its own token.
    own = dev_server.bao("token", "capabilities", "sys/mounts", token=token).out.strip()
    assert own == "read, update"
    assert dev_server.bao("token", "capabilities", "nothing", token=token).out.strip() == "deny"
    bad = dev_server.bao("token", "capabilities", "bogus", "sys/mounts", check=False)
    assert bad.code == 2 and "invalid token" in bad.err


def test_lease_revoke_prefix_of_a_role_kills_its_tokens_before_answering(
    dev_server: Server,
) -> None:
    dev_server.bao("write", "auth/token/roles/ci", "allowed_policies=web")
    tokens = [_create(dev_server, "-role=ci", "-policy=web")["client_token"] for _ in range(2)]
    other = _create(dev_server, "-policy=web")["client_token"]
    # Without -sync the CLI sends sync=false: OpenBao's lazy revoke, which still revokes.
    done = dev_server.bao("lease", "revoke", "-prefix", "auth/token/create/ci")
    assert "All revocation operations queued successfully!" in done.out
    for token in tokens:
        gone = dev_server.bao("token", "lookup", token, check=False)
        assert gone.code == 2 and "bad token" in gone.err
    dev_server.bao("token", "lookup", other)

"""Policies through the real CLI and hvac's sys policy calls, against `lambdavault server -dev`."""

from __future__ import annotations

import hvac
import pytest

from tests.compat.conftest import ROOT_TOKEN, Server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module", name="dev_server")
def module_server(module_dev_server: Server) -> Server:
    """One server for the module's tests (each works under names of its own)."""
    return module_dev_server

RULES = 'path "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n'


def test_bao_policy_write_read_list_delete(dev_server: Server, tmp_path) -> None:
    rules = tmp_path / "app.hcl"
    rules.write_text(RULES)
    assert "Success" in dev_server.bao("policy", "write", "app", str(rules)).out
    assert dev_server.bao("policy", "read", "app").out.strip() == RULES.strip()
    listed = dev_server.bao("policy", "list").out.split()
    assert {"app", "default", "root"} <= set(listed)
    bad = tmp_path / "bad.hcl"
    bad.write_text('path "x" { capabilities = ["fly"] }')
    refused = dev_server.bao("policy", "write", "bad", str(bad), check=False)
    assert refused.code == 2 and "failed to parse policy" in refused.err
    dev_server.bao("policy", "delete", "app")
    assert "app" not in dev_server.bao("policy", "list").out.split()
    gone = dev_server.bao("policy", "read", "app", check=False)
    assert gone.code == 2 and "No policy named: app" in gone.err


def test_hvac_sys_policy_calls(dev_server: Server) -> None:
    client = hvac.Client(url=dev_server.address, token=ROOT_TOKEN)
    client.sys.create_or_update_policy(name="svc", policy=RULES)
    assert client.sys.read_policy(name="svc")["data"]["rules"] == RULES
    assert "svc" in client.sys.list_policies()["data"]["policies"]
    client.sys.create_or_update_acl_policy(name="acl", policy=RULES)
    assert client.sys.read_acl_policy(name="acl")["data"]["policy"] == RULES
    assert "acl" in client.sys.list_acl_policies()["data"]["keys"]
    client.sys.delete_policy(name="svc")
    client.sys.delete_acl_policy(name="acl")
    assert not {"svc", "acl"} & set(client.sys.list_policies()["data"]["policies"])

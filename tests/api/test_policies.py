"""sys/policy and sys/policies/acl over HTTP, with OpenBao's answers."""

from __future__ import annotations

from tests.support import VaultHTTP

RULES = 'path "secret/*" { capabilities = ["read"] }'


def test_write_read_list_delete(vault: VaultHTTP) -> None:
    assert vault.put("sys/policy/MyPol", {"policy": RULES}).status_code == 204
    read = vault.get("sys/policy/mypol").json()
    assert read["data"]["name"] == "mypol" and read["data"]["rules"] == RULES
    assert read["rules"] == RULES and read["data"]["version"] == 1
    listed = vault.get("sys/policy").json()["data"]
    assert listed["keys"] == listed["policies"]
    assert {"mypol", "root"} <= set(listed["keys"])
    acl = vault.list("sys/policies/acl").json()["data"]["keys"]
    assert "mypol" in acl and "root" in acl
    assert vault.get("sys/policies/acl/mypol").json()["data"]["policy"] == RULES
    assert vault.delete("sys/policy/mypol").status_code == 204
    assert vault.get("sys/policy/mypol").status_code == 404
    assert vault.delete("sys/policy/mypol").status_code == 204


def test_acl_path_versions_and_check_and_set(vault: VaultHTTP) -> None:
    required = {"policy": RULES, "cas_required": True}
    refused = vault.put("sys/policies/acl/p", required)
    assert refused.json() == {"errors": ["check-and-set parameter required for this call"]}
    assert vault.put("sys/policies/acl/p", {**required, "cas": 0}).status_code == 204
    assert vault.put("sys/policies/acl/p", {"policy": RULES}).json() == refused.json()
    stale = vault.put("sys/policies/acl/p", {"policy": RULES, "cas": 0})
    assert stale.json() == {
        "errors": ["check-and-set parameter 0 did not match the current version 1"]
    }
    assert vault.put("sys/policies/acl/p", {"policy": RULES, "cas": 1}).status_code == 204
    assert vault.get("sys/policies/acl/p").json()["data"]["version"] == 2


def test_policy_errors(vault: VaultHTTP) -> None:
    assert vault.put("sys/policy/nop", {}).json() == {
        "errors": ["'policy' parameter not supplied or empty"]
    }
    invalid = vault.put("sys/policy/bad", {"policy": 'path "x" { capabilities = ["fly"] }'})
    assert invalid.status_code == 400
    assert invalid.json()["errors"][0].startswith("failed to parse policy")
    assert vault.put("sys/policy/root", {"policy": RULES}).json() == {
        "errors": ['cannot update "root" policy']
    }
    assert vault.delete("sys/policy/root").json() == {"errors": ['cannot delete "root" policy']}
    assert vault.delete("sys/policy/default").json() == {"errors": ["cannot delete default policy"]}
    assert vault.get("sys/policy/nonexist").json() == {"errors": []}

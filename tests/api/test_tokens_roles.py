"""Token roles over HTTP: CRUD, validation, and creating tokens against them."""

from __future__ import annotations

import pytest

from tests.api.tokens_support import DENIED, allow, create, create_reply, lookup_data
from tests.support import VaultHTTP

ROLE_DEFAULTS = {
    "allowed_entity_aliases": None,
    "allowed_policies": [],
    "allowed_policies_glob": [],
    "disallowed_policies": [],
    "disallowed_policies_glob": [],
    "explicit_max_ttl": 0,
    "orphan": False,
    "path_suffix": "",
    "period": 0,
    "renewable": True,
    "token_explicit_max_ttl": 0,
    "token_no_default_policy": False,
    "token_period": 0,
    "token_type": "default-service",
}


def test_role_crud_and_list(vault: VaultHTTP) -> None:
    assert vault.list("auth/token/roles").status_code == 404
    assert vault.get("auth/token/roles/nope").status_code == 404
    body = {"allowed_policies": "Web, other", "orphan": True, "path_suffix": "v1.0"}
    assert vault.post("auth/token/roles/r1", body).status_code == 204
    read = vault.get("auth/token/roles/r1").json()["data"]
    assert read == {
        **ROLE_DEFAULTS, "name": "r1", "allowed_policies": ["other", "web"], "orphan": True,
        "path_suffix": "v1.0",
    }
    # An update changes only what it sends.
    assert vault.post("auth/token/roles/r1", {"renewable": False}).status_code == 204
    updated = vault.get("auth/token/roles/r1").json()["data"]
    assert updated["renewable"] is False and updated["orphan"] is True
    vault.post("auth/token/roles/r2", {})
    assert vault.list("auth/token/roles").json()["data"]["keys"] == ["r1", "r2"]
    assert vault.delete("auth/token/roles/r1").status_code == 204
    assert vault.get("auth/token/roles/r1").status_code == 404


def test_deprecated_fields_and_warnings(vault: VaultHTTP) -> None:
    body = {"period": "1h", "token_period": "2h", "explicit_max_ttl": "9999h", "token_num_uses": 3}
    reply = vault.post("auth/token/roles/r3", body)
    assert reply.status_code == 200
    assert reply.json()["warnings"] == [
        "Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value",
        "Given explicit max TTL of 35996400 is greater than system/mount allowed value of "
        "2764800 seconds; until this is fixed attempting to create tokens against this role "
        "will result in an error",
    ]
    read = vault.get("auth/token/roles/r3").json()["data"]
    assert read["period"] == 0 and read["token_period"] == 7200
    assert read["explicit_max_ttl"] == read["token_explicit_max_ttl"] == 35996400
    assert read["token_num_uses"] == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"path_suffix": "v1"},
         "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w"),
        ({"path_suffix": "a..b"},
         "error registering path suffix: path cannot contain parent references"),
        ({"token_type": "weird"}, "invalid 'token_type' value \"weird\""),
        ({"token_type": None}, "Invalid 'token_type' value: null"),
        ({"token_type": "batch"},
         "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens"),
        ({"token_type": "batch", "orphan": True},
         "'token_type' cannot be 'batch' when role is set to generate renewable tokens"),
        ({"token_type": "batch", "orphan": True, "renewable": False, "explicit_max_ttl": "1h"},
         "'token_type' cannot be 'batch' when role is set to generate tokens with an explicit "
         "max TTL"),
        ({"token_num_uses": -1}, "error parsing role fields: 'token_num_uses' cannot be negative"),
    ],
)
def test_role_validation(vault: VaultHTTP, body: dict, message: str) -> None:
    reply = vault.post("auth/token/roles/bad", body)
    assert reply.status_code == 400 and reply.json() == {"errors": [message]}


def test_create_against_role_applies_it(vault: VaultHTTP) -> None:
    role = {"allowed_policies": ["web", "other"], "orphan": True, "path_suffix": "v1.0",
            "token_num_uses": 5, "token_explicit_max_ttl": "2h", "token_period": "1h"}
    vault.post("auth/token/roles/app", role)
    auth = create(vault, {}, path="auth/token/create/app")
    assert auth["policies"] == ["default", "other", "web"] and auth["orphan"] is True
    assert auth["num_uses"] == 5 and auth["lease_duration"] == 3600
    data = lookup_data(vault, auth["client_token"])
    assert data["path"] == "auth/token/create/app/v1.0" and data["role"] == "app"
    assert "period" not in data and data["explicit_max_ttl"] == 0  # role values stay in the role
    fewer = create(vault, {"policies": ["web"], "num_uses": 2}, path="auth/token/create/app")
    assert fewer["policies"] == ["default", "web"] and fewer["num_uses"] == 2
    both = vault.post("auth/token/create/app", {"period": "2h"}).json()
    assert both["warnings"][0] == (
        "Period specified both during creation call and in role; using the lesser value of "
        "3600 seconds"
    )
    unknown = vault.post("auth/token/create/nope", {})
    assert unknown.status_code == 400 and unknown.json() == {"errors": ["unknown role nope"]}


def test_role_allowed_and_disallowed_policies(vault: VaultHTTP) -> None:
    vault.post("auth/token/roles/globs", {
        "allowed_policies_glob": ["w*"], "disallowed_policies": ["bad", "worse"],
        "token_type": "batch", "renewable": False, "orphan": True,
    })
    made = vault.post("auth/token/create/globs", {"policies": ["wx"]}).json()
    assert made["auth"]["policies"] == ["default", "wx"]
    assert made["auth"]["token_type"] == "batch" and made["auth"]["orphan"] is True
    assert made["warnings"] == ['Policy "wx" does not exist']
    outside = vault.post("auth/token/create/globs", {"policies": ["bad"]})
    assert outside.json() == {"errors": [
        'token policies (["bad" "default"]) must be subset of the role\'s allowed policies '
        '(["default"]) or glob policies (["w*"])'
    ]}
    vault.post("auth/token/roles/deny", {"disallowed_policies": ["bad"]})
    denied = vault.post("auth/token/create/deny", {"policies": ["bad"]})
    assert denied.json() == {"errors": ['token policy "bad" is disallowed by this role']}
    vault.post("auth/token/roles/nodefault", {"disallowed_policies": ["default"]})
    plain = create(vault, {"policies": ["x"]}, path="auth/token/create/nodefault")
    assert plain["policies"] == ["x"]


def test_a_role_lets_a_non_sudo_token_escape_the_subset_rule(vault: VaultHTTP) -> None:
    allow(vault, "creator", "auth/token/create/*", "update")
    vault.post("auth/token/roles/escalate", {"allowed_policies": ["web"], "orphan": True})
    parent = create(vault, {"policies": ["creator"]})["client_token"]
    child = create(vault, {"policies": ["web"]}, token=parent, path="auth/token/create/escalate")
    assert child["policies"] == ["default", "web"] and child["orphan"] is True
    plain = create_reply(vault, {"policies": ["web"]}, token=parent)
    assert plain.status_code == 403  # no capability on auth/token/create itself


def test_role_token_renewal_follows_the_role(vault: VaultHTTP) -> None:
    vault.post("auth/token/roles/p", {"token_period": "10m"})
    auth = create(vault, {"policies": ["web"]}, path="auth/token/create/p")
    assert auth["lease_duration"] == 600
    vault.post("auth/token/roles/p", {"token_period": "20m"})
    renewed = vault.post("auth/token/renew", {"token": auth["client_token"]}).json()
    assert renewed["auth"]["lease_duration"] == 1200
    vault.delete("auth/token/roles/p")
    gone = vault.post("auth/token/renew", {"token": auth["client_token"]})
    assert gone.status_code == 500
    assert gone.json() == {
        "errors": ['original token role "p" could not be found, not renewing']
    }


def test_role_bound_cidrs_bind_its_tokens(vault: VaultHTTP) -> None:
    vault.post("auth/token/roles/near", {"token_bound_cidrs": "127.0.0.1/32"})
    vault.post("auth/token/roles/far", {"token_bound_cidrs": ["10.1.2.3/8"]})
    assert vault.get("auth/token/roles/near").json()["data"]["token_bound_cidrs"] == ["127.0.0.1"]
    assert vault.get("auth/token/roles/far").json()["data"]["token_bound_cidrs"] == ["10.1.2.3/8"]
    near = create(vault, {"policies": ["web"]}, path="auth/token/create/near")["client_token"]
    far = create(vault, {"policies": ["web"]}, path="auth/token/create/far")["client_token"]
    data = vault.get("auth/token/lookup-self", token=near).json()["data"]
    assert data["bound_cidrs"] == ["127.0.0.1"]
    assert vault.get("auth/token/lookup-self", token=far).json() == DENIED
    bad = vault.post("auth/token/roles/bad", {"token_bound_cidrs": "nonsense"})
    assert bad.status_code == 400 and bad.json()["errors"][0].startswith("error parsing role")


def test_entity_alias_gives_the_token_that_aliases_entity(vault: VaultHTTP) -> None:
    body = {"allowed_entity_aliases": ["svc-*"], "orphan": True}
    assert vault.post("auth/token/roles/svc", body).status_code == 204

    def entity(alias: str) -> str:
        auth = create(vault, {"entity_alias": alias}, path="auth/token/create/svc")
        return auth["entity_id"]

    first = entity("svc-a")
    assert first and entity("svc-a") == first  # created once, then found
    assert entity("svc-b") not in ("", first)
    refused = create_reply(vault, {"entity_alias": "other"}, path="auth/token/create/svc")
    assert refused.json() == {"errors": ["invalid 'entity_alias' value"]}

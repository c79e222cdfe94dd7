"""Identity policies at request time: groups, nesting, entity policies, disabled entities,
templated policies, and what a warm request with an entity costs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib.core.runtime import Runtime
from chalicelib.identity.store import IDENTITY_GENERATION, IdentityStore
from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.api.test_userpass import add_user, auth_of
from tests.support import VaultHTTP

DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


def write_policy(vault: VaultHTTP, name: str, rules: str) -> None:
    assert vault.put(f"sys/policies/acl/{name}", {"policy": rules}).status_code == 204


@pytest.fixture
def people(vault: VaultHTTP) -> dict[str, dict[str, Any]]:
    """alice and bob logged in through userpass; their auth blocks."""
    assert vault.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    for name in ("alice", "bob"):
        add_user(vault, name)
    vault.post("secret/data/team/plan", {"data": {"v": "1"}})
    write_policy(vault, "team-read", 'path "secret/data/team/*" { capabilities = ["read"] }')
    return {name: auth_of(vault, name) for name in ("alice", "bob")}


def reads_team(vault: VaultHTTP, auth: dict[str, Any]) -> bool:
    reply = vault.get("secret/data/team/plan", token=auth["client_token"])
    assert reply.status_code in (200, 403), reply.text
    return reply.status_code == 200


def group(vault: VaultHTTP, name: str, **body: Any) -> str:
    reply = vault.post("identity/group", {"name": name, **body})
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]["id"]


def test_a_group_policy_applies_to_existing_tokens_at_once(
    vault: VaultHTTP, people: dict[str, dict[str, Any]]
) -> None:
    alice, bob = people["alice"], people["bob"]
    assert not reads_team(vault, alice)
    group_id = group(vault, "team", policies=["team-read"], member_entity_ids=[alice["entity_id"]])
    assert reads_team(vault, alice)  # no new login
    assert not reads_team(vault, bob)
    looked = vault.get("auth/token/lookup-self", token=alice["client_token"]).json()["data"]
    assert looked["identity_policies"] == ["team-read"]
    assert looked["policies"] == ["default"]
    vault.post(f"identity/group/id/{group_id}", {"member_entity_ids": []})
    assert not reads_team(vault, alice)  # taken away just as fast


def test_nested_groups_pass_policies_down(
    vault: VaultHTTP, people: dict[str, dict[str, Any]]
) -> None:
    alice = people["alice"]
    child = group(vault, "child", member_entity_ids=[alice["entity_id"]])
    group(vault, "parent", policies=["team-read"], member_group_ids=[child])
    assert reads_team(vault, alice)
    # The next login lists the inherited policy apart from the token's own.
    again = auth_of(vault, "alice")
    assert (again["token_policies"], again["identity_policies"]) == (["default"], ["team-read"])
    assert again["policies"] == ["default", "team-read"]


def test_entity_policies_and_disabling(vault: VaultHTTP, people: dict[str, dict[str, Any]]) -> None:
    alice = people["alice"]
    entity = f"identity/entity/id/{alice['entity_id']}"
    assert vault.post(entity, {"policies": ["team-read"]}).status_code in (200, 204)
    assert reads_team(vault, alice)
    assert vault.post(entity, {"disabled": True}).status_code in (200, 204)
    reply = vault.get("auth/token/lookup-self", token=alice["client_token"])
    assert reply.status_code == 403  # a disabled entity's tokens are refused
    login = vault.post("auth/userpass/login/alice", {"password": "pw-alice"}, token="")
    assert login.status_code == 403
    assert vault.post(entity, {"disabled": False}).status_code in (200, 204)
    assert reads_team(vault, alice)


def test_a_group_change_in_another_container_applies_here(
    vault: VaultHTTP, people: dict[str, dict[str, Any]]
) -> None:
    alice = people["alice"]
    group_id = group(vault, "team", policies=["team-read"])
    assert not reads_team(vault, alice)  # this container has compiled the graph
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    store = IdentityStore(other.barrier)
    found = store.group(group_id)
    assert found is not None
    store.write_group(found._replace(member_entity_ids=(alice["entity_id"],)), found)
    other.physical.update_cluster_state(bump=[IDENTITY_GENERATION])
    assert reads_team(vault, alice)


def test_a_templated_policy_grants_exactly_one_entitys_path(
    vault: VaultHTTP, people: dict[str, dict[str, Any]]
) -> None:
    accessor = vault.get("sys/auth").json()["data"]["userpass/"]["accessor"]
    write_policy(vault, "own-space", (
        'path "secret/data/users/{{identity.entity.aliases.' + accessor + '.name}}/*" '
        '{ capabilities = ["create", "update", "read"] }'
    ))
    group(vault, "everyone", policies=["own-space"],
          member_entity_ids=[people["alice"]["entity_id"], people["bob"]["entity_id"]])
    alice, bob = people["alice"]["client_token"], people["bob"]["client_token"]
    body = {"data": {"k": "v"}}
    assert vault.post("secret/data/users/alice/notes", body, token=alice).status_code == 200
    assert vault.post("secret/data/users/bob/notes", body, token=bob).status_code == 200
    assert vault.post("secret/data/users/bob/notes", body, token=alice).json() == DENIED
    assert vault.get("secret/data/users/alice/notes", token=bob).json() == DENIED
    assert vault.get("secret/data/users/alice/notes", token=alice).status_code == 200


def test_a_warm_request_with_an_entity_in_two_groups_is_one_round_trip(
    vault: VaultHTTP, people: dict[str, dict[str, Any]], calls: Counter[str]
) -> None:
    alice = people["alice"]
    group(vault, "one", policies=["team-read"], member_entity_ids=[alice["entity_id"]])
    group(vault, "two", policies=["default"], member_entity_ids=[alice["entity_id"]])
    assert reads_team(vault, alice)  # warm: entity known, graph and ACL compiled
    calls.clear()
    assert reads_team(vault, alice)
    assert dict(calls) == {"BatchGetItem": 1}


def test_a_login_tokens_first_request_in_its_container_is_one_round_trip(
    vault: VaultHTTP, people: dict[str, dict[str, Any]], calls: Counter[str]
) -> None:
    """The container that issued the token already knows its entity: no second read."""
    other = vault.post("auth/token/create", {"policies": ["default"]}).json()["auth"]
    assert vault.get("auth/token/lookup-self", token=other["client_token"]).status_code == 200
    fresh = auth_of(vault, "alice")  # the default policy's ACL is compiled above
    calls.clear()
    assert vault.get("auth/token/lookup-self", token=fresh["client_token"]).status_code == 200
    assert dict(calls) == {"BatchGetItem": 1}


def test_group_templates_render_for_members_only(
    vault: VaultHTTP, people: dict[str, dict[str, Any]]
) -> None:
    team = group(vault, "team", member_entity_ids=[people["alice"]["entity_id"]])
    write_policy(vault, "group-space", (
        'path "secret/data/groups/{{identity.groups.names.team.id}}/*" '
        '{ capabilities = ["create", "update", "read"] }\n'
        'path "secret/data/named/{{identity.groups.ids.' + team + '.name}}/*" '
        '{ capabilities = ["create", "update", "read"] }'
    ))
    group(vault, "all", policies=["group-space"],
          member_entity_ids=[people["alice"]["entity_id"], people["bob"]["entity_id"]])
    alice, bob = people["alice"]["client_token"], people["bob"]["client_token"]
    body = {"data": {"k": "v"}}
    for path in (f"secret/data/groups/{team}/x", "secret/data/named/team/x"):
        assert vault.post(path, body, token=alice).status_code == 200
        assert vault.post(path, body, token=bob).json() == DENIED  # not in "team"

"""The identity API over HTTP: entities, aliases, groups, group aliases, lookups, merges.

Expected texts, statuses and shapes were recorded from OpenBao 2.7 (`bao server -dev`)
with the same requests; where OpenBao answers bad input with a 500, the same text comes
back here as a 400 (noted at each such case).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.core.runtime import Runtime
from chalicelib.identity.store import IDENTITY_GENERATION
from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.api.test_userpass import add_user, auth_of
from tests.api.tokens_support import MULTI_DENIED, allow, create
from tests.support import VaultHTTP

ENTITY_KEYS = {
    "id", "name", "policies", "metadata", "disabled", "aliases", "direct_group_ids",
    "group_ids", "inherited_group_ids", "creation_time", "last_update_time",
    "merged_entity_ids", "namespace_id",
}  # fmt: skip
ALIAS_KEYS = {
    "id", "canonical_id", "mount_accessor", "mount_path", "mount_type", "name", "metadata",
    "custom_metadata", "creation_time", "last_update_time", "local", "merged_from_canonical_ids",
}  # fmt: skip
GROUP_KEYS = {
    "id", "name", "type", "policies", "member_entity_ids", "member_group_ids",
    "parent_group_ids", "metadata", "alias", "creation_time", "last_update_time",
    "modify_index", "namespace_id",
}  # fmt: skip


def errors(reply: Any) -> list[str]:
    assert reply.status_code == 400, reply.text
    return reply.json()["errors"]


def multierror(message: str) -> str:
    return f"1 error occurred:\n\t* {message}\n\n"


def data(reply: Any) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def entity(vault: VaultHTTP, name: str, **body: Any) -> str:
    return data(vault.post("identity/entity", {"name": name, **body}))["id"]


def group(vault: VaultHTTP, name: str, **body: Any) -> str:
    return data(vault.post("identity/group", {"name": name, **body}))["id"]


def alias(vault: VaultHTTP, name: str, accessor: str, **body: Any) -> dict[str, Any]:
    body = {"name": name, "mount_accessor": accessor, **body}
    return data(vault.post("identity/entity-alias", body))


@pytest.fixture
def accessors(vault: VaultHTTP) -> dict[str, str]:
    """Two auth mounts: userpass at userpass/ (besides token/)."""
    assert vault.post("sys/auth/userpass", {"type": "userpass"}).status_code == 204
    mounts = vault.get("sys/auth").json()["data"]
    return {"userpass": mounts["userpass/"]["accessor"], "token": mounts["token/"]["accessor"]}


# -- entities ------------------------------------------------------------------------------


def test_entity_create_read_update_by_id_and_name(vault: VaultHTTP) -> None:
    created = data(vault.post("identity/entity", {
        "name": "Alice", "policies": "a,B, a", "metadata": {"team": "ops"},
    }))  # fmt: skip
    assert created == {"id": created["id"], "name": "Alice", "aliases": None}
    read = data(vault.get("identity/entity/name/alice"))  # names ignore case, as OpenBao's
    assert set(read) == ENTITY_KEYS
    assert read["policies"] == ["a", "b"] and read["metadata"] == {"team": "ops"}
    assert (read["aliases"], read["group_ids"], read["merged_entity_ids"]) == ([], [], None)
    assert (read["namespace_id"], read["disabled"]) == ("root", False)
    # A create with an existing name updates it (204), renaming it to the given case.
    assert vault.post("identity/entity", {"name": "alice", "policies": "c"}).status_code == 204
    by_id = data(vault.get(f"identity/entity/id/{created['id']}"))
    assert (by_id["name"], by_id["policies"]) == ("alice", ["c"])
    assert by_id["creation_time"] == read["creation_time"] != by_id["last_update_time"]
    update = {"disabled": True, "metadata": ["k=v"]}
    assert vault.post(f"identity/entity/id/{created['id']}", update).status_code == 204
    assert vault.post("identity/entity/name/alice", {"name": "ignored"}).status_code == 204
    again = data(vault.get("identity/entity/name/ALICE"))
    assert (again["disabled"], again["metadata"], again["name"]) == (True, {"k": "v"}, "alice")
    fresh = data(vault.post("identity/entity/name/Carol", {"policies": ["p"]}))
    assert fresh["name"] == "Carol"
    nameless = data(vault.post("identity/entity", {}))
    assert nameless["name"].startswith("entity_") and nameless["name"].endswith(".root")


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("identity/entity", {"id": "nope"}, "entity not found from id"),
        ("identity/entity/id/nope", {"name": "x"}, "entity not found from id"),
        ("identity/entity", {"name": "x", "policies": "ROOT"}, "policies cannot contain root"),
        # OpenBao: 500 with the same text.
        ("identity/entity", {"name": "x", "metadata": {"bad key": "v"}}, multierror(
            'invalid entity metadata: failed to load metadata pair ("bad key", "v"): key '
            "contains invalid characters"
        )),
        ("identity/entity", {"name": "x", "metadata": {"vault-k": "v"}}, multierror(
            'invalid entity metadata: failed to load metadata pair ("vault-k", "v"): key '
            'prefix "vault-" is reserved for internal use'
        )),
        ("identity/entity/batch-delete", {}, "missing entity ids to delete"),
    ],
)  # fmt: skip
def test_bad_entity_writes(vault: VaultHTTP, path: str, body: dict, message: str) -> None:
    assert errors(vault.post(path, body)) == [message]


def test_entity_name_clash_and_missing_entities(vault: VaultHTTP) -> None:
    first = entity(vault, "one")
    entity(vault, "two")
    assert errors(vault.post(f"identity/entity/id/{first}", {"name": "TWO"})) == [
        "entity name is already in use"
    ]
    for path in ("identity/entity/id/nope", "identity/entity/name/nope"):
        assert vault.get(path).status_code == 404
        assert vault.delete(path).status_code == 204
    assert vault.get("identity/entity").status_code == 405


def test_entity_listings(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    assert vault.list("identity/entity/id").status_code == 404
    ids = sorted([entity(vault, "b-one"), entity(vault, "a-two")])
    held = alias(vault, "u", accessors["userpass"], canonical_id=ids[0])
    by_id = data(vault.list("identity/entity/id"))
    assert by_id["keys"] == ids
    assert by_id["key_info"][ids[0]]["aliases"] == [{
        "id": held["id"], "name": "u", "mount_accessor": accessors["userpass"],
        "mount_type": "userpass", "mount_path": "auth/userpass/",
    }]  # fmt: skip
    assert "aliases" not in by_id["key_info"][ids[1]]
    by_name = data(vault.get("identity/entity/name", params={"list": "true"}))
    names = {ids[0]: by_id["key_info"][ids[0]]["name"], ids[1]: by_id["key_info"][ids[1]]["name"]}
    assert by_name == {"keys": [names[i] for i in ids]}  # ID order; no key_info by name


def test_delete_and_batch_delete_leave_groups(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    ids = [entity(vault, f"e{i}") for i in range(3)]
    held = alias(vault, "gone", accessors["userpass"], canonical_id=ids[0])
    team = group(vault, "team", member_entity_ids=ids)
    assert vault.delete("identity/entity/name/E0").status_code == 204
    assert vault.get(f"identity/entity-alias/id/{held['id']}").status_code == 404
    assert alias(vault, "gone", accessors["userpass"])["id"] != held["id"]  # name free again
    assert data(vault.get(f"identity/group/id/{team}"))["member_entity_ids"] == sorted(ids[1:])
    body = {"entity_ids": [ids[1], ids[2], "nope"]}
    assert vault.post("identity/entity/batch-delete", body).status_code == 204
    assert data(vault.get(f"identity/group/id/{team}"))["member_entity_ids"] is None
    assert all(vault.get(f"identity/entity/id/{i}").status_code == 404 for i in ids)


# -- entity aliases ------------------------------------------------------------------------


def test_entity_alias_create_read_update(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up, token = accessors["userpass"], accessors["token"]
    first = entity(vault, "first")
    made = alias(vault, "u1", up, canonical_id=first, custom_metadata={"a": "b"})
    assert made == {"id": made["id"], "canonical_id": first}
    read = data(vault.get(f"identity/entity-alias/id/{made['id']}"))
    assert set(read) == ALIAS_KEYS | {"namespace_id"}
    assert (read["mount_path"], read["mount_type"]) == ("auth/userpass/", "userpass")
    assert (read["custom_metadata"], read["local"], read["metadata"]) == ({"a": "b"}, False, None)
    assert set(data(vault.get(f"identity/entity/id/{first}"))["aliases"][0]) == ALIAS_KEYS
    # Without canonical_id a new entity is made for the alias.
    loose = alias(vault, "u2", up)
    assert data(vault.get(f"identity/entity/id/{loose['canonical_id']}"))["name"].startswith(
        "entity_"
    )
    # (mount, name) names the alias, regardless of case: this moves it to another entity.
    second = entity(vault, "second")
    assert alias(vault, "U1", up, canonical_id=second) == {"id": made["id"], "canonical_id": second}
    assert data(vault.get(f"identity/entity/id/{first}"))["aliases"] == []
    by_id = f"identity/entity-alias/id/{made['id']}"
    assert vault.post(by_id, {}).status_code == 204  # nothing asked
    assert data(vault.post(by_id, {"name": "renamed", "mount_accessor": token}))["id"] == made["id"]
    moved = data(vault.get(by_id))
    assert (moved["name"], moved["mount_type"]) == ("renamed", "token")
    assert moved["canonical_id"] == second
    assert vault.delete(by_id).status_code == 204
    assert vault.delete(by_id).status_code == 204
    assert data(vault.get(f"identity/entity/id/{second}"))["aliases"] == []


def test_entity_alias_errors(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up, token = accessors["userpass"], accessors["token"]
    owner = entity(vault, "owner")
    other = entity(vault, "other")
    held = alias(vault, "held", up, canonical_id=owner)
    alias(vault, "theirs", up, canonical_id=other)
    spare = alias(vault, "spare", token, canonical_id=other)
    kv = vault.get("sys/mounts").json()["data"]["secret/"]["accessor"]
    cases = [
        ({"name": "x"}, "'id' or 'mount_accessor' and 'name' must be provided"),
        ({"mount_accessor": up}, "'id' or 'mount_accessor' and 'name' must be provided"),
        ({"name": "x", "mount_accessor": "bogus"}, 'invalid mount accessor "bogus"'),
        # Only auth mounts hold aliases here (OpenBao also takes a secrets mount's accessor).
        ({"name": "x", "mount_accessor": kv}, f'invalid mount accessor "{kv}"'),
        ({"name": "x", "mount_accessor": up, "canonical_id": "nope"}, "invalid canonical ID"),
        ({"name": "x", "mount_accessor": up, "canonical_id": owner},
         "Alias already exists for requested entity and mount accessor"),
        ({"id": "nope", "name": "x"}, "invalid alias ID provided"),
        ({"id": held["id"], "name": "THEIRS"},
         "alias with combination of mount accessor and name already exists"),
        ({"id": held["id"], "canonical_id": other},
         "Alias cannot be updated as the given entity already has an alias for this mount "),
        ({"id": spare["id"], "mount_accessor": up},
         "Alias cannot be updated as the entity already has an alias for the given "
         "'mount_accessor' "),
        ({"id": held["id"], "canonical_id": "nope"},
         "given 'canonical_id' is not associated with an entity"),
        # OpenBao: 500 with the same text.
        ({"name": "x", "mount_accessor": token, "custom_metadata": {"k": "v" * 513}}, multierror(
            'custom_metadata validation failed: length of value for key "k" is 513 but must '
            "be 0 < len(value) <= 512"
        )),
    ]  # fmt: skip
    for body, message in cases:
        assert errors(vault.post("identity/entity-alias", body)) == [message], body
    assert vault.get("identity/entity-alias/id/nope").status_code == 404


def test_entity_alias_listing(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    assert vault.list("identity/entity-alias/id").status_code == 404
    made = [alias(vault, name, accessors["userpass"]) for name in ("a", "b")]
    listed = data(vault.list("identity/entity-alias/id"))
    assert listed["keys"] == sorted(m["id"] for m in made)
    assert listed["key_info"][made[0]["id"]] == {
        "name": "a", "canonical_id": made[0]["canonical_id"],
        "mount_accessor": accessors["userpass"], "mount_type": "userpass",
        "mount_path": "auth/userpass/", "custom_metadata": None, "metadata": None, "local": False,
    }  # fmt: skip


def test_a_login_finds_the_alias_made_through_the_api(
    vault: VaultHTTP, accessors: dict[str, str]
) -> None:
    owner = entity(vault, "owner", policies=["from-entity"])
    alias(vault, "Dana", accessors["userpass"], canonical_id=owner)
    add_user(vault, "dana")
    auth = auth_of(vault, "dana")
    assert auth["entity_id"] == owner and auth["identity_policies"] == ["from-entity"]


# -- groups --------------------------------------------------------------------------------


def test_group_create_read_and_nesting(vault: VaultHTTP) -> None:
    member = entity(vault, "member")
    child = group(vault, "Child", policies="p1,P2", member_entity_ids=[member], metadata={"m": "1"})
    parent = group(vault, "parent", policies=["pp"], member_group_ids=[child])
    grand = group(vault, "grand", member_group_ids=[parent])
    read = data(vault.get(f"identity/group/id/{child}"))
    assert set(read) == GROUP_KEYS
    assert {k: read[k] for k in ("name", "type", "policies", "member_entity_ids", "alias")} == {
        "name": "Child", "type": "internal", "policies": ["p1", "p2"],
        "member_entity_ids": [member], "alias": {},
    }  # fmt: skip
    assert (read["parent_group_ids"], read["member_group_ids"]) == ([parent], None)
    assert (read["modify_index"], read["metadata"]) == (1, {"m": "1"})
    top = data(vault.get("identity/group/name/GRAND"))
    assert (top["member_group_ids"], top["parent_group_ids"], top["policies"]) == (
        [parent], None, None,
    )  # fmt: skip
    person = data(vault.get(f"identity/entity/id/{member}"))
    assert person["direct_group_ids"] == [child]
    assert person["inherited_group_ids"] == sorted([parent, grand])
    assert person["group_ids"] == [child, *sorted([parent, grand])]
    # A write naming an existing group (any case) updates it: 204, renamed.
    assert vault.post("identity/group", {"name": "child", "policies": "zz"}).status_code == 204
    assert data(vault.get(f"identity/group/id/{child}"))["modify_index"] == 2
    assert vault.post("identity/group/name/fresh", {"policies": "n"}).status_code == 200
    assert vault.post("identity/group/name/fresh", {"policies": "m"}).status_code == 204
    assert data(vault.post("identity/group", {}))["name"].startswith("group_")


def test_group_errors_and_cycles(vault: VaultHTTP) -> None:
    person = entity(vault, "person")
    child = group(vault, "child")
    parent = group(vault, "parent", member_group_ids=[child])
    top = group(vault, "top", member_group_ids=[parent])
    external = group(vault, "ext", type="external")
    cases = [
        (f"group/id/{child}", {"member_group_ids": [top]},
         f'cyclic relationship detected for member group ID "{top}"'),
        # OpenBao: 500 for these four, same texts.
        (f"group/id/{child}", {"member_group_ids": [child]},
         multierror(f'member group ID "{child}" is same as the ID of the group')),
        ("group", {"name": "x", "member_entity_ids": ["nope"]},
         multierror('invalid entity ID "nope"')),
        ("group", {"name": "x", "member_group_ids": ["nope"]},
         multierror('invalid member group ID "nope"')),
        ("group", {"name": "x", "metadata": {"a b": "c"}}, multierror(
            'invalid group metadata: failed to load metadata pair ("a b", "c"): key contains '
            "invalid characters"
        )),
        ("group", {"name": "x", "type": "external", "member_entity_ids": [person]},
         "member entities can't be set manually for external groups"),
        (f"group/id/{external}", {"member_group_ids": [child]},
         "member groups can't be set for external groups"),
        (f"group/id/{external}", {"type": "internal"}, "group type cannot be changed"),
        ("group", {"name": "x", "type": "weird"}, 'invalid group type "weird"'),
        ("group", {"name": "x", "policies": ["root"]}, "policies cannot contain root"),
        ("group", {"id": "nope"}, "invalid group ID"),
        ("group/id/nope", {"name": "x"}, "invalid group ID"),
        (f"group/id/{parent}", {"name": "TOP"}, "group name is already in use"),
    ]  # fmt: skip
    for path, body, message in cases:
        assert errors(vault.post(f"identity/{path}", body)) == [message], body
    for path in ("identity/group/id/nope", "identity/group/name/nope"):
        assert vault.get(path).status_code == 404
        assert vault.delete(path).status_code == 204


def test_group_listings_and_deletes(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    assert vault.list("identity/group/id").status_code == 404
    member = entity(vault, "m")
    child = group(vault, "child", member_entity_ids=[member])
    parent = group(vault, "parent", member_group_ids=[child])
    body = {"name": "ga", "mount_accessor": accessors["token"]}
    ext = data(vault.post("identity/group-alias", body))
    listed = data(vault.list("identity/group/id"))
    assert listed["keys"] == sorted([child, parent, ext["canonical_id"]])
    assert listed["key_info"][child] == {
        "name": "child", "num_member_entities": 1, "num_parent_groups": 1,
    }  # fmt: skip
    assert listed["key_info"][ext["canonical_id"]]["alias"] == {
        "id": ext["id"], "name": "ga", "mount_accessor": accessors["token"],
        "mount_type": "token", "mount_path": "auth/token/",
    }  # fmt: skip
    names = data(vault.list("identity/group/name"))
    assert names == {"keys": [listed["key_info"][i]["name"] for i in listed["keys"]]}
    assert vault.delete("identity/group/name/CHILD").status_code == 204
    assert data(vault.get(f"identity/group/id/{parent}"))["member_group_ids"] is None
    assert data(vault.get(f"identity/entity/id/{member}"))["group_ids"] == []
    assert vault.delete(f"identity/group/id/{ext['canonical_id']}").status_code == 204
    assert vault.get(f"identity/group-alias/id/{ext['id']}").status_code == 404


# -- group aliases -------------------------------------------------------------------------


def test_group_alias_lifecycle(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up, token = accessors["userpass"], accessors["token"]
    ext = group(vault, "ext", type="external", policies="ext")
    made = data(vault.post("identity/group-alias", {
        "name": "ga", "mount_accessor": up, "canonical_id": ext,
    }))  # fmt: skip
    assert made == {"id": made["id"], "canonical_id": ext}
    read = data(vault.get(f"identity/group-alias/id/{made['id']}"))
    assert set(read) == ALIAS_KEYS | {"namespace_id"} and read["custom_metadata"] is None
    shown = data(vault.get(f"identity/group/id/{ext}"))["alias"]
    assert set(shown) == ALIAS_KEYS - {"local", "custom_metadata"}
    # One alias per group: a second one replaces it.
    second = data(vault.post("identity/group-alias", {
        "name": "ga2", "mount_accessor": up, "canonical_id": ext,
    }))  # fmt: skip
    assert vault.get(f"identity/group-alias/id/{made['id']}").status_code == 404
    loose = data(vault.post("identity/group-alias", {"name": "new", "mount_accessor": token}))
    assert data(vault.get(f"identity/group/id/{loose['canonical_id']}"))["type"] == "external"
    by_id = f"identity/group-alias/id/{loose['id']}"
    assert vault.post(by_id, {"name": "new", "mount_accessor": token}).status_code == 204
    moved = data(vault.post(by_id, {"name": "moved", "mount_accessor": token, "canonical_id": ext}))
    assert moved == {"id": loose["id"], "canonical_id": ext}
    assert data(vault.get(f"identity/group/id/{loose['canonical_id']}"))["alias"] == {}
    assert vault.get(f"identity/group-alias/id/{second['id']}").status_code == 404
    assert data(vault.list("identity/group-alias/id"))["keys"] == [loose["id"]]
    assert vault.delete(by_id).status_code == 204
    assert vault.delete(by_id).status_code == 204
    assert data(vault.get(f"identity/group/id/{ext}"))["alias"] == {}
    assert vault.list("identity/group-alias/id").status_code == 404


def test_group_alias_errors(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up = accessors["userpass"]
    internal = group(vault, "internal")
    taken = data(vault.post("identity/group-alias", {"name": "taken", "mount_accessor": up}))
    cases = [
        ({"mount_accessor": up}, "missing alias name"),
        ({"name": "x"}, "missing mount_accessor"),
        ({"name": "x", "mount_accessor": "bogus"}, 'invalid mount accessor "bogus"'),
        ({"name": "x", "mount_accessor": up, "canonical_id": "nope"},
         "invalid group ID given in 'canonical_id'"),
        ({"name": "x", "mount_accessor": up, "canonical_id": internal},
         "alias can't be set on an internal group"),
        ({"name": "TAKEN", "mount_accessor": up},
         "combination of mount and group alias name is already in use"),
        ({"id": "nope", "name": "x", "mount_accessor": up}, "invalid group alias ID"),
        ({"id": taken["id"], "name": "x"}, "missing mount_accessor"),
    ]  # fmt: skip
    for body, message in cases:
        assert errors(vault.post("identity/group-alias", body)) == [message], body
    assert vault.get("identity/group-alias/id/nope").status_code == 404


# -- lookups -------------------------------------------------------------------------------


def test_lookups(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up = accessors["userpass"]
    owner = entity(vault, "Owner")
    held = alias(vault, "held", up, canonical_id=owner)
    ext = data(vault.post("identity/group-alias", {"name": "g-alias", "mount_accessor": up}))
    team = group(vault, "Team")
    for body in (
        {"id": owner}, {"name": "owner"}, {"alias_id": held["id"]},
        {"alias_name": "HELD", "alias_mount_accessor": up},
    ):  # fmt: skip
        assert data(vault.post("identity/lookup/entity", body))["id"] == owner, body
    external = ext["canonical_id"]
    for body, expected in (
        ({"id": team}, team), ({"name": "team"}, team), ({"alias_id": ext["id"]}, external),
        ({"alias_name": "g-alias", "alias_mount_accessor": up}, external),
    ):  # fmt: skip
        found = data(vault.post("identity/lookup/group", body))
        assert set(found) == GROUP_KEYS and found["id"] == expected, body
    for kind in ("entity", "group"):
        path = f"identity/lookup/{kind}"
        for body in ({"name": "missing"}, {"id": ""}, {"alias_id": "nope"}):
            assert vault.post(path, body).status_code == 204
        assert errors(vault.post(path, {})) == ["query parameter not supplied"]
        for body in ({"alias_name": "x"}, {"alias_mount_accessor": up}):
            assert errors(vault.post(path, body)) == [
                "both 'alias_name' and 'alias_mount_accessor' needs to be set"
            ]
        both = {"alias_name": "a", "alias_mount_accessor": up}
        for body in ({"name": "a", "id": "b"}, {**both, "id": "c"}):
            assert errors(vault.post(path, body)) == [
                "query parameter conflict; please supply distinct set of query parameters"
            ]
        assert vault.get(path).status_code == 405


# -- merges --------------------------------------------------------------------------------


def test_merge_errors_and_clash_report(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up = accessors["userpass"]
    target, source, third = entity(vault, "to"), entity(vault, "from"), entity(vault, "third")
    mine = alias(vault, "mine", up, canonical_id=target)
    theirs = alias(vault, "theirs", up, canonical_id=source)
    alias(vault, "third", up, canonical_id=third)
    merge = "identity/entity/merge"
    cases = [
        ({}, "missing entity id to merge to"),
        ({"to_entity_id": target}, "missing entity ids to merge from"),
        ({"to_entity_id": "nope", "from_entity_ids": [source]},
         "entity id to merge to is invalid"),
        ({"to_entity_id": target, "from_entity_ids": ["nope"]},
         "entity id to merge from is invalid"),
        ({"to_entity_id": target, "from_entity_ids": [target]},
         "to_entity_id should not be present in from_entity_ids"),
        ({"to_entity_id": target, "from_entity_ids": [source, third],
          "conflicting_alias_ids_to_keep": ["a", "b"]},
         "aliases conflicts cannot be resolved with multiple from entity ids - merge one entity "
         "at a time"),
        ({"to_entity_id": target, "from_entity_ids": [source, third]},
         f"mount accessor {up} found in multiple fromEntities, merge should be done with one "
         "fromEntity at a time"),
        ({"to_entity_id": target, "from_entity_ids": [source],
          "conflicting_alias_ids_to_keep": ["other"]},
         "conflicting mount accessors in following alias IDs and neither were present in "
         f"conflicting_alias_ids_to_keep: {theirs['id']}, {mine['id']}"),
    ]  # fmt: skip
    for body, message in cases:
        assert errors(vault.post(merge, body)) == [message], body
    clash = vault.post(merge, {"to_entity_id": target, "from_entity_ids": [source]})
    assert clash.status_code == 400
    assert clash.json() == {
        "errors": [
            "2 errors occurred:\n\t* toEntity and at least one fromEntity have aliases with the "
            "same mount accessor, repeat the merge request specifying exactly one fromEntity, "
            f"clashes: \n\t* mountAccessor: {up}, toEntity ID: {target}, fromEntity ID: "
            f"{source}, conflicting toEntity alias ID: {mine['id']}, conflicting fromEntity "
            f"alias ID: {theirs['id']}\n\n"
        ],
        "data": [
            {"alias": "mine", "entity": "to", "entity_id": target, "mount": "userpass",
             "mount_path": "auth/userpass/"},
            {"alias": "theirs", "entity": "from", "entity_id": source, "mount": "userpass",
             "mount_path": "auth/userpass/"},
        ],
    }  # fmt: skip


def test_merge_moves_aliases_groups_and_logins(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up, token = accessors["userpass"], accessors["token"]
    add_user(vault, "erin")
    erin = auth_of(vault, "erin")
    target = entity(vault, "target", policies=["t"])
    mine = alias(vault, "mine", token, canonical_id=target)
    team = group(vault, "team", member_entity_ids=[erin["entity_id"]], policies=["team"])
    body = {"to_entity_id": target, "from_entity_ids": [erin["entity_id"]], "force": True}
    assert vault.post("identity/entity/merge", body).status_code == 204
    merged = data(vault.get(f"identity/entity/id/{target}"))
    assert merged["merged_entity_ids"] == [erin["entity_id"]]
    assert merged["policies"] == ["t"]  # policies are not merged (as OpenBao's API merge)
    moved = next(a for a in merged["aliases"] if a["mount_accessor"] == up)
    assert (moved["name"], moved["canonical_id"]) == ("erin", target)
    assert moved["merged_from_canonical_ids"] == [erin["entity_id"]]
    assert mine["id"] in {a["id"] for a in merged["aliases"]}
    assert vault.get(f"identity/entity/id/{erin['entity_id']}").status_code == 404
    assert data(vault.get(f"identity/group/id/{team}"))["member_entity_ids"] == [target]
    again = auth_of(vault, "erin")  # the alias now leads to the target
    assert again["entity_id"] == target
    assert again["identity_policies"] == ["t", "team"]
    # Tokens issued to the merged-away entity keep only their own policies.
    looked = data(vault.get("auth/token/lookup-self", token=erin["client_token"]))
    assert looked["entity_id"] == erin["entity_id"] and "identity_policies" not in looked


def test_merge_keeps_the_alias_asked_for(vault: VaultHTTP, accessors: dict[str, str]) -> None:
    up = accessors["userpass"]
    target, source = entity(vault, "to"), entity(vault, "from")
    mine = alias(vault, "mine", up, canonical_id=target)
    theirs = alias(vault, "theirs", up, canonical_id=source)
    body = {"to_entity_id": target, "from_entity_ids": [source],
            "conflicting_alias_ids_to_keep": [theirs["id"]]}  # fmt: skip
    assert vault.post("identity/entity/merge", body).status_code == 204
    kept = data(vault.get(f"identity/entity/id/{target}"))["aliases"]
    # OpenBao left the target's alias in place too; one alias per mount holds here.
    assert [a["id"] for a in kept] == [theirs["id"]]
    assert vault.get(f"identity/entity-alias/id/{mine['id']}").status_code == 404
    assert data(vault.get(f"identity/entity-alias/id/{theirs['id']}"))["canonical_id"] == target


# -- what other containers see ---------------------------------------------------------------


def _other_container() -> Runtime:
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    return other


def _inherited(other: Runtime, entity_id: str) -> tuple[str, ...]:
    other.begin([])  # its next request: the cluster state says whether the graph is stale
    found = other.identity.resolve(other, entity_id, {}, prefetched=False)
    assert found is not None
    return found.policies


def test_a_new_group_member_inherits_in_another_container(vault: VaultHTTP) -> None:
    person = entity(vault, "person", policies=["own"])
    child = group(vault, "child")
    group(vault, "parent", policies=["inherited"], member_group_ids=[child])
    other = _other_container()
    assert _inherited(other, person) == ("own",)  # graph compiled there
    vault.post(f"identity/group/id/{child}", {"member_entity_ids": [person]})
    assert _inherited(other, person) == ("inherited", "own")


Step = Callable[[VaultHTTP, dict[str, str]], Any]


@pytest.mark.parametrize(
    ("step", "bumps"),
    [
        (lambda v, ids: v.post("identity/group", {"name": "new"}), True),
        (lambda v, ids: v.post(f"identity/group/id/{ids['group']}", {"policies": "p"}), True),
        (lambda v, ids: v.delete(f"identity/group/id/{ids['group']}"), True),
        (lambda v, ids: v.post("identity/group-alias", {
            "name": "ga", "mount_accessor": ids["accessor"], "canonical_id": ids["external"],
        }), True),
        (lambda v, ids: v.delete(f"identity/entity/id/{ids['member']}"), True),
        (lambda v, ids: v.post("identity/entity/merge", {
            "to_entity_id": ids["loner"], "from_entity_ids": [ids["member"]],
        }), True),
        (lambda v, ids: v.post(f"identity/entity/id/{ids['member']}", {
            "policies": "p", "disabled": True, "metadata": {"k": "v"},
        }), False),
        (lambda v, ids: v.delete(f"identity/entity/id/{ids['loner']}"), False),
        (lambda v, ids: v.post("identity/entity-alias", {
            "name": "a", "mount_accessor": ids["accessor"], "canonical_id": ids["loner"],
        }), False),
    ],
)  # fmt: skip
def test_which_writes_bump_the_identity_generation(
    vault: VaultHTTP, accessors: dict[str, str], step: Step, bumps: bool
) -> None:
    member = entity(vault, "member")
    ids = {
        "member": member, "loner": entity(vault, "loner"), "accessor": accessors["userpass"],
        "group": group(vault, "team", member_entity_ids=[member]),
        "external": group(vault, "ext", type="external"),
    }  # fmt: skip
    other = _other_container()
    before = other.state.generation(IDENTITY_GENERATION)
    assert step(vault, ids).status_code in (200, 204)
    other.begin([])
    assert (other.state.generation(IDENTITY_GENERATION) > before) is bumps


def test_identity_writes_need_the_update_capability(vault: VaultHTTP) -> None:
    """No existence checks: every identity POST is an ACL update, as in OpenBao."""
    allow(vault, "creator", "identity/entity", "create")
    allow(vault, "updater", "identity/entity", "update")
    creator = create(vault, {"policies": ["creator"]})["client_token"]
    updater = create(vault, {"policies": ["updater"]})["client_token"]
    body = {"name": "by-token"}
    assert vault.post("identity/entity", body, token=creator).json() == MULTI_DENIED
    assert vault.post("identity/entity", body, token=updater).status_code == 200

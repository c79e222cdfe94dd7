"""External groups at login: the group aliases a method proves become memberships."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines import registry
from chalicelib.framework import Backend, Field, FieldData, FieldType, Path
from chalicelib.framework.login import Auth
from chalicelib.framework.tokenfields import TokenSettings
from tests.support import VaultHTTP


def _login(request: Request, data: FieldData) -> Response:
    groups = tuple(g for g in data["groups"].split(",") if g)
    return Response(login=Auth(data["name"], TokenSettings(), group_aliases=groups))


def groups_backend() -> Backend:
    """An auth method that believes whatever groups it is told (these tests only)."""
    fields = {"name": Field(FieldType.STRING, ""), "groups": Field(FieldType.STRING, "")}
    return Backend(
        type_name="groupsprobe",
        paths=[Path("login", {Operation.UPDATE: _login}, fields)],
        unauthenticated=("login",),
    )


@pytest.fixture
def probe(vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setitem(registry.AUTH_METHODS, "groupsprobe", f"{__name__}:groups_backend")
    registry.backend_for.cache_clear()
    assert vault.post("sys/auth/probe", {"type": "groupsprobe"}).status_code == 204
    yield vault.get("sys/auth").json()["data"]["probe/"]["accessor"]
    registry.backend_for.cache_clear()


def _external_group(vault: VaultHTTP, name: str, accessor: str, policy: str) -> str:
    made = vault.post("identity/group", {"name": name, "type": "external", "policies": policy})
    group_id = made.json()["data"]["id"]
    alias = {"name": name, "mount_accessor": accessor, "canonical_id": group_id}
    assert vault.post("identity/group-alias", alias).status_code == 200
    return group_id


def _log_in(vault: VaultHTTP, groups: str) -> dict:
    reply = vault.post("auth/probe/login", {"name": "alice", "groups": groups}, token=None)
    assert reply.status_code == 200, reply.text
    return reply.json()["auth"]


def test_login_joins_and_leaves_external_groups(vault: VaultHTTP, probe: str) -> None:
    dev = _external_group(vault, "dev", probe, "dev-policy")
    ops = _external_group(vault, "ops", probe, "ops-policy")

    auth = _log_in(vault, "dev,ops,unknown")
    assert auth["identity_policies"] == ["dev-policy", "ops-policy"]
    entity = auth["entity_id"]
    for group_id in (dev, ops):
        members = vault.get(f"identity/group/id/{group_id}").json()["data"]["member_entity_ids"]
        assert members == [entity]

    # A later login that no longer proves "ops" leaves it; the policies follow at once.
    auth = _log_in(vault, "DEV")
    assert auth["identity_policies"] == ["dev-policy"]
    ops_members = vault.get(f"identity/group/id/{ops}").json()["data"]["member_entity_ids"]
    assert not ops_members
    looked_up = vault.get("auth/token/lookup-self", token=auth["client_token"]).json()["data"]
    assert looked_up["identity_policies"] == ["dev-policy"]


def test_groups_of_other_mounts_are_left_alone(vault: VaultHTTP, probe: str) -> None:
    assert vault.post("sys/auth/other", {"type": "groupsprobe"}).status_code == 204
    other = vault.get("sys/auth").json()["data"]["other/"]["accessor"]
    elsewhere = _external_group(vault, "elsewhere", other, "p")
    reply = vault.post("auth/other/login", {"name": "bob", "groups": "elsewhere"}, token=None)
    bob = reply.json()["auth"]["entity_id"]
    # alice's logins on probe/ never touch a group aliased on other/.
    _log_in(vault, "")
    members = vault.get(f"identity/group/id/{elsewhere}").json()["data"]["member_entity_ids"]
    assert members == [bob]

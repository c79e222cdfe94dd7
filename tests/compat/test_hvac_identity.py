"""The identity API through hvac's ``client.secrets.identity`` against `lambdavault server
-dev`, and through the real `bao` CLI side by side with a real `bao server -dev`."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import hvac
import pytest
from hvac.exceptions import InvalidRequest

from chalicelib.clients import ApiGatewayAdapter
from tests.compat.conftest import ROOT_TOKEN, Server, start_server, stop_server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One dev server for the module, with userpass enabled; tests use names of their own."""
    log = tmp_path_factory.mktemp("hvac-identity") / "server.log"
    started = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        hvac.Client(url=started.address, token=ROOT_TOKEN).sys.enable_auth_method("userpass")
        yield started
    finally:
        stop_server(started)


@pytest.fixture
def client(server: Server) -> hvac.Client:
    return hvac.Client(url=server.address, token=ROOT_TOKEN)


def userpass_accessor(client: hvac.Client) -> str:
    return client.sys.list_auth_methods()["data"]["userpass/"]["accessor"]


def test_entities(client: hvac.Client) -> None:
    identity = client.secrets.identity
    created = identity.create_or_update_entity("hv-web", policies=["a", "B"], metadata={"k": "v"})
    entity_id = created["data"]["id"]
    assert created["data"] == {"id": entity_id, "name": "hv-web", "aliases": None}
    read = identity.read_entity(entity_id)["data"]
    assert (read["policies"], read["metadata"], read["disabled"]) == (["a", "b"], {"k": "v"}, False)
    updated = identity.create_or_update_entity("hv-web", entity_id=entity_id, disabled=True)
    assert updated.status_code == HTTPStatus.NO_CONTENT
    assert identity.read_entity_by_name("HV-WEB")["data"]["disabled"] is True
    by_name = identity.create_or_update_entity_by_name("hv-api", policies=["p"])
    assert by_name["data"]["name"] == "hv-api"
    identity.update_entity(entity_id, name="hv-web2", policies=["c"])
    assert identity.read_entity(entity_id)["data"]["policies"] == ["c"]
    listed = identity.list_entities()["data"]
    assert entity_id in listed["keys"] and listed["key_info"][entity_id]["name"] == "hv-web2"
    assert "hv-api" in identity.list_entities_by_name(method="GET")["data"]["keys"]
    assert identity.lookup_entity(name="hv-web2")["data"]["id"] == entity_id
    assert identity.lookup_entity(name="nobody").status_code == HTTPStatus.NO_CONTENT
    identity.delete_entity(entity_id)
    identity.delete_entity_by_name("hv-api")
    assert identity.lookup_entity(entity_id=entity_id).status_code == HTTPStatus.NO_CONTENT
    with pytest.raises(InvalidRequest, match="policies cannot contain root"):
        identity.create_or_update_entity("hv-bad", policies=["root"])


def test_lists_through_the_api_gateway_adapter(server: Server, client: hvac.Client) -> None:
    """Deployed behind API Gateway, LIST goes out as GET ?list=true (our adapter)."""
    entity_id = client.secrets.identity.create_or_update_entity("hv-listed")["data"]["id"]
    gateway = hvac.Client(url=server.address, token=ROOT_TOKEN, adapter=ApiGatewayAdapter)
    assert entity_id in gateway.secrets.identity.list_entities()["data"]["keys"]
    assert "hv-listed" in gateway.secrets.identity.list_entities_by_name()["data"]["keys"]


def test_aliases_and_merges(client: hvac.Client) -> None:
    identity = client.secrets.identity
    accessor = userpass_accessor(client)
    target = identity.create_or_update_entity("hv-target")["data"]["id"]
    source = identity.create_or_update_entity("hv-source")["data"]["id"]
    made = identity.create_or_update_entity_alias("hv-frank", source, accessor)["data"]
    assert made["canonical_id"] == source
    alias = identity.read_entity_alias(made["id"])["data"]
    assert (alias["name"], alias["mount_type"], alias["mount_path"]) == (
        "hv-frank", "userpass", "auth/userpass/",
    )  # fmt: skip
    assert made["id"] in identity.list_entity_aliases()["data"]["keys"]
    with pytest.raises(InvalidRequest, match="Alias already exists"):
        identity.create_or_update_entity_alias("hv-other", source, accessor)
    team = identity.create_or_update_group("hv-team", member_entity_ids=[source])["data"]["id"]
    assert identity.merge_entities([source], target, force=True).status_code == 204
    merged = identity.read_entity(target)["data"]
    assert merged["merged_entity_ids"] == [source] and merged["direct_group_ids"] == [team]
    assert identity.lookup_entity(alias_id=made["id"])["data"]["id"] == target
    identity.delete_entity_alias(made["id"])
    assert identity.read_entity(target)["data"]["aliases"] == []


def test_groups_and_group_aliases(client: hvac.Client) -> None:
    identity = client.secrets.identity
    member = identity.create_or_update_entity("hv-member")["data"]["id"]
    child = identity.create_or_update_group(
        "hv-child", policies=["kid"], member_entity_ids=[member], metadata={"m": "1"}
    )["data"]["id"]
    parent = identity.create_or_update_group("hv-parent", member_group_ids=[child])["data"]["id"]
    read = identity.read_group_by_name("hv-child")["data"]
    assert (read["parent_group_ids"], read["member_entity_ids"]) == ([parent], [member])
    assert identity.read_entity(member)["data"]["inherited_group_ids"] == [parent]
    with pytest.raises(InvalidRequest, match="cyclic relationship detected"):
        identity.update_group(child, "hv-child", member_group_ids=[parent])
    assert {"hv-child", "hv-parent"} <= set(identity.list_groups_by_name()["data"]["keys"])
    external = identity.create_or_update_group("hv-ext", group_type="external")["data"]["id"]
    alias = identity.create_or_update_group_alias(
        "hv-ldap-group", mount_accessor=userpass_accessor(client), canonical_id=external
    )["data"]
    assert identity.read_group_alias(alias["id"])["data"]["canonical_id"] == external
    assert identity.lookup_group(alias_id=alias["id"])["data"]["name"] == "hv-ext"
    assert alias["id"] in identity.list_group_aliases()["data"]["keys"]
    identity.delete_group_alias(alias["id"])
    identity.delete_group(external)
    identity.delete_group_by_name("hv-parent")
    assert identity.read_group(child)["data"]["parent_group_ids"] is None
    assert external not in identity.list_groups()["data"]["keys"]


# -- the bao CLI, compared with OpenBao ------------------------------------------------------

RANDOM = {"id", "request_id", "creation_time", "last_update_time", "member_entity_ids"}


def scrub(value: Any) -> Any:
    """``value`` without what differs between two servers (IDs, times)."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in RANDOM}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def test_the_bao_cli_matches_openbao(dev_server: Server, openbao_dev: Server) -> None:
    servers = (dev_server, openbao_dev)

    def each(*args: str, check: bool = True) -> list[Any]:
        return [server.bao(*args, check=check) for server in servers]

    written = each("write", "-format=json", "identity/entity", "name=cli-web", "policies=b,A")
    ids = [result.json()["data"]["id"] for result in written]
    assert scrub(written[0].json()) == scrub(written[1].json())
    read = each("read", "-format=json", "identity/entity/name/CLI-WEB")
    assert scrub(read[0].json()) == scrub(read[1].json())
    assert read[0].json()["data"]["policies"] == ["a", "b"]
    for server, entity_id in zip(servers, ids, strict=True):
        server.bao("write", "identity/group", "name=cli-team", f"member_entity_ids={entity_id}")
        server.bao("write", "identity/group", "name=cli-admins", "policies=admin")
    listed = each("list", "identity/group/name")
    assert listed[0].out == listed[1].out  # same names, same table
    group = each("read", "-format=json", "identity/group/name/cli-team")
    assert scrub(group[0].json()) == scrub(group[1].json())
    refused = each("write", "identity/group", "name=cli-bad", "type=weird", check=False)
    assert refused[0].code == refused[1].code == 2
    texts = [r.err.replace(s.address, "ADDR") for r, s in zip(refused, servers, strict=True)]
    assert texts[0] == texts[1] and 'invalid group type "weird"' in texts[0]

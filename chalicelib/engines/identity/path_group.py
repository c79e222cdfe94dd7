"""group, group/id/:id and group/name/:name, and their listings (OpenBao's
identity_store_groups.go). Every write here changes what entities inherit, so each one
bumps the identity generation."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest, multierrors
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.identity.checks import (
    checked_metadata,
    checked_policies,
    quote,
    unique_ids,
)
from chalicelib.engines.identity.common import (
    auth_mounts,
    group_graph,
    groups_changed,
    identity_store,
)
from chalicelib.engines.identity.membership import reaches
from chalicelib.engines.identity.views import group_info, group_view, listing
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.identity.model import EXTERNAL, INTERNAL, Group
from chalicelib.identity.resolve import GroupGraph
from chalicelib.identity.store import IdentityStore, generated_name, new_id, now_text

GROUP_FIELDS = {
    "id": Field(FieldType.STRING, "", "ID of the group; when set, that group is updated."),
    "name": Field(FieldType.STRING, "", "Name of the group (unique, regardless of case)."),
    "type": Field(FieldType.STRING, "", "internal (the default) or external."),
    "metadata": Field(FieldType.KV_PAIRS, dict, "Metadata of the group (key=value pairs)."),
    "policies": Field(FieldType.COMMA_STRING_LIST, list, "Policies of the group."),
    "member_entity_ids": Field(FieldType.COMMA_STRING_LIST, list, "Entities in the group."),
    "member_group_ids": Field(FieldType.COMMA_STRING_LIST, list, "Groups in the group."),
}


def path_group_write(request: Request, data: FieldData) -> Response | None:
    """group: an update when ``id`` or ``name`` names a group, else a new group."""
    if data.is_set("id"):
        return path_group_id_write(request, data)
    if data.is_set("name"):
        return path_group_name_write(request, data)
    return _write(identity_store(), data, None)


def path_group_id_write(request: Request, data: FieldData) -> Response | None:
    if not data["id"]:
        raise BadRequest("empty group ID")
    store = identity_store()
    current = store.group(data["id"])
    if current is None:
        raise BadRequest("invalid group ID")
    return _write(store, data, current)


def path_group_name_write(request: Request, data: FieldData) -> Response | None:
    """Creates the group when no group has the name (OpenBao's pathGroupNameUpdate)."""
    if not data["name"]:
        raise BadRequest("empty group name")
    store = identity_store()
    return _write(store, data, store.group_by_name(data["name"]))


def _group_type(data: FieldData, current: Group | None) -> str:
    kind = current.type if current else ""
    if data.is_set("type"):
        if kind and data["type"] != kind:
            raise BadRequest("group type cannot be changed")
        kind = data["type"]
    kind = kind or INTERNAL
    if kind not in (INTERNAL, EXTERNAL):
        raise BadRequest(f"invalid group type {quote(kind)}")
    return kind


def _write(store: IdentityStore, data: FieldData, current: Group | None) -> Response | None:
    """OpenBao's handleGroupUpdateCommon and SanitizeAndUpsertGroup, checks in its order."""
    now = now_text()
    base = current or Group(id=new_id(), name=generated_name("group"), creation_time=now)
    policies = checked_policies(data["policies"]) if data.is_set("policies") else base.policies
    kind = _group_type(data, current)
    name = data["name"]
    named = store.group_by_name(name) if name else None
    if named is not None and named.id != base.id:
        raise BadRequest("group name is already in use")
    members = base.member_entity_ids
    if data.is_set("member_entity_ids"):
        if kind == EXTERNAL:
            raise BadRequest("member entities can't be set manually for external groups")
        members = unique_ids(data["member_entity_ids"])
    if data.is_set("member_group_ids") and kind == EXTERNAL:
        raise BadRequest("member groups can't be set for external groups")
    metadata = base.metadata
    if data.is_set("metadata"):
        metadata = checked_metadata(data["metadata"], "group")
    if data.is_set("member_entity_ids"):
        _check_entities(store, members)
    group = base._replace(
        name=name or base.name, type=kind, policies=policies, metadata=metadata,
        member_entity_ids=members, last_update_time=now,
    )  # fmt: skip
    if data.is_set("member_group_ids"):
        wanted = unique_ids(data["member_group_ids"])
        _check_member_groups(GroupGraph(store.all_groups()), group, current, wanted)
        group = group._replace(member_group_ids=wanted)
    store.write_group(group, current)
    groups_changed()
    return None if current else Response(data={"id": group.id, "name": group.name})


def _check_entities(store: IdentityStore, entity_ids: tuple[str, ...]) -> None:
    found = {entity.id for entity in store.entities(entity_ids)}
    missing = next((i for i in entity_ids if i not in found), None)
    if missing is not None:
        raise BadRequest(multierrors([f"invalid entity ID {quote(missing)}"]))


def _check_member_groups(
    graph: GroupGraph, group: Group, current: Group | None, wanted: tuple[str, ...]
) -> None:
    """Each must exist; one that is not a member yet must not be the group itself nor
    hold it somewhere below (a cycle). ``graph`` is read fresh: a stale one could let a
    cycle through."""
    for member in wanted:
        if member not in graph.by_id:
            raise BadRequest(multierrors([f"invalid member group ID {quote(member)}"]))
        if current is None or member in current.member_group_ids:
            continue  # a new group is in no group yet, so it cannot close a cycle
        if member == group.id:
            raise BadRequest(
                multierrors([f"member group ID {quote(group.id)} is same as the ID of the group"])
            )
        if reaches(graph, member, group.id):
            raise BadRequest(f"cyclic relationship detected for member group ID {quote(member)}")


def _read(group: Group | None) -> Response | None:
    if group is None:
        return None
    return Response(data=group_view(group, group_graph(), auth_mounts()))


def path_group_id_read(request: Request, data: FieldData) -> Response | None:
    return _read(identity_store().group(data["id"]))


def path_group_name_read(request: Request, data: FieldData) -> Response | None:
    return _read(identity_store().group_by_name(data["name"]))


def _delete(store: IdentityStore, group: Group | None) -> None:
    """The group and its alias go; groups it was in drop it when read (see views)."""
    if group is not None:
        store.delete_group(group)
        groups_changed()


def path_group_id_delete(request: Request, data: FieldData) -> None:
    store = identity_store()
    _delete(store, store.group(data["id"]))


def path_group_name_delete(request: Request, data: FieldData) -> None:
    store = identity_store()
    _delete(store, store.group_by_name(data["name"]))


def _groups(graph: GroupGraph) -> list[Group]:
    """In ID order, as OpenBao lists them (the graph of this generation: no storage read)."""
    return sorted(graph.by_id.values(), key=lambda group: group.id)


def path_group_id_list(request: Request, data: FieldData) -> Response | None:
    graph, mounts = group_graph(), auth_mounts()
    groups = _groups(graph)
    return listing([g.id for g in groups], {g.id: group_info(g, graph, mounts) for g in groups})


def path_group_name_list(request: Request, data: FieldData) -> Response | None:
    return listing([group.name for group in _groups(group_graph())])


def paths() -> list[Path]:
    op = Operation
    return [
        Path("group", {op.UPDATE: path_group_write}, GROUP_FIELDS, synopsis="Create a group."),
        Path("group/id/?", {op.LIST: path_group_id_list}, synopsis="List group IDs."),
        Path("group/name/?", {op.LIST: path_group_name_list}, synopsis="List group names."),
        Path(
            "group/id/{id}",
            {
                op.READ: path_group_id_read,
                op.UPDATE: path_group_id_write,
                op.DELETE: path_group_id_delete,
            },
            GROUP_FIELDS,
            synopsis="Read, update or delete a group by ID.",
        ),
        Path(
            "group/name/{name:path}",
            {
                op.READ: path_group_name_read,
                op.UPDATE: path_group_name_write,
                op.DELETE: path_group_name_delete,
            },
            GROUP_FIELDS,
            synopsis="Read, create or update, or delete a group by name.",
        ),
    ]

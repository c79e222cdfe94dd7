"""lookup/entity and lookup/group: one record found by exactly one criterion (OpenBao's
identity_lookup.go); 204 when nothing matches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.identity.common import auth_mounts, group_graph, identity_store
from chalicelib.engines.identity.views import entity_view, group_view
from chalicelib.framework import Field, FieldData, FieldType, Path

T = TypeVar("T")

LOOKUP_FIELDS = {
    "id": Field(FieldType.STRING, "", "ID of the record."),
    "name": Field(FieldType.STRING, "", "Name of the record."),
    "alias_id": Field(FieldType.STRING, "", "ID of one of its aliases."),
    "alias_name": Field(FieldType.STRING, "", "Name of its alias (with alias_mount_accessor)."),
    "alias_mount_accessor": Field(FieldType.STRING, "", "Mount of its alias (with alias_name)."),
}


class Finders(NamedTuple, Generic[T]):
    """How one kind of record is found by each criterion."""

    by_id: Callable[[str], T | None]
    by_name: Callable[[str], T | None]
    by_alias_id: Callable[[str], T | None]
    by_alias: Callable[[str, str], T | None]  # (mount accessor, alias name)


def _find(data: FieldData, finders: Finders[T]) -> T | None:
    given = [name for name in LOOKUP_FIELDS if data.is_set(name)]
    if not given:
        raise BadRequest("query parameter not supplied")
    alias_name, accessor = data["alias_name"], data["alias_mount_accessor"]
    if len(given) > 1 and not (len(given) == 2 and alias_name and accessor):
        raise BadRequest("query parameter conflict; please supply distinct set of query parameters")
    if len(given) == 1 and (alias_name or accessor):
        raise BadRequest("both 'alias_name' and 'alias_mount_accessor' needs to be set")
    if data["id"]:
        return finders.by_id(data["id"])
    if data["name"]:
        return finders.by_name(data["name"])
    if data["alias_id"]:
        return finders.by_alias_id(data["alias_id"])
    return finders.by_alias(accessor, alias_name) if alias_name else None


def path_lookup_entity(request: Request, data: FieldData) -> Response | None:
    store = identity_store()
    finders = Finders(
        store.entity, store.entity_by_name, store.entity_by_alias_id, store.entity_by_alias
    )
    entity = _find(data, finders)
    if entity is None:
        return None
    return Response(data=entity_view(entity, group_graph(), auth_mounts()))


def path_lookup_group(request: Request, data: FieldData) -> Response | None:
    store = identity_store()
    finders = Finders(
        store.group, store.group_by_name, store.group_by_alias_id, store.group_by_alias
    )
    group = _find(data, finders)
    if group is None:
        return None
    return Response(data=group_view(group, group_graph(), auth_mounts()))


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "lookup/entity", {op.UPDATE: path_lookup_entity}, LOOKUP_FIELDS,
            synopsis="Find an entity by one criterion.", computes=True,
        ),
        Path(
            "lookup/group", {op.UPDATE: path_lookup_group}, LOOKUP_FIELDS,
            synopsis="Find a group by one criterion.", computes=True,
        ),
    ]  # fmt: skip

"""group-alias and group-alias/id/:id, and their listing (OpenBao's
identity_store_group_aliases.go). Only external groups have an alias, one each; a new
alias without canonical_id gets a new external group."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.identity.common import (
    auth_mount,
    auth_mounts,
    group_graph,
    groups_changed,
    identity_store,
)
from chalicelib.engines.identity.views import alias_listing, alias_view
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.identity.model import EXTERNAL, Alias, Group
from chalicelib.identity.store import IdentityStore, generated_name, new_id, now_text

GROUP_ALIAS_FIELDS = {
    "id": Field(FieldType.STRING, "", "ID of the group alias; when set, it is updated."),
    "name": Field(FieldType.STRING, "", "The group's name as the auth mount knows it."),
    "mount_accessor": Field(FieldType.STRING, "", "Accessor of the alias's auth mount."),
    "canonical_id": Field(FieldType.STRING, "", "ID of the (external) group it names."),
}


def path_group_alias_write(request: Request, data: FieldData) -> Response | None:
    if data.is_set("id"):
        return path_group_alias_id_write(request, data)
    return _write(identity_store(), data, None)


def path_group_alias_id_write(request: Request, data: FieldData) -> Response | None:
    if not data["id"]:
        raise BadRequest("empty group alias ID")
    store = identity_store()
    held = _held(store, data["id"])
    if held is None:
        raise BadRequest("invalid group alias ID")
    return _write(store, data, held[0])


def _write(store: IdentityStore, data: FieldData, holder: Group | None) -> Response | None:
    """OpenBao's handleGroupAliasUpdateCommon: name and mount_accessor are always given;
    canonical_id moves the alias to another external group (whose alias it replaces)."""
    alias = holder.alias if holder else None
    name, accessor, canonical_id = data["name"], data["mount_accessor"], data["canonical_id"]
    if not name:
        raise BadRequest("missing alias name")
    if not accessor:
        raise BadRequest("missing mount_accessor")
    same = alias is not None and (alias.name, alias.mount_accessor) == (name, accessor)
    if same and canonical_id in ("", holder.id if holder else ""):
        return None  # nothing changes
    target = None
    if canonical_id:
        target = store.group(canonical_id)
        if target is None:
            raise BadRequest("invalid group ID given in 'canonical_id'")
        if target.type != EXTERNAL:
            raise BadRequest("alias can't be set on an internal group")
    mount = auth_mount(accessor)
    taken = store.group_by_alias(accessor, name)
    other = taken.alias if taken else None
    if other is not None and other.id != (alias.id if alias else ""):
        raise BadRequest("combination of mount and group alias name is already in use")
    now = now_text()
    updated = alias or Alias(id=new_id(), name=name, mount_accessor=accessor, creation_time=now)
    previous = target or holder
    group = previous or Group(
        id=new_id(), name=generated_name("group"), type=EXTERNAL, creation_time=now
    )
    updated = updated._replace(
        name=name, mount_accessor=accessor, mount_type=mount.type, mount_path=mount.router_path,
        canonical_id=group.id, last_update_time=now,
    )  # fmt: skip
    changes = [(previous, group._replace(alias=updated, last_update_time=now))]
    if holder is not None and holder.id != group.id:
        changes.append((holder, holder._replace(alias=None)))
    store.commit(groups=changes)
    groups_changed()
    return Response(data={"id": updated.id, "canonical_id": group.id})


def _held(store: IdentityStore, alias_id: str) -> tuple[Group, Alias] | None:
    holder = store.group_by_alias_id(alias_id)
    alias = holder.alias if holder else None
    return None if holder is None or alias is None or alias.id != alias_id else (holder, alias)


def path_group_alias_read(request: Request, data: FieldData) -> Response | None:
    held = _held(identity_store(), data["id"])
    return None if held is None else Response(data=alias_view(held[1], auth_mounts()))


def path_group_alias_delete(request: Request, data: FieldData) -> None:
    store = identity_store()
    held = _held(store, data["id"])
    if held is not None:
        holder = held[0]
        store.write_group(holder._replace(alias=None, last_update_time=now_text()), holder)
        groups_changed()


def path_group_alias_list(request: Request, data: FieldData) -> Response | None:
    groups = group_graph().by_id.values()
    return alias_listing((g.alias for g in groups if g.alias is not None), auth_mounts())


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "group-alias", {op.UPDATE: path_group_alias_write}, GROUP_ALIAS_FIELDS,
            synopsis="Create a group alias, or update one by ID.",
        ),
        Path(
            "group-alias/id/?", {op.LIST: path_group_alias_list},
            synopsis="List group alias IDs.",
        ),
        Path(
            "group-alias/id/{id}",
            {
                op.READ: path_group_alias_read,
                op.UPDATE: path_group_alias_id_write,
                op.DELETE: path_group_alias_delete,
            },
            GROUP_ALIAS_FIELDS,
            synopsis="Read, update or delete a group alias.",
        ),
    ]  # fmt: skip

"""entity-alias and entity-alias/id/:id, and their listing (OpenBao's
identity_store_aliases.go). An alias is a name as one auth mount knows it: one per
(mount, name) in the cluster, one per mount on an entity."""

from __future__ import annotations

from typing import NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.identity.checks import checked_custom_metadata
from chalicelib.engines.identity.common import auth_mount, auth_mounts, identity_store
from chalicelib.engines.identity.views import alias_listing, alias_view
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.identity.model import Alias, Entity
from chalicelib.identity.store import IdentityStore, generated_name, new_id, now_text

ALIAS_FIELDS = {
    "id": Field(FieldType.STRING, "", "ID of the alias; when set, that alias is updated."),
    "canonical_id": Field(FieldType.STRING, "", "ID of the entity the alias belongs to."),
    "entity_id": Field(FieldType.STRING, "", "Deprecated spelling of canonical_id."),
    "mount_accessor": Field(FieldType.STRING, "", "Accessor of the alias's auth mount."),
    "name": Field(FieldType.STRING, "", "The name the auth mount knows the entity by."),
    "custom_metadata": Field(FieldType.KV_PAIRS, dict, "User-provided key-value pairs."),
}


class Wanted(NamedTuple):
    """What a write asks of an alias; empty fields keep what the alias has."""

    name: str
    mount_accessor: str
    canonical_id: str
    custom_metadata: dict[str, str]


def _held(store: IdentityStore, alias_id: str) -> tuple[Entity, Alias] | None:
    holder = store.entity_by_alias_id(alias_id)
    alias = holder.alias_by_id(alias_id) if holder else None
    return None if holder is None or alias is None else (holder, alias)


def _reply(alias: Alias) -> Response:
    return Response(data={"id": alias.id, "canonical_id": alias.canonical_id})


def path_entity_alias_write(request: Request, data: FieldData) -> Response | None:
    """OpenBao's handleAliasCreateUpdate: ``id`` names the alias to update; otherwise
    (mount_accessor, name) does, and an alias is created when none has them."""
    store = identity_store()
    name, accessor = data["name"], data["mount_accessor"]
    canonical_id = data["canonical_id"] or data["entity_id"]
    custom = checked_custom_metadata(data["custom_metadata"])
    if data["id"]:
        held = _held(store, data["id"])
        if held is None:
            raise BadRequest("invalid alias ID provided")
        holder, alias = held
        if not data.is_set("custom_metadata"):
            custom = dict(alias.custom_metadata or {})
            if not (name or accessor or canonical_id):
                return None  # nothing asked: as idempotent as OpenBao
        wanted = Wanted(name or alias.name, accessor or alias.mount_accessor, canonical_id, custom)
        return _update(store, holder, alias, wanted)
    if not accessor or not name:
        raise BadRequest("'id' or 'mount_accessor' and 'name' must be provided")
    mount = auth_mount(accessor)
    holder = store.entity_by_alias(accessor, name)
    alias = holder.alias_for(accessor) if holder else None
    if holder is not None and alias is not None:
        return _update(store, holder, alias, Wanted(name, accessor, canonical_id, custom))
    return _create(store, mount, name, canonical_id, custom)


def _create(
    store: IdentityStore, mount: MountEntry, name: str, canonical_id: str, custom: dict[str, str]
) -> Response:
    now = now_text()
    previous = None
    if canonical_id:
        previous = store.entity(canonical_id)
        if previous is None:
            raise BadRequest("invalid canonical ID")
    entity = previous or Entity(
        id=new_id(), name=generated_name("entity"), creation_time=now, last_update_time=now
    )
    if entity.alias_for(mount.accessor) is not None:
        raise BadRequest("Alias already exists for requested entity and mount accessor")
    alias = Alias(
        id=new_id(), name=name, mount_accessor=mount.accessor, mount_type=mount.type,
        mount_path=mount.router_path, custom_metadata=custom or None, canonical_id=entity.id,
        creation_time=now, last_update_time=now,
    )  # fmt: skip
    store.write_entity(entity.with_alias(alias), previous)
    return _reply(alias)


def _update(store: IdentityStore, holder: Entity, alias: Alias, wanted: Wanted) -> Response | None:
    """OpenBao's handleAliasUpdate: rename, move to another mount or entity, or change
    the custom metadata; the alias keeps its ID."""
    renamed = (wanted.name, wanted.mount_accessor) != (alias.name, alias.mount_accessor)
    recustomised = wanted.custom_metadata != (alias.custom_metadata or {})
    moving = wanted.canonical_id not in ("", alias.canonical_id)
    if not (renamed or recustomised or moving):
        return None
    changes_mount = wanted.mount_accessor != alias.mount_accessor
    if changes_mount and not moving and holder.alias_for(wanted.mount_accessor) is not None:
        raise BadRequest(
            "Alias cannot be updated as the entity already has an alias for the given "
            "'mount_accessor' "
        )
    updated = alias._replace(last_update_time=now_text())
    if renamed or recustomised:
        mount = auth_mount(wanted.mount_accessor)
        taken = store.entity_by_alias(wanted.mount_accessor, wanted.name)
        other = taken.alias_for(wanted.mount_accessor) if taken else None
        if other is not None and other.id != alias.id:
            raise BadRequest("alias with combination of mount accessor and name already exists")
        updated = updated._replace(
            name=wanted.name, mount_accessor=mount.accessor, mount_type=mount.type,
            mount_path=mount.router_path, custom_metadata=wanted.custom_metadata or None,
        )  # fmt: skip
    if not moving:
        store.write_entity(holder.with_alias(updated), holder)
        return _reply(updated)
    target = store.entity(wanted.canonical_id)
    if target is None:
        raise BadRequest("given 'canonical_id' is not associated with an entity")
    if target.alias_for(wanted.mount_accessor) is not None:
        raise BadRequest(
            "Alias cannot be updated as the given entity already has an alias for this mount "
        )
    updated = updated._replace(canonical_id=target.id)
    store.commit(
        entities=[(holder, holder.without_alias(alias.id)), (target, target.with_alias(updated))]
    )
    return _reply(updated)


def path_entity_alias_read(request: Request, data: FieldData) -> Response | None:
    held = _held(identity_store(), data["id"])
    return None if held is None else Response(data=alias_view(held[1], auth_mounts()))


def path_entity_alias_delete(request: Request, data: FieldData) -> None:
    store = identity_store()
    held = _held(store, data["id"])
    if held is not None:
        holder, alias = held
        store.write_entity(holder.without_alias(alias.id), holder)


def path_entity_alias_list(request: Request, data: FieldData) -> Response | None:
    entities = identity_store().all_entities()
    return alias_listing((alias for entity in entities for alias in entity.aliases), auth_mounts())


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "entity-alias", {op.UPDATE: path_entity_alias_write}, ALIAS_FIELDS,
            synopsis="Create an entity alias, or update the one of (mount, name).",
        ),
        Path("entity-alias/id/?", {op.LIST: path_entity_alias_list}, synopsis="List alias IDs."),
        Path(
            "entity-alias/id/{id}",
            {
                op.READ: path_entity_alias_read,
                op.UPDATE: path_entity_alias_write,
                op.DELETE: path_entity_alias_delete,
            },
            ALIAS_FIELDS,
            synopsis="Read, update or delete an entity alias.",
        ),
    ]  # fmt: skip

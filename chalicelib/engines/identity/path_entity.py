"""entity, entity/id/:id and entity/name/:name (create, read, update, delete), their
listings, and entity/batch-delete (OpenBao's identity_store_entities.go)."""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.identity.checks import checked_metadata, checked_policies
from chalicelib.engines.identity.common import auth_mounts, group_graph, identity_store
from chalicelib.engines.identity.membership import delete_entities
from chalicelib.engines.identity.views import entity_info, entity_view, listing
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.identity.model import Entity
from chalicelib.identity.store import IdentityStore, generated_name, new_id, now_text

ENTITY_FIELDS = {
    "id": Field(FieldType.STRING, "", "ID of the entity; when set, that entity is updated."),
    "name": Field(FieldType.STRING, "", "Name of the entity (unique, regardless of case)."),
    "metadata": Field(FieldType.KV_PAIRS, dict, "Metadata of the entity (key=value pairs)."),
    "policies": Field(FieldType.COMMA_STRING_LIST, list, "Policies of the entity."),
    "disabled": Field(FieldType.BOOL, False, "Refuse the entity's tokens (they are not revoked)."),
}


def path_entity_write(request: Request, data: FieldData) -> Response | None:
    """Create, or update the entity named by ``id`` or else by ``name`` (OpenBao's
    handleEntityUpdateCommon): 200 with the new entity's ID, 204 for an update."""
    store = identity_store()
    current = None
    if data["id"]:
        current = store.entity(data["id"])
        if current is None:
            raise BadRequest("entity not found from id")
    name = data["name"]
    if name:
        named = store.entity_by_name(name)
        if named is not None and current is not None and named.id != current.id:
            raise BadRequest("entity name is already in use")
        current = current or named
    now = now_text()
    base = current or Entity(id=new_id(), name=generated_name("entity"), creation_time=now)
    entity = base._replace(
        name=name or base.name,
        policies=checked_policies(data["policies"]) if data.is_set("policies") else base.policies,
        disabled=data["disabled"] if data.is_set("disabled") else base.disabled,
        metadata=(
            checked_metadata(data["metadata"], "entity")
            if data.is_set("metadata") else base.metadata
        ),
        last_update_time=now,
    )  # fmt: skip
    store.write_entity(entity, current)
    if current is not None:
        return None
    return Response(data={"id": entity.id, "name": entity.name, "aliases": None})


def _read(entity: Entity | None) -> Response | None:
    if entity is None:
        return None
    return Response(data=entity_view(entity, group_graph(), auth_mounts()))


def path_entity_id_read(request: Request, data: FieldData) -> Response | None:
    return _read(identity_store().entity(data["id"]))


def path_entity_name_read(request: Request, data: FieldData) -> Response | None:
    return _read(identity_store().entity_by_name(data["name"]))


def _delete(store: IdentityStore, entity: Entity | None) -> None:
    if entity is not None:
        delete_entities(store, [entity])


def path_entity_id_delete(request: Request, data: FieldData) -> None:
    store = identity_store()
    _delete(store, store.entity(data["id"]))


def path_entity_name_delete(request: Request, data: FieldData) -> None:
    store = identity_store()
    _delete(store, store.entity_by_name(data["name"]))


def path_entity_batch_delete(request: Request, data: FieldData) -> None:
    """Delete the entities named; IDs that name none are skipped."""
    ids = data["entity_ids"]
    if not ids:
        raise BadRequest("missing entity ids to delete")
    store = identity_store()
    delete_entities(store, store.entities(ids))


def path_entity_id_list(request: Request, data: FieldData) -> Response | None:
    entities = identity_store().all_entities()
    mounts = auth_mounts()
    return listing([e.id for e in entities], {e.id: entity_info(e, mounts) for e in entities})


def path_entity_name_list(request: Request, data: FieldData) -> Response | None:
    return listing([entity.name for entity in identity_store().all_entities()])


def paths() -> list[Path]:
    op = Operation
    batch = {"entity_ids": Field(FieldType.COMMA_STRING_LIST, list, "Entity IDs to delete.")}
    return [
        Path("entity", {op.UPDATE: path_entity_write}, ENTITY_FIELDS, synopsis="Create an entity."),
        Path("entity/id/?", {op.LIST: path_entity_id_list}, synopsis="List entity IDs."),
        Path("entity/name/?", {op.LIST: path_entity_name_list}, synopsis="List entity names."),
        Path(
            "entity/batch-delete",
            {op.UPDATE: path_entity_batch_delete},
            batch,
            synopsis="Delete the entities given.",
        ),
        Path(
            "entity/id/{id}",
            {
                op.READ: path_entity_id_read,
                op.UPDATE: path_entity_write,
                op.DELETE: path_entity_id_delete,
            },
            ENTITY_FIELDS,
            synopsis="Read, update or delete an entity by ID.",
        ),
        Path(
            "entity/name/{name:path}",
            {
                op.READ: path_entity_name_read,
                op.UPDATE: path_entity_write,
                op.DELETE: path_entity_name_delete,
            },
            ENTITY_FIELDS,
            synopsis="Read, create or update, or delete an entity by name.",
        ),
    ]

"""`roles/<name>` (read, write, delete) and `roles/` (list, paged).

A write replaces the whole role, as Vault's does; tags or vhosts must be given, and the
JSON of vhosts and vhost_topics is decoded with Go's rules and error texts.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.rabbitmq.gojson import GoJSONError
from chalicelib.engines.rabbitmq.role import (
    ROLE_PREFIX,
    Role,
    decode_vhost_topics,
    decode_vhosts,
    read_role,
    write_role,
)
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of


def path_roles_list(request: Request, data: FieldData) -> Response | None:
    keys = page(view_of(request).list(ROLE_PREFIX), data["after"], data["limit"])
    return Response(data={"keys": keys}) if keys else None


def path_roles_read(request: Request, data: FieldData) -> Response | None:
    role = read_role(view_of(request), data["name"])
    return None if role is None else Response(data=role.to_storage())


def path_roles_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(ROLE_PREFIX + data["name"])


def path_roles_write(request: Request, data: FieldData) -> None:
    tags, vhosts, topics = data["tags"], data["vhosts"], data["vhost_topics"]
    if not tags and not vhosts:
        raise BadRequest("both tags and vhosts not specified")
    role = Role(tags=tags)
    try:
        if vhosts:
            role.vhosts = decode_vhosts(vhosts)
    except GoJSONError as error:
        raise BadRequest(f"failed to unmarshal vhosts: {error}") from None
    try:
        if topics:
            role.vhost_topics = decode_vhost_topics(topics)
    except GoJSONError as error:
        raise BadRequest(f"failed to unmarshal vhost_topics: {error}") from None
    write_role(view_of(request), data["name"], role)


_FIELDS = {
    "name": Field(FieldType.STRING, "", "Name of the role."),
    "tags": Field(FieldType.STRING, "", "Comma-separated list of tags for this role."),
    "vhosts": Field(FieldType.STRING, "", "A map of virtual hosts to permissions (JSON)."),
    "vhost_topics": Field(
        FieldType.STRING, "", "A nested map of virtual hosts and exchanges to topic "
        "permissions (JSON).",
    ),
}


def paths() -> list[Path]:
    return [
        Path(
            "roles/?",
            {Operation.LIST: path_roles_list},
            fields=PAGE_FIELDS,
            synopsis="Manage the roles that can be created with this backend.",
        ),
        Path(
            "roles/{name}",
            crud(path_roles_read, path_roles_write, path_roles_delete),
            fields=_FIELDS,
            synopsis="Manage the roles that can be created with this backend.",
        ),
    ]

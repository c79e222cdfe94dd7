"""`roles/:name` (and LIST `roles/`): dynamic roles, as Vault's pathRoleCreateUpdate."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.database.listing import listed
from chalicelib.engines.database.role import (
    PASSWORD,
    ROLE_PREFIX,
    Role,
    read_role,
    statement_list,
    write_role,
)
from chalicelib.engines.database.static import STATIC_PREFIX
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, view_of

CREDENTIAL_TYPES = ("password", "rsa_private_key", "client_certificate")
_STATEMENTS = ("creation_statements", "revocation_statements", "rollback_statements",
               "renew_statements")


def check_credential_type(value: str) -> None:
    """Every plugin here issues passwords only (Vault's SupportsCredentialType)."""
    if value not in CREDENTIAL_TYPES:
        raise BadRequest(f'invalid credential_type "{value}"')
    if value != PASSWORD:
        raise BadRequest(f'unsupported credential_type: "{value}"')


def check_unique(request: Request, prefix: str, name: str) -> None:
    if view_of(request).get(prefix + name) is not None:
        raise BadRequest("Role and Static Role names must be unique")


def role_exists(request: Request, data: FieldData) -> bool:
    return view_of(request).get(ROLE_PREFIX + data["name"]) is not None


def path_role_read(request: Request, data: FieldData) -> Response | None:
    role = read_role(view_of(request), data["name"])
    return None if role is None else Response(data=role.to_api())


def path_role_write(request: Request, data: FieldData) -> None:
    view, name = view_of(request), data["name"]
    check_unique(request, STATIC_PREFIX, name)
    current = read_role(view, name)
    creating = current is None
    role = current or Role(db_name="")
    changes = {
        key: statement_list(key, data[key]) if key in _STATEMENTS else data[key]
        for key in ("db_name", *_STATEMENTS, "default_ttl", "max_ttl", "credential_type")
        if data.is_set(key) or (creating and key != "db_name")
    }
    role = replace(role, **changes)
    if not role.db_name:
        raise BadRequest("database name is required")
    check_credential_type(role.credential_type)
    write_role(view, name, role)


def path_role_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(ROLE_PREFIX + data["name"])


def path_role_list(request: Request, data: FieldData) -> Response | None:
    return listed(request, data, ROLE_PREFIX)


def paths() -> list[Path]:
    strings = FieldType.ANY
    return [
        Path("roles/?", {Operation.LIST: path_role_list}, fields=PAGE_FIELDS,
             synopsis="Manage the roles that can be created with this backend."),
        Path(
            "roles/{name}",
            crud(path_role_read, path_role_write, path_role_delete),
            fields={
                "name": Field(FieldType.STRING, "", "Name of the role."),
                "db_name": Field(FieldType.STRING, "", "Name of the database connection."),
                "creation_statements": Field(strings, list, "Statements creating a user."),
                "revocation_statements": Field(strings, list, "Statements dropping a user."),
                "rollback_statements": Field(strings, list, "Undo a failed creation."),
                "renew_statements": Field(strings, list, "Statements on lease renewal."),
                "default_ttl": Field(FieldType.DURATION, 0, "Default lease TTL."),
                "max_ttl": Field(FieldType.DURATION, 0, "Maximum lease TTL."),
                "credential_type": Field(FieldType.STRING, PASSWORD, "Type of credential."),
            },
            exists=role_exists,
            synopsis="Manage the roles that can be created with this backend.",
        ),
    ]

"""role/ (list) and role/:role_name (create, read, update, delete)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.auth.approle.cidrs import cidr_blocks
from chalicelib.auth.approle.hashing import HMAC_KEY, mount_keys, role_key, storable
from chalicelib.auth.approle.roles import (
    LEGACY_FIELDS,
    Role,
    check_period,
    delete,
    load,
    new_id,
    role_name,
    update,
)
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.framework.tokenfields import TOKEN_FIELDS
from chalicelib.policy.errors import go_quote
from chalicelib.system.mount_config import effective_ttls

ROLE = "role/{role_name}"
ROLE_FIELDS: Mapping[str, Field] = {
    **TOKEN_FIELDS,
    "bind_secret_id": Field(FieldType.BOOL, True),
    "secret_id_bound_cidrs": Field(FieldType.COMMA_STRING_LIST, list),
    "bound_cidr_list": Field(FieldType.COMMA_STRING_LIST, list),  # deprecated spelling
    "secret_id_num_uses": Field(FieldType.INT, 0),
    "secret_id_ttl": Field(FieldType.DURATION, 0),
    "local_secret_ids": Field(FieldType.BOOL, False),
    "role_id": Field(FieldType.STRING, ""),
    "policies": Field(FieldType.COMMA_STRING_LIST, list),
    "period": Field(FieldType.DURATION, 0),
}
# Role-level spellings OpenBao rewrites, with a warning, before reading token_type.
_OLD_TOKEN_TYPES = {"default-service": "service", "default-batch": "batch"}


def prefetch_role(captures: Mapping[str, str]) -> list[str]:
    """A role path's first read: the role and the mount's HMAC key."""
    name = captures["role_name"]
    return [role_key(name), HMAC_KEY] if storable(name) else [HMAC_KEY]


def non_negative_duration(data: FieldData, name: str) -> int:
    """OpenBao's duration fields here refuse a negative value while parsing it."""
    seconds: int = data[name]
    if seconds < 0:
        raise BadRequest(
            f"error converting input for field {go_quote(name)}: cannot provide negative "
            f"value '{data.raw[name]}'"
        )
    return seconds


def _exists(request: Request, data: FieldData) -> bool:
    return load(view_of(request), role_name(data)) is not None


def path_role_list(request: Request, data: FieldData) -> Response | None:
    names = page(view_of(request).list("role/"), data["after"], data["limit"])
    return Response(data={"keys": names}) if names else None


def path_role_read(request: Request, data: FieldData) -> Response | None:
    stored = load(view_of(request), role_name(data))
    return None if stored is None else Response(data=stored.role.to_api())


def _token_type_upgrade(data: FieldData) -> tuple[FieldData, list[str]]:
    sent = data.raw.get("token_type")
    adjusted = _OLD_TOKEN_TYPES.get(sent) if isinstance(sent, str) else None
    if adjusted is None:
        return data, []
    warning = f"{sent} has no useful meaning; adjusting to {adjusted}"
    return FieldData(ROLE_FIELDS, {**data.raw, "token_type": adjusted}), [warning]


def path_role_write(request: Request, data: FieldData) -> Response | None:
    """Create or update (OpenBao's pathRoleCreateUpdate): only what the request sets
    changes on an update; a new role gets a random role ID unless one is given."""
    assert request.mount is not None
    view = view_of(request)
    name = role_name(data)
    data, warnings = _token_type_upgrade(data)
    max_ttl = effective_ttls(request.mount)[1]
    creating = request.operation == Operation.CREATE

    def change(current: Role | None) -> Role:
        if current is None and not creating:
            raise NotFound(f"role name {go_quote(name)} doesn't exist")
        role = current or Role(name, role_id=new_id(), secrets_folder=new_id())
        return _applied(role, data, max_ttl, creating=current is None)

    role = update(view, mount_keys(view), name, change)
    assert role is not None
    if role.token.max_ttl > max_ttl:
        warnings.append(
            "token_max_ttl is greater than the backend mount's maximum TTL value; issued "
            "tokens' max TTL value will be truncated"
        )
    return Response(warnings=warnings) if warnings else None


def _applied(role: Role, data: FieldData, max_ttl: int, *, creating: bool) -> Role:
    token = role.token.parsed(data, LEGACY_FIELDS)
    if data.is_set("local_secret_ids") and not creating:
        raise BadRequest("local_secret_ids can only be modified during role creation")
    role_id = _given(data, "role_id", role.role_id)
    if not role_id:
        raise BadRequest("invalid role_id supplied, or failed to generate a role_id")
    cidrs = role.secret_id_bound_cidrs
    for spelling in ("secret_id_bound_cidrs", "bound_cidr_list"):
        if data.is_set(spelling):
            cidrs = cidr_blocks(data[spelling])
            break
    num_uses = _given(data, "secret_id_num_uses", role.secret_id_num_uses)
    if num_uses < 0:
        raise BadRequest("secret_id_num_uses cannot be negative")
    ttl = role.secret_id_ttl
    if data.is_set("secret_id_ttl"):
        ttl = non_negative_duration(data, "secret_id_ttl")
    if data.is_set("period"):
        check_period(token.period, max_ttl)
    return role._replace(
        role_id=role_id,
        bind_secret_id=_given(data, "bind_secret_id", role.bind_secret_id),
        secret_id_bound_cidrs=cidrs,
        secret_id_num_uses=num_uses,
        secret_id_ttl=ttl,
        local_secret_ids=data["local_secret_ids"] if creating else role.local_secret_ids,
        token=token,
    )


def _given(data: FieldData, name: str, current: Any) -> Any:
    return data[name] if data.is_set(name) else current


def path_role_delete(request: Request, data: FieldData) -> None:
    view = view_of(request)
    stored = load(view, role_name(data))
    if stored is not None:
        delete(view, mount_keys(view), stored.role)


def paths() -> list[Path]:
    op = Operation
    return [
        Path("role/?", {op.LIST: path_role_list}, PAGE_FIELDS, synopsis="List the roles."),
        Path(
            ROLE,
            crud(path_role_read, path_role_write, path_role_delete),
            ROLE_FIELDS,
            exists=_exists,
            prefetch=prefetch_role,
            synopsis="Create, read, update or delete a role.",
        ),
    ]

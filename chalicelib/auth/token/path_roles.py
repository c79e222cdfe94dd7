"""auth/token/roles and roles/:role_name: token roles, with OpenBao's validation."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from chalicelib.auth.token.common import ROLE_NAME, check_role_name, mount_limits, role_store
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.tokens.entry import BATCH
from chalicelib.tokens.policies import sanitize, unique_sorted
from chalicelib.tokens.roles import DEFAULT_BATCH, DEFAULT_SERVICE, ROLE_TOKEN_TYPES, Role

# OpenBao matches this anywhere in the suffix (an unanchored search), and says so.
_PATH_SUFFIX = re.compile(r"\w[\w\-.]+\w", re.ASCII)
_PATH_SUFFIX_SHOWN = r"\w[\w-.]+\w"
_BATCH_TYPES = (BATCH, DEFAULT_BATCH)

_LISTS = {
    "allowed_policies": sanitize,
    "allowed_policies_glob": sanitize,
    "disallowed_policies": unique_sorted,
    "disallowed_policies_glob": unique_sorted,
}
ROLE_FIELDS = {
    "role_name": Field(FieldType.STRING, ""),
    **{name: Field(FieldType.COMMA_STRING_LIST, list) for name in _LISTS},
    "orphan": Field(FieldType.BOOL, False),
    "renewable": Field(FieldType.BOOL, True),
    "path_suffix": Field(FieldType.STRING, ""),
    "period": Field(FieldType.DURATION, 0),
    "explicit_max_ttl": Field(FieldType.DURATION, 0),
    "bound_cidrs": Field(FieldType.COMMA_STRING_LIST, list),
    "allowed_entity_aliases": Field(FieldType.COMMA_STRING_LIST, list),
    "token_bound_cidrs": Field(FieldType.COMMA_STRING_LIST, list),
    "token_explicit_max_ttl": Field(FieldType.DURATION, 0),
    "token_period": Field(FieldType.DURATION, 0),
    "token_no_default_policy": Field(FieldType.BOOL, False),
    "token_num_uses": Field(FieldType.INT, 0),
    "token_type": Field(FieldType.ANY),
}


def _role_exists(request: Request, data: FieldData) -> bool:
    return role_store().get(data["role_name"]) is not None


def _read(request: Request, data: FieldData) -> Response | None:
    check_role_name(data["role_name"])
    role = role_store().get(data["role_name"])
    return None if role is None else Response(data=role.to_api())


def _list(request: Request, data: FieldData) -> Response | None:
    names = role_store().names()
    return Response(data={"keys": names}) if names else None


def _delete(request: Request, data: FieldData) -> None:
    check_role_name(data["role_name"])
    role_store().delete(data["role_name"])


def _write(request: Request, data: FieldData) -> Response | None:
    """Create or update: fields not sent keep their value (their default on creation)."""
    name = data["role_name"]
    check_role_name(name)
    roles = role_store()
    role = roles.get(name) or Role(name=name)
    changes: dict[str, Any] = {
        n: data[n] for n in ("orphan", "renewable", "path_suffix") if data.is_set(n)
    }
    if changes.get("path_suffix"):
        _check_path_suffix(changes["path_suffix"])
    changes |= {n: tuple(clean(data[n])) for n, clean in _LISTS.items() if data.is_set(n)}
    kind = _token_type(data)
    role = role.evolve(**changes, token_type=DEFAULT_SERVICE if kind else role.token_type)
    role, warnings = _token_fields(role, data, mount_limits(request).max_ttl)
    if kind:
        role = role.evolve(token_type=kind)
    _check_batch(role)
    if data.is_set("allowed_entity_aliases"):
        aliases = tuple(unique_sorted(data["allowed_entity_aliases"]))
        role = role.evolve(allowed_entity_aliases=aliases)
    roles.put(role)
    return Response(warnings=warnings) if warnings else None


def _check_path_suffix(suffix: str) -> None:
    if not _PATH_SUFFIX.search(suffix):
        raise BadRequest(
            "given role path suffix contains invalid characters; must match " + _PATH_SUFFIX_SHOWN
        )
    if ".." in suffix:
        raise BadRequest("error registering path suffix: path cannot contain parent references")


def _token_type(data: FieldData) -> str:
    """The token type this write sets ("" when it sets none), validated."""
    if "token_type" not in data.raw:
        return ""
    raw = data.raw["token_type"]
    if raw is None:
        raise BadRequest("Invalid 'token_type' value: null")
    kind = DEFAULT_SERVICE if str(raw) in ("", "default") else str(raw)
    if kind not in ROLE_TOKEN_TYPES:
        raise BadRequest(f"invalid 'token_type' value \"{raw}\"")
    return kind


def _token_fields(role: Role, data: FieldData, max_ttl: int) -> tuple[Role, list[str]]:
    """The ``token_*`` fields and their deprecated spellings (the new ones win)."""
    changes: dict[str, Any] = {}
    for name in ("token_explicit_max_ttl", "token_period", "token_no_default_policy",
                 "token_num_uses"):
        if data.is_set(name):
            changes[name] = data[name]
    if data.is_set("token_bound_cidrs"):
        changes["token_bound_cidrs"] = _cidrs(data["token_bound_cidrs"])
    role = role.evolve(**changes)
    _check_token_fields(role)
    warnings: list[str] = []
    for new, old in (("token_period", "period"), ("token_bound_cidrs", "bound_cidrs"),
                     ("token_explicit_max_ttl", "explicit_max_ttl")):
        role = _deprecated(role, data, new, old, warnings)
    explicit = role.token_explicit_max_ttl if data.is_set("token_explicit_max_ttl") else (
        role.explicit_max_ttl
    )
    if explicit and max_ttl and explicit > max_ttl:
        warnings.append(
            f"Given explicit max TTL of {explicit} is greater than system/mount allowed value "
            f"of {max_ttl} seconds; until this is fixed attempting to create tokens against "
            "this role will result in an error"
        )
    return role, warnings


def _deprecated(role: Role, data: FieldData, new: str, old: str, warnings: list[str]) -> Role:
    if data.is_set(new):
        if data.is_set(old):
            warnings.append(
                f"Both '{new}' and deprecated '{old}' value supplied, ignoring the deprecated value"
            )
        return role.evolve(**{old: () if old == "bound_cidrs" else 0})
    if not data.is_set(old):
        return role
    value = _cidrs(data[old]) if old == "bound_cidrs" else data[old]
    return role.evolve(**{old: value, new: value})


def _cidrs(values: list[str]) -> tuple[str, ...]:
    """As go-sockaddr prints them: a single host without its prefix, host bits kept."""
    shown = []
    for value in values:
        try:
            interface = ipaddress.ip_interface(value.strip())
        except ValueError as error:
            raise BadRequest(f"error parsing role fields: {error}") from None
        single = interface.network.prefixlen == interface.max_prefixlen
        shown.append(str(interface.ip) if single else str(interface))
    return tuple(shown)


def _check_token_fields(role: Role) -> None:
    failure = ""
    if role.token_period < 0:
        failure = "'token_period' cannot be negative"
    elif role.token_num_uses < 0:
        failure = "'token_num_uses' cannot be negative"
    elif role.token_type in _BATCH_TYPES and role.token_period:
        failure = (
            "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic "
            "tokens"
        )
    elif role.token_type in _BATCH_TYPES and role.token_num_uses:
        failure = (
            "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens "
            "with limited use count"
        )
    if failure:
        raise BadRequest(f"error parsing role fields: {failure}")


def _check_batch(role: Role) -> None:
    if role.token_type != BATCH:
        return
    prefix = "'token_type' cannot be 'batch' when role is set to generate"
    if not role.orphan:
        raise BadRequest(f"{prefix} non-orphan tokens")
    if role.period or role.token_period:
        raise BadRequest(f"{prefix} periodic tokens")
    if role.renewable:
        raise BadRequest(f"{prefix} renewable tokens")
    if role.explicit_max_ttl or role.token_explicit_max_ttl:
        raise BadRequest(f"{prefix} tokens with an explicit max TTL")


def paths() -> list[Path]:
    op = Operation
    write = {op.CREATE: _write, op.UPDATE: _write}
    return [
        Path("roles/?", {op.LIST: _list}, synopsis="List the token roles."),
        Path(
            f"roles/{ROLE_NAME}",
            {op.READ: _read, **write, op.DELETE: _delete},
            ROLE_FIELDS,
            exists=_role_exists,
            synopsis="Create, read, update or delete a token role.",
        ),
    ]

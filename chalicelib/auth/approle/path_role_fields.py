"""role/:role_name/<setting>: one setting of a role read, set or reset on its own.

OpenBao declares a path per setting (policies, period, token-ttl, secret-id-num-uses ...);
here each is one :class:`RoleSetting` row and :func:`setting_path` turns any row into its
path. A reset restores the setting's default; a missing role reads as 404, refuses an
update as OpenBao does (404 "unsupported path") and makes a reset a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from chalicelib.auth.approle.cidrs import cidr_blocks
from chalicelib.auth.approle.hashing import mount_keys
from chalicelib.auth.approle.path_role import (
    ROLE,
    ROLE_FIELDS,
    non_negative_duration,
    prefetch_role,
)
from chalicelib.auth.approle.roles import (
    LEGACY_FIELDS,
    Role,
    check_period,
    load,
    role_name,
    update,
    update_existing,
)
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.framework.tokenfields import TOKEN_FIELDS
from chalicelib.system.mount_config import effective_ttls

# (role, request data, the mount's max TTL) -> the changed role
Setter = Callable[[Role, FieldData, int], Role]


class RoleSetting(NamedTuple):
    segment: str
    fields: Mapping[str, Field]
    read: Callable[[Role], dict[str, Any]]
    change: Setter | None = None
    reset: Callable[[Role], Role] | None = None
    warning: str = ""  # added to every read


class _Attr(NamedTuple):
    """Where a setting lives: on the role, or in its token settings."""

    name: str
    on_token: bool = False

    def get(self, role: Role) -> Any:
        return getattr(role.token if self.on_token else role, self.name)

    def put(self, role: Role, value: Any) -> Role:
        if not self.on_token:
            return role._replace(**{self.name: value})
        token = role.token._replace(**{self.name: value})
        token.check()
        return role._replace(token=token)


def _plain(
    segment: str, name: str, attr: _Attr, default: Any,
    check: Callable[[Role, Any], str] = lambda role, value: "",
) -> RoleSetting:  # fmt: skip
    """A setting of one field: required on update, ``check`` returns an error or ""."""

    def set_(role: Role, data: FieldData, max_ttl: int) -> Role:
        if not data.is_set(name):
            raise BadRequest(f"missing {name}")
        duration = ROLE_FIELDS[name].type is FieldType.DURATION
        value = non_negative_duration(data, name) if duration else data[name]
        error = check(role, value)
        if error:
            raise BadRequest(error)
        return attr.put(role, value)

    return RoleSetting(
        segment,
        {name: ROLE_FIELDS[name]},
        lambda role: {name: attr.get(role)},
        set_,
        lambda role: attr.put(role, default),
    )


def _legacy_pair(segment: str, new: str, attr: str, empty: Any, missing: str) -> RoleSetting:
    """token_policies/policies and token_period/period: either spelling sets the setting,
    and a read repeats the deprecated one while it is in use (as the role read does)."""
    old = next(o for o, n in LEGACY_FIELDS.items() if n == new)

    def set_(role: Role, data: FieldData, max_ttl: int) -> Role:
        if not (data.is_set(new) or data.is_set(old)):
            raise BadRequest(missing)
        token = role.token.parsed(data, {old: new})
        if new == "token_period":
            check_period(token.period, max_ttl)
        return role._replace(token=token)

    def read(role: Role) -> dict[str, Any]:
        shown = role.token.to_api(LEGACY_FIELDS)
        return {name: shown[name] for name in (new, old) if name in shown}

    def reset(role: Role) -> Role:
        legacy = tuple(name for name in role.token.legacy if name != old)
        return role._replace(token=role.token._replace(**{attr: empty}, legacy=legacy))

    fields = {new: TOKEN_FIELDS[new], old: ROLE_FIELDS[old]}
    return RoleSetting(segment, fields, read, set_, reset)


def _set_secret_id_cidrs(name: str) -> Setter:
    """secret_id_bound_cidrs under either spelling: unset leaves them, empty is refused."""

    def set_(role: Role, data: FieldData, max_ttl: int) -> Role:
        if not data.is_set(name):
            return role
        if not data[name]:
            raise BadRequest("missing bound_cidr_list")
        return role._replace(secret_id_bound_cidrs=cidr_blocks(data[name]))

    return set_


def _set_token_cidrs(role: Role, data: FieldData, max_ttl: int) -> Role:
    return role._replace(token=role.token.parsed(data))


def _set_role_id(role: Role, data: FieldData, max_ttl: int) -> Role:
    if not data["role_id"]:
        raise BadRequest("missing role_id")
    return role._replace(role_id=data["role_id"])


def _over_max(role: Role, ttl: int) -> str:
    too_long = 0 < role.token.max_ttl < ttl
    return "token_ttl should not be greater than token_max_ttl" if too_long else ""


def _under_ttl(role: Role, max_ttl: int) -> str:
    too_short = 0 < max_ttl < role.token.ttl
    return "token_max_ttl should be greater than or equal to token_ttl" if too_short else ""


def _negative(name: str) -> Callable[[Role, int], str]:
    return lambda role, value: f"{name} cannot be negative" if value < 0 else ""


_SECRET_ID_CIDRS = _Attr("secret_id_bound_cidrs")
SETTINGS = (
    _legacy_pair("policies", "token_policies", "policies", (), "missing token_policies"),
    _legacy_pair("period", "token_period", "period", 0, "missing period"),
    _plain("secret-id-num-uses", "secret_id_num_uses", _Attr("secret_id_num_uses"), 0,
           _negative("secret_id_num_uses")),
    _plain("secret-id-ttl", "secret_id_ttl", _Attr("secret_id_ttl"), 0),
    _plain("token-num-uses", "token_num_uses", _Attr("num_uses", on_token=True), 0),
    _plain("token-ttl", "token_ttl", _Attr("ttl", on_token=True), 0, _over_max),
    _plain("token-max-ttl", "token_max_ttl", _Attr("max_ttl", on_token=True), 0, _under_ttl),
    _plain("bind-secret-id", "bind_secret_id", _Attr("bind_secret_id"), True),
    RoleSetting(
        "secret-id-bound-cidrs",
        {"secret_id_bound_cidrs": ROLE_FIELDS["secret_id_bound_cidrs"]},
        lambda role: {"secret_id_bound_cidrs": list(role.secret_id_bound_cidrs) or None},
        _set_secret_id_cidrs("secret_id_bound_cidrs"),
        lambda role: _SECRET_ID_CIDRS.put(role, ()),
    ),
    # The deprecated path sets secret_id_bound_cidrs; OpenBao's read of it is always null.
    RoleSetting(
        "bound-cidr-list",
        {"bound_cidr_list": ROLE_FIELDS["bound_cidr_list"]},
        lambda role: {"bound_cidr_list": None},
        _set_secret_id_cidrs("bound_cidr_list"),
        lambda role: role,
        warning='The "bound_cidr_list" field is deprecated and will be removed. Please use '
        '"secret_id_bound_cidrs" instead.',
    ),
    RoleSetting(
        "token-bound-cidrs",
        {"token_bound_cidrs": TOKEN_FIELDS["token_bound_cidrs"]},
        lambda role: {"token_bound_cidrs": list(role.token.bound_cidrs) or None},
        _set_token_cidrs,
        lambda role: _Attr("bound_cidrs", on_token=True).put(role, ()),
    ),
    RoleSetting("local-secret-ids", {}, lambda role: {"local_secret_ids": role.local_secret_ids}),
    RoleSetting(
        "role-id",
        {"role_id": ROLE_FIELDS["role_id"]},
        lambda role: {"role_id": role.role_id},
        _set_role_id,
    ),
)


def setting_path(setting: RoleSetting) -> Path:
    """The path of one setting, with the operations its row declares."""

    def read(request: Request, data: FieldData) -> Response | None:
        stored = load(view_of(request), role_name(data))
        if stored is None:
            return None
        warnings = [setting.warning] if setting.warning else None
        return Response(data=setting.read(stored.role), warnings=warnings)

    def set_(request: Request, data: FieldData) -> None:
        assert setting.change is not None and request.mount is not None
        view, max_ttl = view_of(request), effective_ttls(request.mount)[1]
        change = setting.change
        update_existing(view, mount_keys(view), role_name(data),
                        lambda role: change(role, data, max_ttl))

    def reset(request: Request, data: FieldData) -> None:
        assert setting.reset is not None
        view, restore = view_of(request), setting.reset
        update(view, mount_keys(view), role_name(data), lambda role: role and restore(role))

    operations = {Operation.READ: read}
    if setting.change is not None:
        operations[Operation.UPDATE] = set_
    if setting.reset is not None:
        operations[Operation.DELETE] = reset
    return Path(
        f"{ROLE}/{setting.segment}",
        operations,
        setting.fields,
        prefetch=prefetch_role,
        synopsis=f"The role's {', '.join(setting.fields)} alone.",
    )


def paths() -> list[Path]:
    return [setting_path(setting) for setting in SETTINGS]

"""role/:role_name/secret-id (generate, list accessors), custom-secret-id, and the lookup
and destroy paths by secret ID and by accessor."""

from __future__ import annotations

from typing import NamedTuple

from chalicelib.auth.approle.cidrs import check_subset, cidr_blocks
from chalicelib.auth.approle.hashing import MountKeys, mount_keys
from chalicelib.auth.approle.metadata import parse_metadata
from chalicelib.auth.approle.path_role import (
    ROLE,
    non_negative_duration,
    prefetch_role,
)
from chalicelib.auth.approle.roles import Role, load, new_id, role_name
from chalicelib.auth.approle.secret_ids import (
    Located,
    SecretID,
    accessor_target,
    destroy,
    folder,
    in_folder,
    read,
    register,
    secret_key,
)
from chalicelib.core.errors import BadRequest, NotFound, PermissionDenied, VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.policy.errors import go_quote
from chalicelib.storage.view import StorageView
from chalicelib.system.mount_config import effective_ttls
from chalicelib.tokens.clock import NANOS, now_ns

_ISSUE_FIELDS = {
    "metadata": Field(FieldType.STRING, ""),
    "cidr_list": Field(FieldType.COMMA_STRING_LIST, list),
    "token_bound_cidrs": Field(FieldType.COMMA_STRING_LIST, list),
    "num_uses": Field(FieldType.INT, 0),
    "ttl": Field(FieldType.DURATION, 0),
}
_SECRET_ID = {"secret_id": Field(FieldType.STRING, "")}
_ACCESSOR = {"secret_id_accessor": Field(FieldType.STRING, "")}


def _role(view: StorageView, data: FieldData, missing: type[VaultError] = BadRequest) -> Role:
    name = role_name(data)
    stored = load(view, name)
    if stored is None:
        raise missing(f"role {go_quote(name)} does not exist")
    return stored.role


def _required(data: FieldData, name: str) -> str:
    value: str = data[name]
    if not value:
        raise BadRequest(f"missing {name}")
    return value


def _issue(request: Request, data: FieldData, secret_id: str) -> Response:
    """A new secret ID for the role: its limits default to the role's and may only narrow
    them; the expiry is capped by the mount's max TTL (OpenBao's handleRoleSecretIDCommon)."""
    assert request.mount is not None
    view = view_of(request)
    role = _role(view, data, NotFound)
    if not role.bind_secret_id:
        raise BadRequest("bind_secret_id is not set on the role")
    cidrs = cidr_blocks(data["cidr_list"])
    check_subset(cidrs, role.secret_id_bound_cidrs)
    token_cidrs = cidr_blocks(data["token_bound_cidrs"], "token CIDR blocks")
    check_subset(token_cidrs, role.token.bound_cidrs)
    num_uses, ttl = role.secret_id_num_uses, role.secret_id_ttl
    if data.is_set("num_uses"):
        num_uses = data["num_uses"]
        if num_uses < 0:
            raise BadRequest("num_uses cannot be negative")
        if role.secret_id_num_uses and not 0 < num_uses <= role.secret_id_num_uses:
            raise BadRequest("num_uses cannot be higher than the role's secret_id_num_uses")
    if data.is_set("ttl"):
        ttl = non_negative_duration(data, "ttl")
        if role.secret_id_ttl and not 0 < ttl <= role.secret_id_ttl:
            raise BadRequest("ttl cannot be longer than the role's secret_id_ttl")
    metadata = parse_metadata(data["metadata"])
    lifetime = min(ttl, effective_ttls(request.mount)[1])
    now = now_ns()
    expires = now + lifetime * NANOS if lifetime else 0
    secret = SecretID(new_id(), num_uses, ttl, now, expires, now, metadata, cidrs, token_cidrs)
    register(view, mount_keys(view), role.secrets_folder, secret_id, secret)
    return Response(data={
        "secret_id": secret_id,
        "secret_id_accessor": secret.accessor,
        "secret_id_ttl": lifetime,
        "secret_id_num_uses": num_uses,
    })  # fmt: skip


def path_secret_id_generate(request: Request, data: FieldData) -> Response:
    return _issue(request, data, new_id())


def path_custom_secret_id(request: Request, data: FieldData) -> Response:
    return _issue(request, data, _required(data, "secret_id"))


def path_secret_id_list(request: Request, data: FieldData) -> Response | None:
    """The accessors of the role's secret IDs (expired ones too, until a tidy)."""
    view = view_of(request)
    role = _role(view, data)
    accessors = sorted(found.secret.accessor for found in in_folder(view, role.secrets_folder))
    shown = page(accessors, data["after"], data["limit"])
    return Response(data={"keys": shown}) if shown else None


def _by_value(
    request: Request, data: FieldData, *, live_only: bool
) -> tuple[MountKeys, Located | None]:
    view = view_of(request)
    secret_id = _required(data, "secret_id")
    role = _role(view, data)
    keys = mount_keys(view)
    return keys, read(view, secret_key(keys, role.secrets_folder, secret_id), live_only=live_only)


def path_secret_id_lookup(request: Request, data: FieldData) -> Response | None:
    _, found = _by_value(request, data, live_only=True)
    return None if found is None else Response(data=found.secret.to_api())


def path_secret_id_destroy(request: Request, data: FieldData) -> None:
    keys, found = _by_value(request, data, live_only=False)
    if found is not None:
        destroy(view_of(request), keys, found)


class _ByAccessor(NamedTuple):
    view: StorageView
    keys: MountKeys
    role: Role
    accessor: str
    target: str | None  # the entry the accessor names (of any role); None: no such accessor

    @classmethod
    def of(cls, request: Request, data: FieldData) -> _ByAccessor:
        view = view_of(request)
        accessor = _required(data, "secret_id_accessor")
        role = _role(view, data)
        keys = mount_keys(view)
        return cls(view, keys, role, accessor, accessor_target(view, keys, accessor))

    @property
    def unknown(self) -> str:
        return f"failed to find accessor entry for secret_id_accessor: {go_quote(self.accessor)}"

    def secret(self, *, live_only: bool) -> Located | None:
        """The secret ID the accessor names, if it is this role's."""
        if self.target is None or not self.target.startswith(folder(self.role.secrets_folder)):
            return None
        return read(self.view, self.target, live_only=live_only)


def path_accessor_lookup(request: Request, data: FieldData) -> Response | None:
    query = _ByAccessor.of(request, data)
    if query.target is None:
        # OpenBao answers this one 404 with the error inside ``data``.
        return Response(data={"error": query.unknown}, status=404)
    found = query.secret(live_only=True)
    return None if found is None else Response(data=found.secret.to_api())


def path_accessor_destroy(request: Request, data: FieldData) -> None:
    query = _ByAccessor.of(request, data)
    if query.target is None:
        raise BadRequest(query.unknown)
    found = query.secret(live_only=False)
    if found is None:
        raise PermissionDenied("invalid secret id accessor")
    destroy(query.view, query.keys, found)


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            f"{ROLE}/secret-id/?",
            {op.UPDATE: path_secret_id_generate, op.LIST: path_secret_id_list},
            {**_ISSUE_FIELDS, **PAGE_FIELDS},
            prefetch=prefetch_role,
            synopsis="Generate a secret ID for the role, or list its secret ID accessors.",
        ),
        Path(
            f"{ROLE}/custom-secret-id",
            {op.UPDATE: path_custom_secret_id},
            {**_ISSUE_FIELDS, **_SECRET_ID},
            prefetch=prefetch_role,
            synopsis="Register a secret ID of your choosing for the role.",
        ),
        Path(
            f"{ROLE}/secret-id/lookup/?",
            {op.UPDATE: path_secret_id_lookup},
            _SECRET_ID,
            prefetch=prefetch_role,
            synopsis="Read a secret ID's properties.",
        ),
        Path(
            f"{ROLE}/secret-id/destroy/?",
            {op.UPDATE: path_secret_id_destroy, op.DELETE: path_secret_id_destroy},
            _SECRET_ID,
            prefetch=prefetch_role,
            synopsis="Destroy a secret ID.",
        ),
        Path(
            f"{ROLE}/secret-id-accessor/lookup/?",
            {op.UPDATE: path_accessor_lookup},
            _ACCESSOR,
            prefetch=prefetch_role,
            synopsis="Read a secret ID's properties by its accessor.",
        ),
        Path(
            f"{ROLE}/secret-id-accessor/destroy/?",
            {op.UPDATE: path_accessor_destroy, op.DELETE: path_accessor_destroy},
            _ACCESSOR,
            prefetch=prefetch_role,
            synopsis="Destroy a secret ID by its accessor.",
        ),
    ]

"""auth/token/create, create-orphan and create/:role_name."""

from __future__ import annotations

from chalicelib.auth.token.common import (
    ROLE_NAME,
    check_role_name,
    mount_limits,
    role_store,
    store,
)
from chalicelib.core import authz
from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.path import Handler
from chalicelib.identity.store import IdentityStore
from chalicelib.tokens import ids, issue
from chalicelib.tokens.acl_cache import POLICIES_GENERATION
from chalicelib.tokens.clock import now_ns
from chalicelib.tokens.entry import BATCH, TokenEntry
from chalicelib.tokens.roles import Role
from chalicelib.tokens.view import auth_block

CREATE_FIELDS = {
    "display_name": Field(FieldType.STRING, ""),
    "explicit_max_ttl": Field(FieldType.STRING, ""),
    "entity_alias": Field(FieldType.STRING, ""),
    "num_uses": Field(FieldType.INT, 0),
    "period": Field(FieldType.STRING, ""),
    "renewable": Field(FieldType.BOOL, True),
    "ttl": Field(FieldType.STRING, ""),
    "lease": Field(FieldType.STRING, ""),
    "type": Field(FieldType.STRING, ""),
    "no_default_policy": Field(FieldType.BOOL, False),
    "id": Field(FieldType.STRING, ""),
    "meta": Field(FieldType.KV_PAIRS),
    "no_parent": Field(FieldType.BOOL, False),
    "policies": Field(FieldType.COMMA_STRING_LIST, list),
}


def create_token(
    request: Request, data: FieldData, *, orphan_path: bool, role: Role | None
) -> Response:
    rt = runtime()
    parent = request.token
    assert parent is not None and request.mount is not None
    issue.check_parent(parent)
    is_sudo = authz.has_sudo(rt, parent, request.path, request.identity)
    kind = issue.token_type(data, role)
    now = now_ns()
    entry = issue.base_entry(data, request.relative_path, kind, role, now)
    renewable = data["renewable"] and (role is None or role.renewable) and kind != BATCH
    if data["id"] and not is_sudo:
        raise BadRequest("root or sudo privileges required to specify token id")
    plan = issue.Issue(parent=parent, is_sudo=is_sudo, role=role, entry=entry)
    issue.resolve_policies_for(plan, data)
    issue.resolve_parentage(plan, data, orphan_path=orphan_path)
    if data["entity_alias"]:
        plan.entry = plan.entry.evolve(entity_id=_alias_entity(request.mount, data["entity_alias"]))
    issue.resolve_ttls(plan, data, mount_limits(request), renewable)
    token_id, created = _persist(request, plan.entry, data["id"])
    warnings = [*plan.warnings, *_missing_policy_warnings(created)]
    return Response(auth=auth_block(created, token_id), warnings=warnings)


def _alias_entity(mount: MountEntry, alias: str) -> str:
    """The entity of a role's ``entity_alias`` on the token mount, created on first use
    (OpenBao's resolveEntityAlias); it replaces the parent's entity."""
    entity = IdentityStore(runtime().barrier).find_or_create_for_alias(
        mount.accessor, mount.type, mount.router_path, alias
    )
    if entity.disabled:
        raise PermissionDenied("entity from given entity alias is disabled")
    return entity.id


def _persist(request: Request, entry: TokenEntry, custom_id: str) -> tuple[str, TokenEntry]:
    """Store a service token (or seal a batch one); returns its ID and final entry."""
    tokens = store()
    if entry.type == BATCH:
        return tokens.issue_batch(entry), entry
    if custom_id:
        issue.check_custom_id(custom_id)
    entry = entry.evolve(accessor=ids.new_accessor(), cubbyhole_id=ids.random_base62())
    token_id = custom_id or ids.new_token_id()
    tokens.create_service(token_id, entry, request.token if entry.parent else None)
    return token_id, entry


def _missing_policy_warnings(entry: TokenEntry) -> list[str]:
    rt = runtime()
    generation = rt.state.generation(POLICIES_GENERATION)
    found = rt.acls.policies(rt.barrier, generation, entry.policies)
    return [
        f'Policy "{name}" does not exist'
        for name, policy in zip(entry.policies, found, strict=True)
        if policy is None
    ]


def _create(orphan_path: bool) -> Handler:
    def handler(request: Request, data: FieldData) -> Response:
        return create_token(request, data, orphan_path=orphan_path, role=None)

    return handler


def _create_against_role(request: Request, data: FieldData) -> Response:
    name = data["role_name"]
    check_role_name(name)
    role = role_store().get(name)
    if role is None:
        raise BadRequest(f"unknown role {name}")
    return create_token(request, data, orphan_path=False, role=role)


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "create-orphan",
            {op.UPDATE: _create(orphan_path=True)},
            CREATE_FIELDS,
            synopsis="Create a token with no parent.",
        ),
        Path(
            f"create/{ROLE_NAME}",
            {op.UPDATE: _create_against_role},
            {**CREATE_FIELDS, "role_name": Field(FieldType.STRING, "")},
            synopsis="Create a token from a token role.",
        ),
        Path(
            "create",
            {op.UPDATE: _create(orphan_path=False)},
            CREATE_FIELDS,
            synopsis="Create a child token of the caller's token.",
        ),
    ]

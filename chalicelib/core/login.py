"""Turning an auth method's ``Auth`` into a token (OpenBao's handleLoginRequest).

The method has checked the credentials; here the entity is found or created for the
alias, the token's type, policies and TTL are settled against the mount's tune, and the
token is stored (service) or sealed (batch). The client gets Vault's ``auth`` block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import BadRequest, PermissionDenied, VaultError
from chalicelib.core.lockout import lockout_key
from chalicelib.core.mounts import MountEntry
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import Runtime
from chalicelib.framework.login import Auth
from chalicelib.framework.path import Path
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.identity.external import sync_external_groups
from chalicelib.identity.resolve import ResolvedIdentity
from chalicelib.identity.store import IDENTITY_GENERATION, IDENTITY_PREFIX, IdentityStore
from chalicelib.system.mount_config import LOCKOUT_TYPES, effective_ttls
from chalicelib.tokens import ids
from chalicelib.tokens.clock import NANOS, now_ns
from chalicelib.tokens.context import token_store
from chalicelib.tokens.entry import BATCH, SERVICE, TokenEntry, lease_times
from chalicelib.tokens.policies import NON_ASSIGNABLE, ROOT, sanitize
from chalicelib.tokens.ttl import TTLLimits, calculate_ttl
from chalicelib.tokens.view import auth_block


def complete(rt: Runtime, request: Request, response: Response) -> Response:
    """Issue the token for ``response.login`` and answer with its ``auth`` block."""
    auth, mount = response.login, request.mount
    assert auth is not None and mount is not None
    identity = _entity_for(rt, request, mount, auth)
    identity_policies = identity.policies if identity is not None else ()
    entry, warnings = _token_entry(request, mount, auth, identity)
    _refuse_privileged([*entry.policies, *identity_policies])
    tokens = token_store(rt)
    if entry.type == BATCH:
        token_id = tokens.issue_batch(entry)
    else:
        entry = entry.evolve(accessor=ids.new_accessor(), cubbyhole_id=ids.random_base62())
        token_id = ids.new_token_id()
        tokens.create_service(token_id, entry, None)
        # This container's next request of the token prefetches its entity with it.
        rt.identity.remember(ids.id_key(tokens.salt, token_id), entry.entity_id)
    response.login = None
    response.auth = auth_block(entry, token_id, identity_policies)
    response.warnings.extend(warnings)
    return response


def prefetch(
    rt: Runtime, mount: MountEntry, path: Path, captures: Mapping[str, str], body: Mapping[str, Any]
) -> list[str]:
    """What a login will read beyond its method's own entries, read ahead in the request's
    first round trip: the alias's lockout counter, identity alias index and (when this
    container has seen the alias log in) entity."""
    if path.lockout_alias is None:
        return []
    try:
        alias = path.lockout_alias(path.parse(captures, body))
    except VaultError:  # bad input: the login itself will say so
        return []
    if not alias:
        return []
    keys = rt.identity.login_prefetch(mount.accessor, alias)
    if mount.type in LOCKOUT_TYPES:
        keys.append(mount.storage_prefix + lockout_key(alias))
    return keys


def _entity_for(
    rt: Runtime, request: Request, mount: MountEntry, auth: Auth
) -> ResolvedIdentity | None:
    """Find or create the alias's entity and settle its external groups on this mount; a
    disabled entity may not log in (Vault: 403)."""
    if not auth.alias_name:
        return None
    assert request.storage is not None
    store = IdentityStore(rt.barrier, request.storage.beside(IDENTITY_PREFIX))
    entity = store.find_or_create_for_alias(
        mount.accessor, mount.type, mount.router_path, auth.alias_name,
        dict(auth.alias_metadata) or None,
    )  # fmt: skip
    rt.identity.remember_alias(mount.accessor, auth.alias_name, entity.id)
    graph = rt.identity.graph(rt)
    if sync_external_groups(store, graph, entity.id, mount.accessor, auth.group_aliases):
        # The commit bumped the identity generation: every container (this one too)
        # rebuilds its group graph on its next request.
        rt.after_commit([IDENTITY_GENERATION])
    identity = rt.identity.of_entity(rt, entity)
    if identity.disabled:
        raise PermissionDenied()
    return identity


def token_type(mount: MountEntry, wanted: str) -> str:
    """The method's wish ("default", "service", "batch") under the mount's tune, as
    OpenBao's router settles it: a tuned service or batch wins; a tuned default decides
    only where the method did not ask."""
    tuned = mount.config.effective_token_type
    if tuned in (SERVICE, BATCH):
        return tuned
    if tuned == "default-batch":
        return SERVICE if wanted == SERVICE else BATCH
    return BATCH if wanted == BATCH else SERVICE


def _token_entry(
    request: Request, mount: MountEntry, auth: Auth, identity: ResolvedIdentity | None
) -> tuple[TokenEntry, list[str]]:
    settings = auth.token
    kind = token_type(mount, settings.type)
    policies = sanitize(
        [*settings.policies, *auth.extra_policies], add_default=not settings.no_default_policy
    )
    now = now_ns()
    ttl, warnings = calculate_ttl(
        login_limits(mount, settings),
        start_ns=now,
        now_ns=now,
        backend_ttl=settings.ttl,
        period=settings.period,
        explicit_max_ttl=settings.explicit_max_ttl,
    )
    cidrs = settings.bound_cidrs
    if settings.strictly_bind_ip and request.remote_address:
        cidrs = (request.remote_address,)
    created = now // NANOS
    # A service token's lease starts now; a batch token's on the whole second, as Vault's.
    lease = (
        {"issued_ns": now, "expires_ns": now + ttl * NANOS}
        if kind == SERVICE else lease_times(created, ttl)
    )
    source = mount.path.replace("/", "-")
    entry = TokenEntry(
        accessor="",
        policies=tuple(policies),
        path=request.path,
        display_name=(source + auth.display_name).removesuffix("-"),
        meta=dict(auth.metadata) or None,
        creation_time=created,
        ttl=ttl,
        explicit_max_ttl=settings.explicit_max_ttl,
        period=settings.period,
        num_uses=settings.num_uses if kind == SERVICE else 0,
        renewable=kind == SERVICE,
        type=kind,
        entity_id=identity.entity_id if identity is not None else "",
        bound_cidrs=cidrs,
        internal=dict(auth.internal) or None,
        lease_ttl=ttl,
        **lease,
    )
    return entry, warnings


def login_limits(mount: MountEntry, settings: TokenSettings) -> TTLLimits:
    """The auth mount's default and max TTL, the max lowered by the method's token_max_ttl
    (OpenBao's CalculateTTL with a backend max), for a login and for its renewals."""
    default_ttl, max_ttl = effective_ttls(mount)
    if 0 < settings.max_ttl < max_ttl:
        max_ttl = settings.max_ttl
    return TTLLimits(default_ttl, max_ttl)


def _refuse_privileged(policies: list[str]) -> None:
    for name in policies:
        if name == ROOT:
            raise BadRequest("auth methods cannot create root tokens")
        if name in NON_ASSIGNABLE:
            raise BadRequest(f"cannot assign policy {json.dumps(name)}")

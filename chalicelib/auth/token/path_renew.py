"""auth/token/renew, renew-self and renew-accessor."""

from __future__ import annotations

import json
from typing import NamedTuple

from chalicelib.auth.token.common import accessor_record, mount_limits, role_store, store
from chalicelib.core import authz
from chalicelib.core.errors import BadRequest, VaultError
from chalicelib.core.login import login_limits
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.engines.registry import backend_of
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.login import LoginRenewal
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.storage.view import StorageView
from chalicelib.tokens.clock import NANOS, now_ns
from chalicelib.tokens.entry import BATCH, TokenEntry
from chalicelib.tokens.ttl import TTLLimits, calculate_ttl
from chalicelib.tokens.view import auth_block

_INCREMENT = {"increment": Field(FieldType.DURATION, 0)}


class _Bounds(NamedTuple):
    """What limits a renewal: the mount's TTLs, the token's TTL, period and explicit max."""

    limits: TTLLimits
    ttl: int
    period: int
    explicit_max_ttl: int


def _renewal_bounds(request: Request, entry: TokenEntry) -> _Bounds:
    """A role's current values for role tokens; for a login token, what its auth method
    answers now (OpenBao asks the method, which refuses if the login no longer stands)."""
    limits = mount_limits(request)
    if entry.role:
        role = role_store().get(entry.role)
        if role is None:
            raise VaultError(
                f"original token role {json.dumps(entry.role)} could not be found, not renewing",
                status=500,
            )
        return _Bounds(limits, 0, role.effective_period, role.effective_explicit_max_ttl)
    login = login_renewal(entry)
    if login is not None:
        limits, settings = login
        return _Bounds(limits, settings.ttl, settings.period, entry.explicit_max_ttl)
    return _Bounds(limits, 0, entry.period, entry.explicit_max_ttl)


def login_renewal(entry: TokenEntry) -> tuple[TTLLimits, TokenSettings] | None:
    """The issuing auth mount's TTLs and the method's current settings for a login token
    (None for tokens the token store issued itself)."""
    if not entry.path.startswith("auth/") or entry.path.startswith("auth/token/"):
        return None
    rt = runtime()
    mount = rt.auth.longest_prefix(entry.path)
    if mount is None:
        raise BadRequest("the auth method that issued this token is no longer mounted")
    backend = backend_of(mount)
    if backend.renew_login is None:
        return None
    try:
        settings = backend.renew_login(
            StorageView(rt.barrier, mount.storage_prefix),
            LoginRenewal(dict(entry.internal or {}), entry.policies, dict(entry.meta or {})),
        )
    except BadRequest as refused:  # worded as OpenBao's expiration manager words it
        raise BadRequest(f"failed to renew entry: {refused.message}") from None
    return login_limits(mount, settings), settings


def renew(
    request: Request, entry: TokenEntry | None, client_token: str, increment: int
) -> Response:
    """Extend the token's lease from now, capped by its max TTL (OpenBao's ``RenewToken``)."""
    if entry is None:
        raise BadRequest("token not found")
    if entry.type == BATCH:
        raise BadRequest("batch tokens cannot be renewed")
    bounds = _renewal_bounds(request, entry)
    warnings: list[str] = []

    def extend(current: TokenEntry) -> TokenEntry:
        now = now_ns()
        if not current.lease_renewable(now):
            raise BadRequest("lease is not renewable")
        ttl, found = calculate_ttl(
            bounds.limits,
            start_ns=current.issued_ns,
            now_ns=now,
            increment=increment,
            backend_ttl=bounds.ttl or current.lease_ttl,
            period=bounds.period,
            explicit_max_ttl=bounds.explicit_max_ttl,
        )
        warnings[:] = found
        return current.evolve(lease_ttl=ttl, expires_ns=now + ttl * NANOS, last_renewal_ns=now)

    renewed = store().update(entry, extend)
    if renewed is None:
        raise BadRequest("token not found")
    identity = authz.identity_of(runtime(), renewed)
    identity_policies = identity.policies if identity is not None else ()
    return Response(auth=auth_block(renewed, client_token, identity_policies), warnings=warnings)


def _renew(request: Request, data: FieldData) -> Response:
    token_id = data["token"]
    if not token_id:
        raise BadRequest("missing token ID")
    return renew(request, store().lookup(token_id), token_id, data["increment"])


def _renew_self(request: Request, data: FieldData) -> Response:
    return renew(request, request.token, request.client_token, data["increment"])


def _renew_accessor(request: Request, data: FieldData) -> Response:
    """As renew, but the response carries no token ID."""
    tokens = store()
    record = accessor_record(tokens, data["accessor"])
    return renew(request, tokens.lookup_salted(record.salted_id), "", data["increment"])


def paths() -> list[Path]:
    op = Operation
    token = {"token": Field(FieldType.STRING, ""), **_INCREMENT}
    accessor = {"accessor": Field(FieldType.STRING, ""), **_INCREMENT}
    return [
        Path(
            "renew-accessor",
            {op.UPDATE: _renew_accessor},
            accessor,
            synopsis="Renew a token by its accessor.",
        ),
        Path("renew-self", {op.UPDATE: _renew_self}, token, synopsis="Renew the calling token."),
        Path("renew", {op.UPDATE: _renew}, token, synopsis="Renew a token."),
    ]

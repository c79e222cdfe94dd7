"""auth/token/renew, renew-self and renew-accessor."""

from __future__ import annotations

import json

from chalicelib.auth.token.common import accessor_record, mount_limits, role_store, store
from chalicelib.core.errors import BadRequest, VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.tokens.clock import NANOS, now_ns
from chalicelib.tokens.entry import BATCH, TokenEntry
from chalicelib.tokens.ttl import calculate_ttl
from chalicelib.tokens.view import auth_block

_INCREMENT = {"increment": Field(FieldType.DURATION, 0)}


def _renewal_bounds(entry: TokenEntry) -> tuple[int, int]:
    """Period and explicit max TTL: a role's current values for role tokens (as OpenBao)."""
    if not entry.role:
        return entry.period, entry.explicit_max_ttl
    role = role_store().get(entry.role)
    if role is None:
        raise VaultError(
            f"original token role {json.dumps(entry.role)} could not be found, not renewing",
            status=500,
        )
    return role.effective_period, role.effective_explicit_max_ttl


def renew(
    request: Request, entry: TokenEntry | None, client_token: str, increment: int
) -> Response:
    """Extend the token's lease from now, capped by its max TTL (OpenBao's ``RenewToken``)."""
    if entry is None:
        raise BadRequest("token not found")
    if entry.type == BATCH:
        raise BadRequest("batch tokens cannot be renewed")
    period, explicit_max_ttl = _renewal_bounds(entry)
    limits = mount_limits(request)
    warnings: list[str] = []

    def extend(current: TokenEntry) -> TokenEntry:
        now = now_ns()
        if not current.lease_renewable(now):
            raise BadRequest("lease is not renewable")
        ttl, found = calculate_ttl(
            limits,
            start_ns=current.issued_ns,
            now_ns=now,
            increment=increment,
            backend_ttl=current.lease_ttl,
            period=period,
            explicit_max_ttl=explicit_max_ttl,
        )
        warnings[:] = found
        return current.evolve(lease_ttl=ttl, expires_ns=now + ttl * NANOS, last_renewal_ns=now)

    renewed = store().update(entry, extend)
    if renewed is None:
        raise BadRequest("token not found")
    return Response(auth=auth_block(renewed, client_token), warnings=warnings)


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
        Path("renew-accessor", {op.UPDATE: _renew_accessor}, accessor),
        Path("renew-self", {op.UPDATE: _renew_self}, token),
        Path("renew", {op.UPDATE: _renew}, token),
    ]

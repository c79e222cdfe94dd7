"""auth/token/lookup, lookup-self and lookup-accessor."""

from __future__ import annotations

from chalicelib.auth.token.common import accessor_record, store
from chalicelib.core import authz
from chalicelib.core.errors import BadRequest, PermissionDenied, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.tokens.clock import now_ns
from chalicelib.tokens.entry import TokenEntry
from chalicelib.tokens.view import lookup_data

_TOKEN = {"token": Field(FieldType.STRING, "")}


def _lookup(request: Request, data: FieldData) -> Response:
    """An empty ``token`` means the caller's own, as OpenBao."""
    token_id = data["token"] or request.client_token
    if not token_id:
        raise BadRequest("missing token ID")
    entry = store().lookup(token_id, tainted=True)
    if entry is None:
        raise PermissionDenied("bad token")
    return Response(data=lookup_data(entry, token_id, now_ns(), _identity_policies(entry)))


def _lookup_self(request: Request, data: FieldData) -> Response:
    assert request.token is not None
    # The pipeline has just read (and, for a limited token, spent) the caller's entry.
    identity = request.identity
    policies = identity.policies if identity is not None else ()
    return Response(data=lookup_data(request.token, request.client_token, now_ns(), policies))


def _lookup_accessor(request: Request, data: FieldData) -> Response:
    """The token behind an accessor, without its ID."""
    tokens = store()
    record = accessor_record(tokens, data["accessor"])
    entry = tokens.lookup_salted(record.salted_id, tainted=True)
    if entry is None:
        raise PermissionDenied(multierror("permission denied"))
    return Response(data=lookup_data(entry, "", now_ns(), _identity_policies(entry)))


def _identity_policies(entry: TokenEntry) -> tuple[str, ...]:
    identity = authz.identity_of(runtime(), entry)
    return identity.policies if identity is not None else ()


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "lookup",
            {op.READ: _lookup, op.UPDATE: _lookup},
            _TOKEN,
            synopsis="Look up a token's properties.",
            computes=True,
        ),
        Path(
            "lookup-self",
            {op.READ: _lookup_self, op.UPDATE: _lookup_self},
            _TOKEN,
            synopsis="Look up the calling token's properties.",
            computes=True,
        ),
        Path(
            "lookup-accessor",
            {op.UPDATE: _lookup_accessor},
            {"accessor": Field(FieldType.STRING, "")},
            synopsis="Look up a token's properties by its accessor.",
            computes=True,
        ),
    ]

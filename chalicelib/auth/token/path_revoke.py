"""auth/token/revoke, revoke-self, revoke-accessor and revoke-orphan."""

from __future__ import annotations

from chalicelib.auth.token.common import store
from chalicelib.core import authz
from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.tokens.entry import BATCH, TokenEntry
from chalicelib.tokens.revoke import revoke_orphan, revoke_tree

_TOKEN = {"token": Field(FieldType.STRING, "")}


def _revoke_tree(entry: TokenEntry | None) -> None:
    """Revoke a token and its descendants; an unknown token is quietly done with."""
    if entry is None:
        return
    if entry.type == BATCH:
        raise BadRequest("batch tokens cannot be revoked")
    revoke_tree(store(), entry.salted_id)


def _revoke(request: Request, data: FieldData) -> None:
    if not data["token"]:
        raise BadRequest("missing token ID")
    _revoke_tree(store().lookup(data["token"]))


def _revoke_self(request: Request, data: FieldData) -> None:
    _revoke_tree(request.token)


def _revoke_accessor(request: Request, data: FieldData) -> Response | None:
    if not data["accessor"]:
        raise BadRequest(multierror("missing accessor"))
    tokens = store()
    record = tokens.accessor_record(data["accessor"])
    if record is None:
        return Response(warnings=["No token found with this accessor"])
    entry = tokens.lookup_salted(record.salted_id)
    if entry is None:
        raise BadRequest("token not found")
    _revoke_tree(entry)
    return None


def _revoke_orphan(request: Request, data: FieldData) -> None:
    """Revoke one token and orphan its children; needs root or sudo on this path."""
    if not data["token"]:
        raise BadRequest("missing token ID")
    assert request.token is not None
    if not authz.has_sudo(runtime(), request.token, request.path, request.identity):
        raise BadRequest("root or sudo privileges required to revoke and orphan")
    tokens = store()
    entry = tokens.lookup(data["token"])
    if entry is None:
        raise BadRequest("token to revoke not found")
    if entry.type == BATCH:
        raise BadRequest("batch tokens cannot be revoked")
    revoke_orphan(tokens, entry.salted_id)


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "revoke-accessor",
            {op.UPDATE: _revoke_accessor},
            {"accessor": Field(FieldType.STRING, "")},
            synopsis="Revoke a token and its children by the token's accessor.",
        ),
        Path(
            "revoke-self",
            {op.UPDATE: _revoke_self},
            synopsis="Revoke the calling token and its children.",
        ),
        Path(
            "revoke-orphan",
            {op.UPDATE: _revoke_orphan},
            _TOKEN,
            synopsis="Revoke a token, leaving its children as orphans.",
        ),
        Path("revoke", {op.UPDATE: _revoke}, _TOKEN, synopsis="Revoke a token and its children."),
    ]

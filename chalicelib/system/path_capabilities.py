"""sys/capabilities, capabilities-self and capabilities-accessor: what a token may do on paths.

Each answers with one entry per requested path, plus ``capabilities`` when exactly one path
was asked (OpenBao keeps it for old clients), and repeats its data at the top level of the
envelope as OpenBao's HTTP layer does for these three paths. The ACL comes from the same
per-container cache the pipeline authorizes with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.auth.token.common import accessor_record
from chalicelib.core import authz
from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.fieldtypes import FieldError
from chalicelib.tokens.clock import now_ns
from chalicelib.tokens.context import token_store
from chalicelib.tokens.entry import TokenEntry

_PATH_FIELDS = {
    "paths": Field(FieldType.ANY),
    "path": Field(FieldType.ANY, description="Use 'paths' instead."),  # deprecated spelling
}
# Read raw: a token that is not a string counts as none, as in OpenBao.
_TOKEN_FIELDS = {"token": Field(FieldType.ANY), **_PATH_FIELDS}


def _path_list(name: str, raw: Any) -> list[str]:
    """OpenBao's comma-string-slice parsing, which keeps empty items.

    The framework's list type drops them, but OpenBao answers "missing path" for
    ``["", "a"]`` or ``"a,,b"``, so the paths are parsed here.
    """
    if raw is None or raw == "":
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list):
        items = [items]
    try:
        return [FieldType.STRING.convert(item).strip() for item in items]
    except FieldError as error:
        raise BadRequest(f"error converting input for field {name!r}: {error}") from None


def _requested_paths(data: FieldData) -> list[str]:
    paths = _path_list("paths", data["paths"]) or _path_list("path", data["path"])
    if not paths:
        raise BadRequest("paths must be supplied")
    return paths


def _capabilities_of(token: TokenEntry | None, paths: Sequence[str]) -> Response:
    """OpenBao's ``handleCapabilities`` for an already looked-up token (None: not valid)."""
    rt = runtime()
    acl = authz.acl_for(rt, token, authz.identity_of(rt, token)) if token is not None else None
    answers: dict[str, Any] = {}
    for path in paths:
        # Checked per path, in OpenBao's order: an empty path is reported before a bad token.
        if not path:
            raise BadRequest(multierror("missing path"))
        if acl is None:
            raise BadRequest(multierror("invalid token"))
        answers[path] = acl.capabilities(path)
    if len(paths) == 1:
        answers["capabilities"] = answers[paths[0]]
    return Response(data=answers, legacy_top_level=True)


def _capabilities(request: Request, data: FieldData) -> Response:
    """POST sys/capabilities: the capabilities of ``token`` on ``paths``."""
    token_id = data["token"] if isinstance(data["token"], str) else ""
    if not token_id:
        # OpenBao answers 500 with these words; a missing token is the client's error.
        raise BadRequest(multierror("no token found"))
    paths = _requested_paths(data)
    return _capabilities_of(token_store(runtime()).lookup(token_id), paths)


def _capabilities_self(request: Request, data: FieldData) -> Response:
    """POST sys/capabilities-self: the caller's own token (a ``token`` field is ignored)."""
    paths = _requested_paths(data)
    token = request.token
    # A token on its last use was valid for this request but no longer looks up (as Vault).
    live = token if token is not None and token.live(now_ns()) else None
    return _capabilities_of(live, paths)


def _capabilities_accessor(request: Request, data: FieldData) -> Response:
    """POST sys/capabilities-accessor: the token behind ``accessor``."""
    accessor = data["accessor"]
    if not accessor:
        raise BadRequest("missing accessor")
    tokens = token_store(runtime())
    record = accessor_record(tokens, accessor)
    paths = _requested_paths(data)
    return _capabilities_of(tokens.lookup_salted(record.salted_id), paths)


def paths() -> list[Path]:
    op = Operation
    return [
        Path(
            "capabilities-accessor",
            {op.UPDATE: _capabilities_accessor},
            {"accessor": Field(FieldType.STRING, ""), **_PATH_FIELDS},
            synopsis="The capabilities of the token with this accessor on paths.",
            computes=True,
        ),
        Path(
            "capabilities",
            {op.UPDATE: _capabilities},
            _TOKEN_FIELDS,
            synopsis="The capabilities of a token on paths.",
            computes=True,
        ),
        Path(
            "capabilities-self",
            {op.UPDATE: _capabilities_self},
            _TOKEN_FIELDS,
            synopsis="The capabilities of the calling token on paths.",
            computes=True,
        ),
    ]

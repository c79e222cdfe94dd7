"""auth/token/accessors (LIST, sudo) and auth/token/tidy."""

from __future__ import annotations

from chalicelib.auth.token.common import store
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response, tidy_started
from chalicelib.core.runtime import runtime
from chalicelib.framework import FieldData, Path
from chalicelib.tokens.context import tidy_token_store
from chalicelib.tokens.tidy import list_accessors


def _list_accessors(request: Request, data: FieldData) -> Response:
    return Response(data={"keys": list_accessors(store())})


def _tidy(request: Request, data: FieldData) -> Response:
    """Runs to completion within the request (OpenBao runs it in the background)."""
    tidy_token_store(runtime())
    return tidy_started()


def paths() -> list[Path]:
    return [
        Path(
            "accessors/?",
            {Operation.LIST: _list_accessors},
            synopsis="List the accessors of all tokens (needs sudo).",
        ),
        Path(
            "tidy",
            {Operation.UPDATE: _tidy},
            synopsis="Clean up the token store's leftovers (expired tokens' entries).",
        ),
    ]

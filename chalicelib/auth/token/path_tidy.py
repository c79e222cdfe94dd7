"""auth/token/accessors (LIST, sudo) and auth/token/tidy."""

from __future__ import annotations

from http import HTTPStatus

from chalicelib.auth.token.common import store
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import FieldData, Path
from chalicelib.tokens.context import tidy_token_store
from chalicelib.tokens.tidy import list_accessors

TIDY_STARTED = (
    "Tidy operation successfully started. Any information from the operation will be "
    "printed to OpenBao's server logs."
)


def _list_accessors(request: Request, data: FieldData) -> Response:
    return Response(data={"keys": list_accessors(store())})


def _tidy(request: Request, data: FieldData) -> Response:
    """Runs to completion within the request (OpenBao runs it in the background)."""
    tidy_token_store(runtime())
    return Response(warnings=[TIDY_STARTED], status=HTTPStatus.ACCEPTED)


def paths() -> list[Path]:
    return [
        Path("accessors/?", {Operation.LIST: _list_accessors}),
        Path("tidy", {Operation.UPDATE: _tidy}),
    ]

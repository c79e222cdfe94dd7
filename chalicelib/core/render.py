"""Vault's JSON envelope for successes and ``{"errors": [...]}`` for failures."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from chalicelib.core.errors import VaultError
from chalicelib.core.operation import Operation
from chalicelib.core.request import HttpReply, Request, Response

JSON_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def render(request: Request, response: Response | None) -> HttpReply:
    if response is None:
        if request.operation in (Operation.READ, Operation.LIST):
            # Vault: a read that finds nothing is a 404 with an empty error list.
            return HttpReply(HTTPStatus.NOT_FOUND, {"errors": []}, dict(JSON_HEADERS))
        return HttpReply(HTTPStatus.NO_CONTENT, None, {"Cache-Control": "no-store"})
    headers = {**JSON_HEADERS, **response.headers}
    if response.raw is not None:
        return HttpReply(response.status or HTTPStatus.OK, response.raw, headers)
    if _is_empty(response):
        return HttpReply(response.status or HTTPStatus.NO_CONTENT, None, response.headers)
    body: dict[str, Any] = {
        "request_id": request.request_id,
        "lease_id": response.lease_id,
        "renewable": response.renewable,
        "lease_duration": response.lease_duration,
        "data": response.data,
        "wrap_info": response.wrap_info,
        "warnings": response.warnings or None,
        "auth": response.auth,
    }
    if response.legacy_top_level and response.data:
        body = {**response.data, **body}
    return HttpReply(response.status or HTTPStatus.OK, body, headers)


def _is_empty(response: Response) -> bool:
    return response.data is None and not (
        response.auth or response.warnings or response.wrap_info or response.lease_id
    )


def render_error(error: VaultError) -> HttpReply:
    return HttpReply(
        int(error.status), {"errors": [error.message]}, {**JSON_HEADERS, **error.headers}
    )

"""API Gateway proxy events (through Chalice) in, Chalice responses out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import unquote

from chalicelib.core.errors import VaultError
from chalicelib.core.pipeline import handle
from chalicelib.core.render import render_error
from chalicelib.core.request import HttpReply
from chalicelib.transports.http import build_request

if TYPE_CHECKING:
    from chalice.app import Request as ChaliceRequest
    from chalice.app import Response as ChaliceResponse

_COMPACT = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps builds one per call


def handle_chalice(current: ChaliceRequest) -> ChaliceResponse:
    context = current.context or {}
    try:
        request = build_request(
            method=current.method,
            # API Gateway keeps the client's percent-encoding in the proxy path; Vault decodes.
            path=unquote((current.uri_params or {}).get("proxy", "")),
            query=dict(current.query_params or {}),
            headers=dict(current.headers or {}),
            body=current.raw_body,
            remote_address=context.get("identity", {}).get("sourceIp", ""),
        )
    except VaultError as error:
        return to_chalice(render_error(error))
    return to_chalice(handle(request))


def to_chalice(reply: HttpReply) -> ChaliceResponse:
    from chalice.app import Response as ChaliceResponse

    body = "" if reply.body is None else _COMPACT.encode(reply.body)
    return ChaliceResponse(body=body, status_code=reply.status, headers=reply.headers)

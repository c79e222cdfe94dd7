"""Direct Lambda invocation: ``{"method", "path", "data", "token", "headers"}`` in,
``{"status", "headers", "body"}`` out, through the same pipeline as HTTP.

The contract mirrors an HTTP request without the URL: ``path`` is relative to ``/v1/``,
``data`` is the JSON body of a write or the query parameters of a read, ``LIST`` is a verb
of its own (no API Gateway in between to forbid it). ``body`` is Vault's envelope as a JSON
object, or null for a 204; a bare text body (a PEM certificate) is a string, and a binary
one (a DER certificate) is base64 text with ``"isBase64Encoded": true`` beside it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, VaultError
from chalicelib.core.pipeline import handle
from chalicelib.core.render import render_error
from chalicelib.core.request import HttpReply, Request
from chalicelib.transports.http import build_request

__all__ = ["handle_invoke", "to_event_reply"]

# Methods whose data travels as query parameters over HTTP.
_QUERY_METHODS = frozenset({"GET", "HEAD", "LIST"})


def handle_invoke(event: object, request_id: str | None = None) -> dict[str, Any]:
    """Answer one invoke event; a malformed event gets Vault's error envelope with 400."""
    try:
        request = _build(event, request_id)
    except VaultError as error:
        return to_event_reply(render_error(error))
    return to_event_reply(handle(request))


def to_event_reply(reply: HttpReply) -> dict[str, Any]:
    if isinstance(reply.body, bytes):
        return {"status": reply.status, "headers": dict(reply.headers),
                "body": base64.b64encode(reply.body).decode("ascii"), "isBase64Encoded": True}
    return {"status": reply.status, "headers": dict(reply.headers), "body": reply.body}


def _build(event: object, request_id: str | None) -> Request:
    if not isinstance(event, Mapping):
        raise BadRequest("invalid invoke event: expected a JSON object")
    method = _text(event, "method").upper()
    path = _text(event, "path").lstrip("/")
    if not method or not path:
        raise BadRequest('invalid invoke event: "method" and "path" are required')
    data = _mapping(event, "data")
    headers = {name: _header(name, value) for name, value in _mapping(event, "headers").items()}
    token = _text(event, "token")
    if token:
        headers["X-Vault-Token"] = token
    query = {k: _query_value(v) for k, v in data.items()} if method in _QUERY_METHODS else {}
    body = None if method in _QUERY_METHODS or not data else jsonio.dumps(data)
    return build_request(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        remote_address="",  # no client address over Invoke: CIDR-bound tokens are refused
        request_id=request_id,
    )


def _text(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f'invalid invoke event: "{name}" must be a string')
    return value


def _mapping(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = event.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise BadRequest(f'invalid invoke event: "{name}" must be a JSON object')
    return dict(value)


def _header(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise BadRequest(f'invalid invoke event: header "{name}" must be a string')
    return value


def _query_value(value: object) -> str:
    """A read's data as it would arrive in a query string: strings as they are, else JSON."""
    return value if isinstance(value, str) else jsonio.dumps(value)

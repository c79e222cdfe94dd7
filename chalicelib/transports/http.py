"""HTTP semantics shared by every HTTP-shaped transport: verbs, headers, bodies."""

from __future__ import annotations

import html
import posixpath
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import HttpReply, Request
from chalicelib.framework.fieldtypes import FieldError, parse_duration
from chalicelib.transports.mediatype import require_merge_patch

_WRITE_METHODS = {"POST", "PUT"}
# Bodies that are not JSON, handed to the path as Request.body (as Vault passes the HTTP
# request on for them): an OCSP POST's DER (RFC 6960 A.1).
_UNPARSED_TYPES = ("application/ocsp-request",)
_TRUE = {"true", "1", "t"}


def clean_path_redirect(path: str, query: Mapping[str, str]) -> HttpReply | None:
    """Go's ServeMux answer to a path with ``//``, ``.`` or ``..`` segments: a 307 to the
    cleaned path (trailing slash kept), as OpenBao gives; None for a clean path."""
    if "//" not in path and "/." not in path:
        return None  # the common case, decided without normalising
    cleaned = posixpath.normpath(path)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    if cleaned == path:
        return None
    location = cleaned + (f"?{urlencode(query)}" if query else "")
    return HttpReply(
        HTTPStatus.TEMPORARY_REDIRECT,
        f'<a href="{html.escape(location)}">Temporary Redirect</a>.\n',
        {"Location": location, "Content-Type": "text/html; charset=utf-8",
         "Cache-Control": "no-store"},
    )


def is_relative_path(path: str) -> bool:
    """A decoded path with a ``.`` or ``..`` segment (``a%2F..%2Fb`` after decoding), which
    OpenBao's core refuses before routing; ``//`` is let through, as there."""
    if path in (".", "..") or path.startswith(("./", "../")) or path.endswith(("/.", "/..")):
        return True
    return "/./" in path or "/../" in path


def operation_for(method: str, query: Mapping[str, str]) -> Operation:
    """Vault's verb mapping; ``GET ?list=true`` and the LIST verb both list. A non-empty
    ``help`` query parameter asks for help with any verb, as OpenBao's help handler."""
    method = method.upper()
    if method == "HELP" or query.get("help"):
        return Operation.HELP
    if method == "LIST" or (method == "GET" and query.get("list", "").lower() in _TRUE):
        return Operation.LIST
    if method in ("GET", "HEAD"):
        return Operation.READ
    if method in _WRITE_METHODS:
        return Operation.UPDATE  # the pipeline decides create vs update
    if method == "PATCH":
        return Operation.PATCH
    if method == "DELETE":
        return Operation.DELETE
    raise BadRequest(f"unsupported method {method}")


def parse_body(body: str | bytes | None) -> dict[str, Any]:
    """Clients do not always label JSON as JSON, so every body is parsed as JSON."""
    if not body or not body.strip():
        return {}
    try:
        parsed = jsonio.loads(body)
    except jsonio.DecodeError:
        raise BadRequest("failed to decode JSON input: invalid JSON body") from None
    if parsed is None:
        return {}  # the CLI sends `null` for an empty body (e.g. `bao unwrap`, `write -f`)
    if not isinstance(parsed, dict):
        raise BadRequest("failed to decode JSON input: the body must be a JSON object")
    return parsed


def client_token(headers: Mapping[str, str]) -> str:
    token = headers.get("x-vault-token", "")
    if not token:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
    return token


def wrap_ttl(headers: Mapping[str, str]) -> int | None:
    raw = headers.get("x-vault-wrap-ttl")
    if not raw:
        return None
    try:
        ttl = parse_duration(raw)
    except FieldError as error:
        raise BadRequest(f"error parsing X-Vault-Wrap-TTL header: {error}") from None
    if ttl < 0:
        raise BadRequest(
            "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative"
        )
    return ttl or None  # a zero TTL means "do not wrap", as OpenBao


def build_request(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: str | bytes | None,
    remote_address: str,
    request_id: str | None = None,
) -> Request:
    """A pipeline Request from the pieces every HTTP transport has."""
    lowered = {k.lower(): v for k, v in headers.items()}
    operation = operation_for(method, query)
    if operation is Operation.PATCH:
        require_merge_patch(lowered.get("content-type", ""))
    unparsed: bytes | None = None
    if operation is Operation.HELP:
        data: dict[str, Any] = {}  # OpenBao reads neither the query nor the body of help
    elif operation in (Operation.READ, Operation.LIST, Operation.DELETE):
        data = {k: v for k, v in query.items() if k != "list"}
        if operation is Operation.DELETE and body:
            data.update(parse_body(body))
    elif lowered.get("content-type", "").startswith(_UNPARSED_TYPES):
        unparsed = body.encode("utf-8") if isinstance(body, str) else body or b""
        data = {}
    else:
        data = parse_body(body)
    path = path.lstrip("/")
    if is_relative_path(path):
        raise BadRequest("relative paths not supported")
    if operation in (Operation.UPDATE, Operation.PATCH) and path.endswith("/"):
        raise BadRequest("cannot write to a path ending in '/'")
    if operation is Operation.LIST and not path.endswith("/"):
        path += "/"  # Vault's HTTP layer lists folders, so every list path ends in "/"
    request = Request(
        operation=operation,
        path=path,
        data=data,
        client_token=client_token(lowered),
        wrap_ttl=wrap_ttl(lowered),
        headers=lowered,
        remote_address=remote_address,
        body=unparsed,
    )
    if request_id:
        request.request_id = request_id
    return request

"""API Gateway proxy events (through Chalice) in, Chalice responses out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalicelib.core import jsonio
from chalicelib.core.errors import VaultError
from chalicelib.core.pipeline import handle
from chalicelib.core.render import render_error
from chalicelib.core.request import HttpReply
from chalicelib.transports.http import build_request, clean_path_redirect

if TYPE_CHECKING:
    from chalice.app import Request as ChaliceRequest
    from chalice.app import Response as ChaliceResponse

# The app's binary_types (kept short: Chalice scans the list for every response). Bodies of
# these types travel base64-encoded, so a text body of one (pki's PEM ca_chain is sent as
# application/pkix-cert, as OpenBao sends it) is handed to Chalice as bytes.
BINARY_MEDIA_TYPES = (
    "application/pkix-cert",
    "application/pkix-crl",
    "application/ocsp-request",
    "application/ocsp-response",
)


def handle_chalice(current: ChaliceRequest) -> ChaliceResponse:
    context = current.context or {}
    # The event's own dicts: Chalice's case-insensitive wrappers cost a copy per request, and
    # build_request lowercases header names itself. API Gateway's single-value maps hold the
    # last value of a repeated header or parameter, as Chalice's wrappers answer.
    event = current.to_original_event()
    # API Gateway keeps the client's percent-encoding in the proxy path; Vault decodes. Go
    # cleans the path as sent, so an encoded "%2F.." is not redirected but refused later.
    raw_path = (current.uri_params or {}).get("proxy", "")
    query = event.get("queryStringParameters") or {}
    redirect = clean_path_redirect(f"/v1/{raw_path}", query)
    if redirect is not None:
        return to_chalice(redirect)
    try:
        request = build_request(
            method=current.method,
            path=unquote(raw_path),
            query=query,
            headers=_first_token(event),
            body=current.raw_body,
            remote_address=context.get("identity", {}).get("sourceIp", ""),
        )
    except VaultError as error:
        return to_chalice(render_error(error))
    return to_chalice(handle(request))


def _first_token(event: dict[str, Any]) -> dict[str, str]:
    """The event's headers, with the first of repeated X-Vault-Token headers, as Vault.

    Go's ``Header.Get`` answers the first value; API Gateway's single-value map holds the
    last, so a request carrying two tokens would otherwise run as the second.
    """
    headers: dict[str, str] = event.get("headers") or {}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if len(values) > 1 and name.lower() == "x-vault-token":
            return {**{k: v for k, v in headers.items() if k.lower() != name.lower()},
                    name: values[0]}
    return headers


def to_chalice(reply: HttpReply) -> ChaliceResponse:
    from chalice.app import Response as ChaliceResponse

    # A str or bytes body is sent as it is (a raw text/plain answer such as ssh's
    # public_key, pki's PEM and DER certificates). Bytes reach an API Gateway client intact
    # only for media types listed in the app's binary_types.
    if reply.body is None:
        body: str | bytes = ""
    elif isinstance(reply.body, str | bytes):
        body = reply.body
    else:
        body = jsonio.dumps(reply.body)
    if isinstance(body, str) and _binary(reply.headers):
        body = body.encode()
    return ChaliceResponse(body=body, status_code=reply.status, headers=reply.headers)


def _binary(headers: dict[str, str]) -> bool:
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return kind.split(";", 1)[0].strip().lower() in BINARY_MEDIA_TYPES

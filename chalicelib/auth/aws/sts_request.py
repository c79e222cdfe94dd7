"""The login's signed sts:GetCallerIdentity request: decoded, and refused unless it can
only ever ask STS who signed it (OpenBao's pathLoginIamGetRoleNameCallerIdAndEntity).

The client chooses nothing about where the request goes: Lambdavault forwards it to the
configured STS endpoint only. What is checked here keeps the forwarded request to one
meaning: one action, GetCallerIdentity, addressed to STS, and (when configured) carrying
a signed ``X-Vault-AWS-IAM-Server-ID`` header naming this Vault, so a request signed for
another server cannot be replayed here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from chalicelib.auth.aws.config import ClientConfig, canonical_header
from chalicelib.core.errors import BadRequest

SERVER_ID_HEADER = "X-Vault-AWS-IAM-Server-ID"
# The only body with the meaning we forward (hvac and the bao CLI send exactly this).
_BODY = {"Action": ["GetCallerIdentity"], "Version": ["2011-06-15"]}
# OpenBao's defaultAllowedSTSRequestHeaders: other X-Amz-* headers need allowing.
_ALLOWED_AMZ = frozenset({
    "X-Amz-Algorithm", "X-Amz-Content-Sha256", "X-Amz-Credential", "X-Amz-Date",
    "X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-SignedHeaders",
})  # fmt: skip
# STS's own hostnames (global, regional, FIPS, China): where a signed request may point.
_STS_HOST = re.compile(r"sts(-fips)?(\.[a-z]{2}(-[a-z]+)+-\d)?\.amazonaws\.com(\.cn)?")
_SIGNED_HEADERS = re.compile(r"SignedHeaders=([^,\s]+)")
_CREDENTIAL_REGION = re.compile(r"Credential=[^/\s]+/\d{8}/([a-z0-9-]+)/sts/aws4_request")


class SignedRequest(NamedTuple):
    """What the client signed: its method, host, body and headers (names canonical)."""

    method: str
    host: str
    body: str
    headers: Mapping[str, tuple[str, ...]]

    def header(self, name: str) -> str:
        return ",".join(self.headers.get(canonical_header(name), ()))


def decode(data: Mapping[str, Any]) -> SignedRequest:
    """The four iam_* login fields, decoded and checked for shape (OpenBao's texts)."""
    method = data["iam_http_request_method"]
    if not method:
        raise BadRequest("missing iam_http_request_method")
    if method != "POST":
        raise BadRequest("invalid iam_http_request_method; currently only 'POST' is supported")
    url = urlsplit(_b64(data["iam_request_url"], "iam_request_url"))
    if url.query or url.fragment or url.path not in ("", "/") or url.scheme != "https":
        raise BadRequest("invalid request")
    if not url.hostname or url.username or url.password:
        raise BadRequest("error parsing iam_request_url")
    body = _b64(data["iam_request_body"], "iam_request_body")
    if parse_qs(body, keep_blank_values=True) != _BODY:
        raise BadRequest("iam request body is invalid")
    headers = _headers(data["iam_request_headers"])
    host = url.netloc.lower()
    if "Host" in headers and [h.lower() for h in headers["Host"]] != [host]:
        raise BadRequest("the Host header does not match iam_request_url")
    return SignedRequest(method, host, body, headers)


def _b64(value: str, name: str) -> str:
    if not value:
        raise BadRequest(f"missing {name}")
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest(f"failed to base64 decode {name}") from None


def _headers(value: Any) -> dict[str, tuple[str, ...]]:
    """OpenBao's TypeHeader: a JSON object, or one base64-encoded, of strings or lists."""
    if isinstance(value, str) and value:
        try:
            value = json.loads(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise BadRequest("iam_request_headers is not base64-encoded JSON") from None
    if not value:
        raise BadRequest("missing iam_request_headers")
    if not isinstance(value, dict):
        raise BadRequest("iam_request_headers must be a JSON object")
    headers: dict[str, tuple[str, ...]] = {}
    for name, raw in value.items():
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise BadRequest("iam_request_headers values must be strings or lists of strings")
        key = canonical_header(name)
        headers[key] = (*headers.get(key, ()), *values)
    return headers


def check(request: SignedRequest, config: ClientConfig, endpoint: str) -> None:
    """The configured rules: server ID header, allowed X-Amz-* headers, an STS host."""
    if config.iam_server_id_header_value:
        _check_server_id(request, config.iam_server_id_header_value)
    allowed = set(config.allowed_sts_header_values or ())
    for name in request.headers:
        if name.startswith("X-Amz-") and name not in _ALLOWED_AMZ and name not in allowed:
            raise BadRequest(f"invalid request header: {name}")
    if "host" not in signed_headers(request):
        raise BadRequest("the request's Host header is not signed")
    configured = (urlsplit(endpoint).netloc or "").lower()
    hostname = request.host.split(":", 1)[0]
    if request.host != configured and not _STS_HOST.fullmatch(hostname):
        raise BadRequest(f'iam_request_url is not addressed to STS: "{request.host}"')


def _check_server_id(request: SignedRequest, wanted: str) -> None:
    given = request.header(SERVER_ID_HEADER)
    prefix = f"error validating {SERVER_ID_HEADER} header: "
    if not given:
        raise BadRequest(f'{prefix}missing header "{SERVER_ID_HEADER}"')
    if given != wanted:  # not a secret: no constant-time compare, as OpenBao
        raise BadRequest(f'{prefix}expected "{wanted}" but got "{given}"')
    if "Authorization" not in request.headers:
        raise BadRequest(f"{prefix}missing Authorization header")
    if SERVER_ID_HEADER.lower() not in signed_headers(request):
        raise BadRequest(f"{prefix}vault header wasn't signed")


def signed_headers(request: SignedRequest) -> list[str]:
    found = _SIGNED_HEADERS.findall(request.header("Authorization"))
    if len(found) != 1:
        return []
    return found[0].lower().split(";")


def client_region(request: SignedRequest) -> str:
    """The region the client signed for (use_sts_region_from_client)."""
    found = _CREDENTIAL_REGION.search(request.header("Authorization"))
    if found is None:
        raise BadRequest("region missing from Authorization header")
    return found.group(1)

"""Bounded HTTP calls to the identity provider: discovery, JWKS and the token endpoint.

Every call has a short timeout and a total deadline, and reads at most a small body, so a
dead or slow IdP costs a login a few seconds and a clear 400, never the whole of API
Gateway's 29 s. URLs come from the mount's configuration only, never from the client.
"""

from __future__ import annotations

import base64
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import lru_cache
from typing import Any

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest

# Seconds per call (connect, and each read); the whole call is bounded by DEADLINE.
TIMEOUT = 3.0
DEADLINE = 5.0
MAX_BODY = 1 << 20
_CHUNK = 64 << 10
_BAD_CA = "could not parse CA PEM value successfully"


class FetchError(BadRequest):
    """The IdP could not be reached or answered badly; the text names no secret."""


@lru_cache(maxsize=8)
def ssl_context(ca_pem: str) -> ssl.SSLContext | None:
    """A context trusting only ``ca_pem`` (system roots when empty)."""
    if not ca_pem:
        return None
    if "-----BEGIN CERTIFICATE-----" not in ca_pem:
        raise FetchError(_BAD_CA)
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cadata=ca_pem)
    except ssl.SSLError:
        raise FetchError(_BAD_CA) from None
    return context


def get_json(url: str, ca_pem: str = "") -> dict[str, Any]:
    return _call(url, ca_pem, {"Accept": "application/json"})


def post_form(
    url: str, form: dict[str, str], ca_pem: str = "", basic: tuple[str, str] | None = None
) -> dict[str, Any]:
    """POST a form (OAuth2's token endpoint); ``basic`` is client_secret_basic's pair."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if basic is not None:
        pair = ":".join(urllib.parse.quote(part, safe="") for part in basic)
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    body = urllib.parse.urlencode(form).encode()
    return _call(url, ca_pem, headers, body)


def _call(url: str, ca_pem: str, headers: dict[str, str], body: bytes | None = None) -> dict[
    str, Any
]:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise FetchError("only http and https URLs can be fetched")
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - checked
    started = time.monotonic()
    try:
        context = ssl_context(ca_pem)
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as reply:  # noqa: S310
            status, answer = reply.status, _read(reply, started)
    except urllib.error.HTTPError as error:
        status, answer = error.code, _read(error, started)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise FetchError(f"error contacting {_where(request)}: {reason}") from None
    try:
        parsed = jsonio.loads(answer) if answer else None
    except jsonio.DecodeError:
        parsed = None
    if status != 200:
        # The OAuth2 error code only: a provider's description may echo what it was sent.
        code = parsed.get("error") if isinstance(parsed, dict) else None
        detail = f" ({code})" if isinstance(code, str) else ""
        raise FetchError(f"{_where(request)} answered {status}{detail}")
    if not isinstance(parsed, dict):
        raise FetchError(f"{_where(request)} did not answer a JSON object")
    return parsed


def _read(reply: Any, started: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() - started > DEADLINE:
            raise FetchError("timed out reading the identity provider's answer")
        chunk = reply.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            raise FetchError("the identity provider's answer is too large")
        chunks.append(chunk)


def _where(request: urllib.request.Request) -> str:
    # Scheme, host and path only: a query string could carry a secret.
    parts = urllib.parse.urlsplit(request.full_url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"

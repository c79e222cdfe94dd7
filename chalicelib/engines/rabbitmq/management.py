"""The RabbitMQ management HTTP API, as far as the engine needs it (rabbit-hole's calls
in Vault: ListUsers, PutUser, DeleteUser, UpdatePermissionsIn, UpdateTopicPermissionsIn).

Every call of one operation shares a time budget, so a RabbitMQ that is down or silent
fails the request in seconds, well under API Gateway's 29 s. Errors are worded as
rabbit-hole and Go's net/http word them (Vault shows those texts), with the URL's
userinfo and any password taken out; an answer's body is read only up to a bound.
"""

from __future__ import annotations

import json
import time
from functools import cache
from http.client import BadStatusLine
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, urlsplit

import urllib3
from urllib3.exceptions import (
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
    TimeoutError,
)

if TYPE_CHECKING:
    from chalicelib.engines.rabbitmq.config import ConnectionConfig

# Seconds: the whole of one operation (creating a user and its permissions), and the
# cleanup after a failure, which gets its own budget so it is still tried.
OPERATION_BUDGET = 5.0
CLEANUP_BUDGET = 3.5  # a loaded broker answered a cleanup DELETE in over 2 s (CI, 2 cores)
CONNECT_TIMEOUT = 2.0
# An answer is untrusted input: only its start is read, and less of it shown.
MAX_BODY = 65536
MAX_SHOWN = 200
TIMED_OUT = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"


class ManagementError(Exception):
    """A failed call; the message is client-safe (no password, bounded). ``uncertain``:
    the request was sent but no answer came, so RabbitMQ may have carried it out."""

    def __init__(self, message: str, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


@cache
def _pool() -> urllib3.PoolManager:
    # One pool per container, reused by every mount (connections are keyed by host).
    return urllib3.PoolManager(num_pools=8, maxsize=2, retries=False)


class Management:
    """Calls to one RabbitMQ as the configured administrator, within a time budget."""

    def __init__(self, config: ConnectionConfig, budget: float = OPERATION_BUDGET) -> None:
        self._endpoint = config.connection_uri
        self._headers = urllib3.make_headers(basic_auth=f"{config.username}:{config.password}")
        self._headers["Content-Type"] = "application/json"
        self._secrets = [s for s in (config.password,) if s]
        self._deadline = time.monotonic() + budget

    def list_users(self) -> None:
        """GET /api/users/: the credentials may manage users (Vault's connection check)."""
        self._call("GET", "users/")

    def put_user(self, username: str, password: str, tags: str) -> None:
        self._secrets.append(password)
        self._call("PUT", f"users/{_segment(username)}", {"password": password, "tags": tags})

    def delete_user(self, username: str) -> None:
        """DELETE /api/users/<name>; a user that is gone already is no error."""
        self._call("DELETE", f"users/{_segment(username)}", missing_ok=True)

    def put_permissions(self, vhost: str, username: str, permission: dict[str, str]) -> None:
        self._call("PUT", f"permissions/{_segment(vhost)}/{_segment(username)}", permission)

    def put_topic_permissions(
        self, vhost: str, username: str, exchange: str, permission: dict[str, str]
    ) -> None:
        self._call(
            "PUT", f"topic-permissions/{_segment(vhost)}/{_segment(username)}",
            {"exchange": exchange, **permission},
        )

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *,
        missing_ok: bool = False,
    ) -> None:
        url = f"{self._endpoint}/api/{path}"
        try:
            parts = urlsplit(url)
        except ValueError as error:
            # Not echoed: a URL that does not parse may still hold userinfo.
            raise ManagementError(f"parse connection_uri: {error}") from None
        shown = _without_userinfo(parts)
        scheme = parts.scheme
        if scheme not in ("http", "https"):
            raise ManagementError(f'{method.title()} "{shown}": unsupported protocol scheme '
                                  f'"{scheme}"')
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise ManagementError(f'{method.title()} "{shown}": {TIMED_OUT}')
        try:
            response = _pool().request(
                method, url, body=None if body is None else json.dumps(body),
                headers=self._headers, preload_content=False, redirect=False,
                timeout=urllib3.Timeout(connect=min(CONNECT_TIMEOUT, remaining), read=remaining),
            )
            # Read (a bounded start of) every answer: a connection goes back to the pool
            # only once its answer has been read whole.
            raw = response.read(MAX_BODY, decode_content=True)
        except (HTTPError, OSError, ValueError) as error:
            raise ManagementError(
                f'{method.title()} "{shown}": {_transport(error)}',
                uncertain=isinstance(error, ReadTimeoutError),
            ) from None
        if len(raw) < MAX_BODY:
            response.release_conn()
        else:
            response.close()
        if 200 <= response.status < 300 or (missing_ok and response.status == 404):
            return
        raise ManagementError(self._redact(_answer_error(response.status, raw)))

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return text[:MAX_SHOWN]


def _segment(value: str) -> str:
    # One path segment: "/" (the default vhost) becomes %2F, as rabbit-hole escapes it.
    return quote(value, safe="")


def _without_userinfo(parts: SplitResult) -> str:
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _transport(error: Exception) -> str:
    """Go's net/http words for a request that got no HTTP answer."""
    # Before the timeouts: urllib3's NewConnectionError is a ConnectTimeoutError too.
    if isinstance(error, NameResolutionError):
        return f"dial tcp: lookup {error.conn.host}: no such host"
    if isinstance(error, NewConnectionError):
        if isinstance(error.__cause__ or error.__context__, ConnectionRefusedError):
            return f"dial tcp {error.conn.host}:{error.conn.port}: connect: connection refused"
        return f"dial tcp {error.conn.host}:{error.conn.port}: connect failed"
    if isinstance(error, TimeoutError):
        return TIMED_OUT
    if isinstance(error, SSLError):
        return "tls: handshake failure"
    line = next((a for a in getattr(error, "args", ()) if isinstance(a, BadStatusLine)), None)
    if isinstance(error, ProtocolError) and line is not None:
        return ("net/http: HTTP/1.x transport connection broken: malformed HTTP response "
                + _go_quote(str(line.args[0])[:40]))
    if any(isinstance(a, ConnectionResetError) for a in getattr(error, "args", ())):
        return "read: connection reset by peer"
    return "the management API did not answer over HTTP"


def _go_quote(text: str) -> str:
    """Go's %q for the (Latin-1) status line a server sent instead of HTTP."""
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}
    return '"' + "".join(
        escapes.get(char) or (f"\\x{ord(char):02x}" if char < " " or "\x7f" <= char <= "\xa0"
                              else char)
        for char in text
    ) + '"'


def _answer_error(status: int, raw: bytes) -> str:
    """rabbit-hole's words for an error answer: its status, `error` and `reason`."""
    if status == 401:
        return "Error: API responded with a 401 Unauthorized"
    try:
        parsed = json.loads(raw)
    except ValueError:
        return f"Error {status} from RabbitMQ: invalid JSON"
    if not isinstance(parsed, dict):
        return f"Error {status} from RabbitMQ: invalid JSON"
    reason = parsed.get("reason", "")
    if not isinstance(reason, str):
        reason = json.dumps(reason, separators=(",", ":"))
    return f"Error {status} ({parsed.get('error', '')}): {reason}"

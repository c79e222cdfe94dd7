"""Local HTTP transport: each request becomes an API Gateway REST (v1) proxy event.

Deployed, API Gateway turns a request into a proxy event for the greedy resource
``/v1/{proxy+}`` and Lambda hands it to the Chalice app. This server builds the same event
and calls the same app object, so a local run takes exactly the Lambda code path
(``chalice local`` cannot route greedy paths and answers 405 to ``LIST``).

Event fidelity follows live API Gateway captures: ``path`` and ``pathParameters.proxy`` keep
the client's percent-encoding; query strings arrive decoded (``+`` is a space); the
single-value ``headers`` / ``queryStringParameters`` hold the last of repeated values and the
``multiValue*`` fields hold them all.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.core import jsonio
from chalicelib.core.request import new_request_id
from chalicelib.observability import logger

__all__ = [
    "MAX_BODY_BYTES",
    "RESOURCE_PATH",
    "STAGE",
    "DevServer",
    "HttpRequest",
    "LambdaHandler",
    "LocalLambdaContext",
    "build_event",
    "require_loopback",
    "serve",
]

LambdaHandler = Callable[[dict[str, Any], Any], Mapping[str, Any]]

RESOURCE_PATH = "/v1/{proxy+}"
API_PREFIX = "/v1/"
# The web UI's resources (app.py): "/ui" itself and everything below it.
UI_ROOT = "/ui"
UI_RESOURCE_PATH = "/ui/{proxy+}"
STAGE = "api"  # Chalice's default stage name, which is also the URL prefix deployed
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit; it answers 413 above it
ALLOWED_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "LIST"})
# API Gateway stops waiting for a REST integration after 29 s, whatever the Lambda timeout.
INTEGRATION_TIMEOUT_SECONDS = 29.0
# Bounds a half-sent body and idle keep-alive sockets; longer than Go's 90 s idle timeout so
# the bao client, not us, closes idle connections (no race on a reused socket).
SOCKET_TIMEOUT_SECONDS = 300.0
LINGER_SECONDS = 1.0
# Hop-by-hop or framing headers from the function's response: we frame the response ourselves.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"connection", "content-length", "keep-alive", "transfer-encoding"}
)
_BODYLESS_STATUSES = frozenset({HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED})


def require_loopback(host: str) -> str:
    """Return ``host`` as an IPv4 loopback address, or raise ValueError.

    The dev server has no TLS and a well-known root token: it must never listen beyond
    this machine.
    """
    candidate = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.IPv4Address(candidate)
    except ValueError:
        raise ValueError(f"{host!r} is not an IPv4 address") from None
    if not address.is_loopback:
        raise ValueError(f"{host} is not a loopback address: only 127.0.0.0/8 is allowed")
    return candidate


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One parsed HTTP request, before it becomes a proxy event."""

    method: str
    target: str  # the request-target as sent: percent-encoded path plus query string
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str = field(default_factory=new_request_id)
    received: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(slots=True)
class LocalLambdaContext:
    """The attributes of Lambda's context object that Chalice and Powertools read."""

    aws_request_id: str
    deadline: float
    function_name: str = "lambdavault-local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    log_group_name: str = "/aws/lambda/lambdavault-local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        region = os.environ.get("AWS_REGION", "us-east-1")
        return f"arn:aws:lambda:{region}:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def build_event(request: HttpRequest, binary_types: Sequence[str] = ()) -> dict[str, Any]:
    """The API Gateway REST proxy event for ``request`` on resource ``/v1/{proxy+}``.

    ``LIST`` becomes ``GET`` with ``list=true`` (API Gateway cannot carry the verb and Vault
    treats both the same). The caller has already checked the path is under ``/v1/`` or is
    the web UI's (``/ui`` and below: :func:`_resource`).
    """
    path, _, query = request.target.partition("?")
    method = request.method
    query_values = _multi_map(parse_qsl(query, keep_blank_values=True))
    if method == "LIST":
        method = "GET"
        query_values["list"] = ["true"]
    header_values = _multi_map(request.headers)
    content_type = _header(request.headers, "content-type")
    body, is_base64 = _event_body(request.body, content_type, binary_types)
    resource, proxy = _resource(path)
    context = _request_context(request, method, path, resource)
    if resource != RESOURCE_PATH:
        # The UI is served at the root here, as behind a custom domain: the path its pages
        # are loaded from is the path as sent (it builds its <base> from that).
        context["path"] = path
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": _last_values(header_values),
        "multiValueHeaders": header_values,
        "queryStringParameters": _last_values(query_values) or None,
        "multiValueQueryStringParameters": query_values or None,
        "pathParameters": None if proxy is None else {"proxy": proxy},
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def is_routed(path: str) -> bool:
    """Whether the function has a resource for ``path`` (the API or the web UI)."""
    if path.startswith(API_PREFIX):
        return path != API_PREFIX
    return path == UI_ROOT or path.startswith(UI_ROOT + "/")


def _resource(path: str) -> tuple[str, str | None]:
    """The API Gateway resource ``path`` matches, and its ``proxy`` parameter."""
    if path == UI_ROOT:
        return UI_ROOT, None
    if path.startswith(UI_ROOT + "/"):
        return UI_RESOURCE_PATH, path[len(UI_ROOT) + 1 :]
    return RESOURCE_PATH, path[len(API_PREFIX) :]


def _request_context(
    request: HttpRequest, method: str, path: str, resource: str
) -> dict[str, Any]:
    return {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": _header(request.headers, "host"),
        "extendedRequestId": request.request_id,
        "httpMethod": method,
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": _header(request.headers, "user-agent"),
        },
        # Through the execute-api URL, API Gateway puts the stage in front of the path.
        "path": f"/{STAGE}{path}",
        "protocol": "HTTP/1.1",
        "requestId": request.request_id,
        "requestTime": request.received.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(request.received.timestamp() * 1000),
        "resourceId": "local",
        "resourcePath": resource,
        "stage": STAGE,
    }


def _multi_map(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _last_values(values: Mapping[str, list[str]]) -> dict[str, str]:
    return {name: items[-1] for name, items in values.items()}


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    found = [value for key, value in headers if key.lower() == name]
    return found[-1] if found else ""


def _event_body(
    body: bytes, content_type: str, binary_types: Sequence[str]
) -> tuple[str | None, bool]:
    """Text, or base64 for binary media types (as API Gateway) and for non-UTF-8 bytes."""
    if not body:
        return None, False
    if not _is_binary_media_type(content_type, binary_types):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # API Gateway would mangle these bytes; keep them intact instead
    return base64.b64encode(body).decode("ascii"), True


def _is_binary_media_type(content_type: str, binary_types: Sequence[str]) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not media_type:
        return False
    matching = {"*/*", media_type, media_type.split("/", 1)[0] + "/*"}
    return any(pattern.lower() in matching for pattern in binary_types)


def parse_result(result: Mapping[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body bytes from a Lambda proxy result, as API Gateway reads it.

    Where a header appears in both ``headers`` and ``multiValueHeaders``, API Gateway keeps
    the multi-value list.
    """
    status = int(result["statusCode"])
    multi_value_headers = result.get("multiValueHeaders") or {}
    multi = {name.lower(): (name, values) for name, values in multi_value_headers.items()}
    headers = [(name, str(v)) for name, values in multi.values() for v in values]
    for name, value in (result.get("headers") or {}).items():
        if name.lower() not in multi:
            headers.append((name, str(value)))
    headers = [(n, v) for n, v in headers if n.lower() not in _DROPPED_RESPONSE_HEADERS]
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        return status, headers, base64.b64decode(body)
    return status, headers, body.encode("utf-8") if isinstance(body, str) else bytes(body)


class _RequestRejected(Exception):
    """An answer the adapter gives itself, as deployed API Gateway would, without the function."""

    def __init__(self, status: HTTPStatus, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close  # the request body was not consumed: the connection cannot be reused


def _content_length(handler: BaseHTTPRequestHandler) -> int:
    if handler.headers.get("Transfer-Encoding"):
        raise _RequestRejected(
            HTTPStatus.LENGTH_REQUIRED,
            "chunked request bodies are not supported: send Content-Length",
            close=True,
        )
    values = set(handler.headers.get_all("Content-Length") or [])
    if not values:
        return 0
    if len(values) > 1 or not next(iter(values)).strip().isdigit():
        raise _RequestRejected(HTTPStatus.BAD_REQUEST, "invalid Content-Length header", close=True)
    length = int(values.pop())
    if length > MAX_BODY_BYTES:
        raise _RequestRejected(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"request body too large: the limit is {MAX_BODY_BYTES} bytes",
            close=True,
        )
    return length


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries its Content-Length
    server_version = "Lambdavault"
    timeout = SOCKET_TIMEOUT_SECONDS
    # Buffered writes: the status line, headers and a small body leave in one send (the base
    # class flushes after each request) instead of a send for the headers and one for the
    # body, each a loopback round of kernel work and a wake-up of the client.
    wbufsize = 64 * 1024
    server: DevServer

    def version_string(self) -> str:
        return self.server_version

    def __getattr__(self, name: str) -> Any:
        # The base class dispatches to do_<METHOD> and answers a missing one with an HTML 501;
        # sending every method here lets unknown ones get Vault's 405 envelope instead.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it, not after.
        try:
            _content_length(self)
        except _RequestRejected as rejected:
            self._send_envelope(rejected.status, rejected.message, close=True)
            return False
        accepted = super().handle_expect_100()
        self.wfile.flush()  # the client waits for this interim answer before sending the body
        return accepted

    def _dispatch(self) -> None:
        started = time.perf_counter()
        try:
            status = self._forward(self._read_body())
        except _RequestRejected as rejected:
            status = rejected.status
            self._send_envelope(rejected.status, rejected.message, close=rejected.close)
        logger.debug(
            "request",
            method=self.command,
            path=self.path.partition("?")[0],  # never the query, headers or body
            status=int(status),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            client=self.client_address[0],
        )

    def _read_body(self) -> bytes:
        length = _content_length(self)
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            message = "request body shorter than Content-Length"
            raise _RequestRejected(HTTPStatus.BAD_REQUEST, message, close=True)
        return body

    def _forward(self, body: bytes) -> int:
        if self.command not in ALLOWED_METHODS:
            message = f"unsupported method {self.command}"
            raise _RequestRejected(HTTPStatus.METHOD_NOT_ALLOWED, message)
        path = self.path.partition("?")[0]
        if not is_routed(path):
            message = "unsupported path: the API is served under /v1/"
            raise _RequestRejected(HTTPStatus.NOT_FOUND, message)
        headers = list(self.headers.items())
        request = HttpRequest(self.command, self.path, headers, body, self.client_address[0])
        status, headers, payload = self.server.invoke(request)
        self._send(status, headers, payload)
        return status

    def _send(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        bodyless = status in _BODYLESS_STATUSES or status < HTTPStatus.OK
        if not bodyless:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not bodyless and self.command != "HEAD":
            self.wfile.write(body)

    def _send_envelope(self, status: int, message: str, *, close: bool = False) -> None:
        status, headers, body = _error_result(status, message)
        if close:
            headers.append(("Connection", "close"))  # also makes the base class close the socket
        self._send(status, headers, body)
        if close:
            self._discard_unread_input()

    def _discard_unread_input(self) -> None:
        # Closing with unread request bytes makes the kernel send a reset, which can destroy
        # the error response before the client reads it (a 413 with its body in flight):
        # finish our side, then drain briefly, as Go's server does.
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_SECONDS)
            deadline = time.monotonic() + LINGER_SECONDS
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Malformed request lines and oversized headers: the stream is unusable, so close it.
        self._send_envelope(code, message or HTTPStatus(code).phrase, close=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _dispatch writes the access log without the query string

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format % args, client=self.client_address[0])


def _error_result(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Vault's error envelope, for answers the adapter gives without calling the function."""
    body = jsonio.dumpb({"errors": [message]})
    return status, [("Content-Type", "application/json")], body


class DevServer(ThreadingHTTPServer):
    """Threaded keep-alive HTTP/1.1 server in front of a Chalice app (or any Lambda handler).

    Invocations are serialised: Chalice keeps ``current_request`` on the app object, and
    Lambda itself never runs two invocations in one container at once. Connections are
    still served on their own threads, so idle keep-alive clients never block others.
    """

    daemon_threads = True  # a wedged handler must not keep the process alive at exit

    def __init__(
        self,
        address: tuple[str, int],
        app: LambdaHandler,
        *,
        binary_types: Sequence[str] | None = None,
    ) -> None:
        host, port = address
        self.app = app
        if binary_types is None:
            binary_types = _app_binary_types(app)
        self.binary_types = tuple(binary_types)
        self.invocation_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        self._serving = False
        self._closed = False
        self._thread: threading.Thread | None = None
        super().__init__((require_loopback(host), port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def invoke(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        """Call the function with the request's proxy event; a failure is a 502, as deployed."""
        event = build_event(request, self.binary_types)
        deadline = time.monotonic() + INTEGRATION_TIMEOUT_SECONDS
        context = LocalLambdaContext(request.request_id, deadline)
        try:
            with self.invocation_lock:
                result = self.app(event, context)
            return parse_result(result)
        except Exception:
            logger.exception("function failed", request_id=request.request_id)
            return _error_result(HTTPStatus.BAD_GATEWAY, "the function failed: see the server log")

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Without it, Nagle's algorithm plus the client's delayed ACK add ~40 ms per response.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._connections_changed:
            self._connections.add(sock)
        return sock, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_changed:
            self._connections.discard(request)
            self._connections_changed.notify_all()
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The base class prints a traceback to stderr, even for a client that hung up.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            logger.debug("connection ended", client=client_address[0], reason=type(error).__name__)
        else:
            logger.exception("request handling failed", client=client_address[0])

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        # A short poll only bounds how long close() waits for the accept loop to notice.
        self._serving = True
        try:
            super().serve_forever(poll_interval)
        finally:
            self._serving = False

    def start(self) -> DevServer:
        """Serve on a daemon thread; returns self so ``serve(...)`` reads naturally."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="lambdavault-http", daemon=True
        )
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, let in-flight requests finish, then close keep-alive connections."""
        if self._closed:
            return
        self._closed = True
        if self._serving:
            self.shutdown()
        self.server_close()
        with self._connections_changed:
            for sock in self._connections:
                # Wakes a handler waiting for the next request without cutting a response short.
                _shutdown_read(sock)
            self._connections_changed.wait_for(lambda: not self._connections, timeout)
        if self._thread is not None:
            self._thread.join(timeout)


def _shutdown_read(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the client already went away
        sock.shutdown(socket.SHUT_RD)


def _app_binary_types(app: LambdaHandler) -> Sequence[str]:
    # Chalice deploys app.api.binary_types as API Gateway's binaryMediaTypes.
    return getattr(getattr(app, "api", None), "binary_types", ())


def serve(app: LambdaHandler, host: str = "127.0.0.1", port: int = 0) -> DevServer:
    """Start a dev server for ``app`` on a daemon thread; ``port=0`` picks a free port.

    Stop it with ``server.close()``; ``server.url`` is its base URL.
    """
    return DevServer((host, port), app).start()

"""Kept-alive HTTP/1.1 POSTs to one endpoint: the transport of the lean AWS path.

A call's HTTP exchange through urllib3 (over http.client, which parses every answer's
headers with the email package) cost ~225-260 µs of CPU, more than signing and parsing the
JSON together (README, "The lean AWS path"). Here a request is one ``sendall`` of bytes
built in one go, and the answer is parsed by httptools (llhttp, the C parser uvicorn uses):
~25-35 µs per exchange, most of it the two system calls. Like http.client, it skips interim
1xx answers and reads a body framed by neither a length nor chunks until the server closes.

Connections are kept in a small LIFO stack, checked before reuse (an idle one the server or
a frozen Lambda let go reads as closed) and closed on any failure. Failures are raised as
botocore's connection errors, as its URLLib3Session raises them, so that the client's retry
handler and core/awsfaults read them unchanged.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    SSLError,
)

_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased (botocore's handlers read them so)
    body: bytes


class _Reader:
    """httptools' callbacks for one answer, and its parser."""

    __slots__ = ("chunks", "done", "headers", "keep_alive", "parser", "status", "until_close")

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.status = 0
        self.done = self.keep_alive = self.until_close = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_message_begin(self) -> None:
        if self.done:  # bytes nobody asked for after the answer: do not reuse the connection
            self.keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.done:
            return
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        # A repeated header joins its values, as http.client (and so botocore) reports it.
        seen = self.headers.get(key)
        self.headers[key] = text if seen is None else f"{seen}, {text}"

    def on_headers_complete(self) -> None:
        # Framed by neither a length nor chunks, a body runs until the server closes
        # (RFC 9112 section 6.3); llhttp cannot know the close without being told.
        framing = self.headers.get("transfer-encoding", "").lower()
        self.until_close = "content-length" not in self.headers and "chunked" not in framing

    def on_body(self, body: bytes) -> None:
        if not self.done:
            self.chunks.append(body)

    def on_message_complete(self) -> None:
        if self.done:
            return
        assert self.parser is not None
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer; the final one follows
            self.headers, self.chunks, self.until_close = {}, [], False
            return
        # Asked here: once the callback returns, llhttp has reset for the next message.
        self.status, self.keep_alive, self.done = status, self.parser.should_keep_alive(), True

    def closed(self) -> None:
        """The server closed the connection: the end of a body framed by the close, else a
        broken answer."""
        if not self.until_close or self.parser is None:
            raise ConnectionResetError("the server closed the connection mid-answer")
        self.status, self.keep_alive, self.done = self.parser.get_status_code(), False, True


class Endpoint:
    """POSTs to ``url`` over kept-alive connections (at most ``keep`` idle at once)."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        keep: int,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(url)
        self.url = url
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._tls = tls if parts.scheme == "https" else None
        self._request_line = f"POST {parts.path or '/'} HTTP/1.1\r\n"
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._keep = keep
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def post(self, headers: dict[str, str], body: bytes) -> Answer:
        """One exchange; ``headers`` must hold Host and Content-Length."""
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        data = f"{self._request_line}{lines}\r\n".encode("latin-1") + body
        sock = self._checkout()
        try:
            sock.sendall(data)
            answer, keep_alive = self._read(sock)
        except Exception as error:
            sock.close()
            raise self._failure(error) from error
        except BaseException:
            sock.close()
            raise
        if keep_alive:
            self._checkin(sock)
        else:
            sock.close()
        return answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()

    def _checkout(self) -> socket.socket:
        while True:
            with self._lock:
                sock = self._idle.pop() if self._idle else None
            if sock is None:
                return self._connect()
            if _alive(sock):
                return sock
            sock.close()

    def _checkin(self, sock: socket.socket) -> None:
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(sock)
                return
        sock.close()

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self._host, self._port), self._connect_timeout)
        except TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=self.url, error=error) from error
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=self.url, error=error) from error
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            sock.settimeout(self._read_timeout)
        except Exception as error:
            sock.close()
            raise self._failure(error) from error
        return sock

    def _read(self, sock: socket.socket) -> tuple[Answer, bool]:
        reader = _Reader()
        reader.parser = parser = httptools.HttpResponseParser(reader)
        try:
            while not reader.done:
                data = sock.recv(_READ_SIZE)
                if not data:
                    reader.closed()
                    break
                try:
                    parser.feed_data(data)
                except httptools.HttpParserError:
                    if not reader.done:  # else: bytes after an answer that ends the connection
                        raise
                    reader.keep_alive = False
        finally:
            reader.parser = None  # no reference cycle left for the garbage collector
        answer = Answer(reader.status, reader.headers, b"".join(reader.chunks))
        return answer, reader.keep_alive

    def _failure(self, error: Exception) -> Exception:
        """botocore's exception for a failed exchange (URLLib3Session.send's mapping)."""
        if isinstance(error, ssl.SSLError):
            return SSLError(endpoint_url=self.url, error=error)
        if isinstance(error, TimeoutError):
            return ReadTimeoutError(endpoint_url=self.url, error=error)
        if isinstance(error, ConnectionError | httptools.HttpParserError):
            # urllib3 reports a malformed answer as a ProtocolError, which botocore maps so.
            return ConnectionClosedError(endpoint_url=self.url, error=error)
        return HTTPClientError(error=error)


def _alive(sock: socket.socket) -> bool:
    """An idle kept-alive connection has nothing to read: readable means the server closed
    it (or sent something unasked), so it must not carry a request."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return not poller.poll(0)

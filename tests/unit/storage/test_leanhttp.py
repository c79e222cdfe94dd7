"""The lean AWS path's transport (core/leanhttp) against small local HTTP/1.1 servers:
connection reuse, connections the server let go, chunked answers, TLS, and failures raised
as botocore's connection errors."""

from __future__ import annotations

import gc
import json
import ssl
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, SSLError

from chalicelib.core.leanaws import lean
from chalicelib.core.leanhttp import Endpoint, _alive
from tests.ldap_support import _pki

BODY = json.dumps({"Item": {"pk": {"S": "/f/"}}}).encode()


class _Stub(BaseHTTPRequestHandler):
    """Answers every POST with BODY as the server's ``mode`` says: ``plain`` (kept alive),
    ``close`` (then closes without saying so), ``announce`` (``Connection: close``),
    ``chunked`` (transfer-encoding chunked), ``cut`` (half a body, then closes),
    ``unframed`` (no length: the body ends when the server closes), ``interim`` (a
    ``100 Continue`` first, sent on its own) or ``trailing`` (``Connection: close`` and bytes
    after the answer)."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))  # type: ignore[attr-defined]
        self.server.requests.append(dict(self.headers))  # type: ignore[attr-defined]
        if mode == "interim":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
            self.wfile.flush()
            time.sleep(0.05)  # a recv of its own
        if mode == "unframed":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Amzn-RequestId: stub\r\n\r\n" + BODY)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("X-Amzn-RequestId", "stub")
        for value in ("a", "b"):
            self.send_header("X-Repeated", value)
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (BODY[:7], BODY[7:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if mode in ("announce", "trailing"):
            self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[: len(BODY) // 2] if mode == "cut" else BODY)
        if mode == "trailing":
            self.wfile.write(b"unasked bytes")
        if mode in ("close", "cut"):
            self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _serving(
    mode: str, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((host, 0), _Stub)
    server.daemon_threads = True
    server.mode, server.connections = mode, 0  # type: ignore[attr-defined]
    server.bodies, server.requests = [], []  # type: ignore[attr-defined]
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _endpoint(server: ThreadingHTTPServer, scheme: str = "http", **options: Any) -> Endpoint:
    url = f"{scheme}://localhost:{server.server_address[1]}/"
    return Endpoint(url, connect_timeout=2, read_timeout=2, keep=options.pop("keep", 4), **options)


def _post(endpoint: Endpoint, body: bytes = b"{}") -> Any:
    return endpoint.post({"Host": "localhost", "Content-Length": str(len(body))}, body)


def test_one_connection_carries_every_call():
    with _serving("plain") as server:
        endpoint = _endpoint(server)
        answers = [_post(endpoint, b'{"n": %d}' % n) for n in range(5)]
    assert [answer.body for answer in answers] == [BODY] * 5
    assert answers[0].status == 200 and answers[0].headers["x-amzn-requestid"] == "stub"
    assert server.bodies == [b'{"n": %d}' % n for n in range(5)]  # type: ignore[attr-defined]
    assert server.connections == 1  # type: ignore[attr-defined]


def test_a_connection_the_server_let_go_is_not_reused():
    """The server closes after each answer without saying so (an idle timeout, a Lambda
    frozen for minutes): the next call sees it and opens a new one instead of failing."""
    with _serving("close") as server:
        endpoint = _endpoint(server)
        answers = []
        for _ in range(3):
            answers.append(_post(endpoint))
            # Once the server's close has arrived (before it, a reuse races the close and
            # fails as ConnectionClosedError, which the client's retry handler retries).
            (idle,) = endpoint._idle
            deadline = time.monotonic() + 5
            while _alive(idle) and time.monotonic() < deadline:
                time.sleep(0.01)
    assert [answer.body for answer in answers] == [BODY] * 3
    assert server.connections == 3  # type: ignore[attr-defined]


def test_connection_close_is_honoured():
    with _serving("announce") as server:
        endpoint = _endpoint(server)
        _post(endpoint)
        assert endpoint._idle == []


def test_a_chunked_answer_is_joined():
    with _serving("chunked") as server:
        endpoint = _endpoint(server)
        assert [_post(endpoint).body for _ in range(2)] == [BODY] * 2
    assert server.connections == 1  # type: ignore[attr-defined]


def test_a_repeated_header_joins_its_values_as_http_client_does():
    with _serving("plain") as server:
        assert _post(_endpoint(server)).headers["x-repeated"] == "a, b"


@pytest.mark.parametrize("mode", ["unframed", "trailing"])
def test_an_answer_ended_by_the_close_is_whole_and_not_reused(mode):
    """No length: the body is what came before the close (as http.client reads it). Bytes
    after an answer that announced the close are ignored. Either way the connection goes."""
    with _serving(mode) as server:
        endpoint = _endpoint(server)
        answers = [_post(endpoint) for _ in range(2)]
        assert endpoint._idle == []
    assert [(answer.status, answer.body) for answer in answers] == [(200, BODY)] * 2
    assert answers[0].headers["x-amzn-requestid"] == "stub"


def test_an_interim_answer_is_skipped():
    with _serving("interim") as server:
        endpoint = _endpoint(server)
        answers = [_post(endpoint) for _ in range(2)]
    assert [(answer.status, answer.body) for answer in answers] == [(200, BODY)] * 2
    assert "x-interim" not in answers[0].headers
    assert server.connections == 1  # type: ignore[attr-defined]


def test_an_answer_cut_short_is_a_closed_connection():
    with _serving("cut") as server:
        endpoint = _endpoint(server)
        with pytest.raises(ConnectionClosedError):
            _post(endpoint)
        assert endpoint._idle == []


def test_a_refused_connection_is_an_endpoint_error():
    with _serving("plain") as server:
        endpoint = _endpoint(server)
    with pytest.raises(EndpointConnectionError):
        _post(endpoint)


def test_idle_connections_are_capped():
    with _serving("plain") as server:
        endpoint = _endpoint(server, keep=2)
        held = [endpoint._checkout() for _ in range(4)]  # four calls in flight at once
        for sock in held:
            endpoint._checkin(sock)
        assert len(endpoint._idle) == 2
        endpoint.close()
        assert endpoint._idle == []


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("pki")
    _pki(home)
    return home


def _server_tls(pki: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    return context


def test_tls_checks_the_certificate_against_the_bundle(pki):
    trusting = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with _serving("plain", _server_tls(pki)) as server:
        assert _post(_endpoint(server, "https", tls=trusting)).body == BODY
        with pytest.raises(SSLError):  # the system's roots do not know our CA
            _post(_endpoint(server, "https", tls=ssl.create_default_context()))


def test_the_lean_client_verifies_with_the_clients_bundle(pki, monkeypatch):
    """leanaws builds its TLS context from the botocore client's ``verify`` (a CA bundle
    path here, AWS_CA_BUNDLE in a deployment), and checks the host name."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_CONFIG_FILE", "/dev/null")):  # fmt: skip
        monkeypatch.setenv(name, value)
    session = botocore.session.get_session()

    def call(host: str) -> Any:
        with _serving("plain", _server_tls(pki), host) as server:
            client = session.create_client(
                "dynamodb", region_name="us-east-1",
                endpoint_url=f"https://{host}:{server.server_address[1]}",
                verify=str(pki / "ca.pem"),
                config=Config(retries={"mode": "standard", "max_attempts": 1}),
            )  # fmt: skip
            return lean(client).call("GetItem", {"TableName": "t", "Key": {}})

    assert call("127.0.0.1")["Item"] == {"pk": {"S": "/f/"}}
    with pytest.raises(SSLError):  # the certificate names localhost and 127.0.0.1 only
        call("127.0.0.2")


def test_the_lean_client_asks_for_uncompressed_answers_and_dies_with_its_client(monkeypatch):
    """``Accept-Encoding: identity`` as botocore's HTTP client sends it (an answer in another
    coding would not parse); the twin lives on its botocore client and goes with it."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_CONFIG_FILE", "/dev/null")):  # fmt: skip
        monkeypatch.setenv(name, value)
    with _serving("plain") as server:
        client = botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{server.server_address[1]}",
        )  # fmt: skip
        twin = weakref.ref(lean(client))
        assert lean(client) is twin()
        lean(client).call("GetItem", {"TableName": "t", "Key": {}})
        del client
        gc.collect()
    assert server.requests[0]["Accept-Encoding"] == "identity"  # type: ignore[attr-defined]
    assert twin() is None

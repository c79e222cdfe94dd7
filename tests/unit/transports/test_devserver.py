"""The dev HTTP adapter, against a tiny Chalice app that echoes the event it was given."""

import base64
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from chalice import Chalice, Response

from chalicelib.transports.devserver import (
    MAX_BODY_BYTES,
    DevServer,
    HttpRequest,
    build_event,
    parse_result,
    require_loopback,
    serve,
)

echo = Chalice(app_name="echo")


@echo.route(
    "/v1/{proxy+}",
    methods=["GET", "PUT", "POST", "DELETE", "PATCH"],
    content_types=["*/*"],
)
def echo_event() -> Response:
    request = echo.current_request
    event = request.to_original_event()
    raw = request.raw_body
    if event["pathParameters"]["proxy"] == "slow":
        time.sleep(0.2)
    if event["pathParameters"]["proxy"] == "binary-response":
        return Response(b"\x00\xff", headers={"Content-Type": "application/octet-stream"})
    if event["pathParameters"]["proxy"] == "multi-header":
        return Response("", status_code=204, headers={"X-Multi": ["a", "b"]})
    return Response(
        {"event": event, "raw_body_b64": base64.b64encode(raw).decode()},
        headers={"X-Echo": "1"},
    )


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    running = serve(echo)
    yield running
    running.close()


def request(
    server: DevServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def echoed(server: DevServer, method: str, path: str, **kwargs: object) -> dict:
    status, _, body = request(server, method, path, **kwargs)  # type: ignore[arg-type]
    assert status == 200, body
    return json.loads(body)


def test_get_builds_an_api_gateway_rest_proxy_event(server):
    event = echoed(server, "GET", "/v1/secret/data/app?version=2")["event"]
    assert event["resource"] == "/v1/{proxy+}"
    assert event["httpMethod"] == "GET"
    assert event["path"] == "/v1/secret/data/app"
    assert event["pathParameters"] == {"proxy": "secret/data/app"}
    assert event["queryStringParameters"] == {"version": "2"}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/v1/{proxy+}"
    assert context["httpMethod"] == "GET"
    assert context["stage"] == "api"
    assert context["path"] == "/api/v1/secret/data/app"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"]


def test_list_becomes_get_with_list_true(server):
    event = echoed(server, "LIST", "/v1/secret/metadata/?x=1")["event"]
    assert event["httpMethod"] == "GET"
    assert event["requestContext"]["httpMethod"] == "GET"
    assert event["queryStringParameters"] == {"x": "1", "list": "true"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1"], "list": ["true"]}
    assert event["pathParameters"] == {"proxy": "secret/metadata/"}


def test_query_strings_are_decoded_and_multi_valued(server):
    event = echoed(server, "GET", "/v1/x?a=1&a=2&plus=a+b&enc=a%2Bb&empty=")["event"]
    assert event["queryStringParameters"] == {"a": "2", "plus": "a b", "enc": "a+b", "empty": ""}
    assert event["multiValueQueryStringParameters"]["a"] == ["1", "2"]
    assert echoed(server, "GET", "/v1/x")["event"]["multiValueQueryStringParameters"] is None


def test_path_keeps_percent_encoding_as_api_gateway_rest_does(server):
    event = echoed(server, "GET", "/v1/secret/data/space%20value")["event"]
    assert event["path"] == "/v1/secret/data/space%20value"
    assert event["pathParameters"] == {"proxy": "secret/data/space%20value"}


def test_repeated_headers_fill_both_header_fields(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.putrequest("GET", "/v1/sys/health")
    conn.putheader("X-Vault-Token", "s.token")
    conn.putheader("X-Probe", "first")
    conn.putheader("X-Probe", "second")
    conn.endheaders()
    event = json.loads(conn.getresponse().read())["event"]
    conn.close()
    assert event["headers"]["X-Probe"] == "second"
    assert event["multiValueHeaders"]["X-Probe"] == ["first", "second"]
    assert event["headers"]["X-Vault-Token"] == "s.token"


def test_text_body_is_passed_as_text(server):
    body = json.dumps({"data": {"password": "λ"}}).encode()
    echo_ = echoed(server, "PUT", "/v1/secret/data/app", body=body)
    assert echo_["event"]["body"] == body.decode()
    assert echo_["event"]["isBase64Encoded"] is False
    assert base64.b64decode(echo_["raw_body_b64"]) == body


def test_non_utf8_body_is_base64_encoded(server):
    body = b"\xff\xfe\x00binary"
    echo_ = echoed(server, "POST", "/v1/transit/encrypt/k", body=body)
    assert echo_["event"]["isBase64Encoded"] is True
    assert base64.b64decode(echo_["raw_body_b64"]) == body


def test_binary_media_type_body_is_base64_encoded_as_api_gateway_does(server):
    headers = {"Content-Type": "application/octet-stream"}
    echo_ = echoed(server, "PUT", "/v1/sys/storage/raft/snapshot", body=b"ascii", headers=headers)
    assert echo_["event"]["isBase64Encoded"] is True
    assert base64.b64decode(echo_["raw_body_b64"]) == b"ascii"


def test_base64_response_is_decoded(server):
    status, headers, body = request(
        server, "GET", "/v1/binary-response", headers={"Accept": "application/octet-stream"}
    )
    assert status == 200
    assert body == b"\x00\xff"
    assert headers["Content-Length"] == "2"


def test_multi_value_response_headers_and_204(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("DELETE", "/v1/multi-header")
    response = conn.getresponse()
    assert response.status == 204
    assert response.headers.get_all("X-Multi") == ["a", "b"]
    assert response.read() == b""
    conn.close()


def test_head_sends_headers_without_a_body(server):
    status, headers, body = request(server, "HEAD", "/v1/sys/health")
    # The tiny app has no HEAD route: Chalice's own 405, passed through untouched.
    assert status == 405
    assert int(headers["Content-Length"]) > 0
    assert body == b""


def test_body_over_api_gateway_limit_is_413(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.putrequest("PUT", "/v1/secret/data/big")
    conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    conn.endheaders()  # the body is never sent: the answer must not wait for it
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["errors"][0].startswith("request body too large")
    conn.close()


def test_413_reaches_a_client_that_sends_the_whole_body(server):
    status, _, body = request(server, "PUT", "/v1/big", body=b"a" * (MAX_BODY_BYTES + 1))
    assert status == 413
    assert "errors" in json.loads(body)


def test_body_at_the_limit_is_accepted(server):
    body = b"a" * MAX_BODY_BYTES
    status, _, _ = request(server, "PUT", "/v1/big", body=body)
    assert status == 200


def test_chunked_body_is_refused_without_hanging(server):
    with socket.create_connection(server.server_address[:2], timeout=10) as sock:
        sock.sendall(
            b"PUT /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
        )
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 411")
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["errors"][0].startswith("chunked")


def test_bad_content_length_is_400(server):
    with socket.create_connection(server.server_address[:2], timeout=10) as sock:
        sock.sendall(b"PUT /v1/x HTTP/1.1\r\nHost: h\r\nContent-Length: ten\r\n\r\n")
        assert read_until_closed(sock).startswith(b"HTTP/1.1 400")


@pytest.mark.parametrize("path", ["/", "/v2/secret", "/v1", "/v1/", "/uix"])
def test_paths_outside_v1_are_404_envelopes(server, path):
    status, headers, body = request(server, "GET", path)
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"errors": ["unsupported path: the API is served under /v1/"]}


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "BREW"])
def test_unknown_methods_are_405_envelopes(server, method):
    status, _, body = request(server, method, "/v1/sys/health")
    assert status == 405
    assert json.loads(body) == {"errors": [f"unsupported method {method}"]}


def test_malformed_requests_get_an_envelope(server):
    too_many_headers = b"".join(b"X-%d: y\r\n" % i for i in range(101))
    with socket.create_connection(server.server_address[:2], timeout=10) as sock:
        sock.sendall(b"GET /v1/x HTTP/1.1\r\n" + too_many_headers + b"\r\n")
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 431")
    assert json.loads(reply.partition(b"\r\n\r\n")[2]) == {"errors": ["Too many headers"]}


def test_keep_alive_serves_two_requests_on_one_connection(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("GET", "/v1/one")
    first = conn.getresponse()
    assert first.getheader("Content-Length")
    first.read()
    local = conn.sock.getsockname()
    conn.request("PUT", "/v1/two", body=b"{}")
    second = conn.getresponse()
    second.read()
    assert second.status == 200
    assert conn.sock.getsockname() == local  # the same TCP connection
    conn.close()


def test_error_answers_keep_the_connection_when_the_body_was_read(server):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("PUT", "/elsewhere", body=b"{}")
    conn.getresponse().read()
    local = conn.sock.getsockname()
    conn.request("GET", "/v1/after")
    assert conn.getresponse().status == 200
    assert conn.sock.getsockname() == local
    conn.close()


def test_accepted_sockets_have_tcp_nodelay():
    server = DevServer(("127.0.0.1", 0), echo)
    try:
        with socket.create_connection(server.server_address[:2], timeout=5):
            accepted, _ = server.get_request()
            try:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            finally:
                server.shutdown_request(accepted)
    finally:
        server.close()


def test_concurrent_requests_never_see_each_others_request(server):
    # Chalice keeps current_request on the shared app object: invocations must not overlap.
    results: dict[str, str] = {}

    def call(name: str) -> None:
        proxy = "slow" if name == "a" else name
        event = echoed(server, "GET", f"/v1/{proxy}?who={name}")["event"]
        results[name] = event["queryStringParameters"]["who"]

    threads = [threading.Thread(target=call, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"a": "a", "b": "b", "c": "c"}


def test_a_failing_function_is_a_502_envelope():
    def broken(event, context):
        raise RuntimeError("boom")

    server = serve(broken)
    try:
        status, _, body = request(server, "GET", "/v1/sys/health")
    finally:
        server.close()
    assert status == 502
    assert "errors" in json.loads(body)


def test_context_carries_the_request_id_and_remaining_time():
    seen = {}

    def handler(event, context):
        seen["id"] = context.aws_request_id
        seen["remaining"] = context.get_remaining_time_in_millis()
        seen["event_id"] = event["requestContext"]["requestId"]
        return {"statusCode": 200, "headers": {}, "body": ""}

    server = serve(handler)
    try:
        request(server, "GET", "/v1/sys/health")
    finally:
        server.close()
    assert seen["id"] == seen["event_id"]
    assert 0 < seen["remaining"] <= 29_000


def test_close_ends_idle_keep_alive_connections_promptly():
    server = serve(echo)
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    conn.request("GET", "/v1/x")
    conn.getresponse().read()
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 2
    assert conn.sock.recv(1) == b""  # the server closed its end
    conn.close()
    with pytest.raises(OSError):
        socket.create_connection(server.server_address[:2], timeout=1)


def test_close_is_idempotent_and_safe_before_serving():
    server = DevServer(("127.0.0.1", 0), echo)
    server.close()
    server.close()


def test_only_loopback_addresses_are_allowed():
    assert require_loopback("127.0.0.1") == "127.0.0.1"
    assert require_loopback("localhost") == "127.0.0.1"
    for host in ("0.0.0.0", "10.0.0.1", "example.com"):
        with pytest.raises(ValueError):
            require_loopback(host)
    with pytest.raises(ValueError):
        DevServer(("0.0.0.0", 0), echo)


def test_build_event_directly():
    request_ = HttpRequest(
        method="LIST",
        target="/v1/auth/token/accessors?list=false",
        headers=[("Host", "127.0.0.1:8200"), ("Content-Type", "image/png")],
        body=b"png",
        source_ip="127.0.0.2",
    )
    event = build_event(request_, binary_types=["image/*"])
    assert event["multiValueQueryStringParameters"] == {"list": ["true"]}
    assert event["isBase64Encoded"] is True
    assert event["body"] == base64.b64encode(b"png").decode()
    assert event["requestContext"]["domainName"] == "127.0.0.1:8200"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.2"


def test_parse_result_prefers_multi_value_headers_and_drops_framing():
    status, headers, body = parse_result(
        {
            "statusCode": 200,
            "headers": {"X-A": "single", "X-B": "b", "Content-Length": "999"},
            "multiValueHeaders": {"x-a": ["m1", "m2"]},
            "body": base64.b64encode(b"\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert status == 200
    assert sorted(headers) == [("X-B", "b"), ("x-a", "m1"), ("x-a", "m2")]
    assert body == b"\x01"


def test_expect_100_continue_is_answered_before_the_body_is_sent(server):
    body = b'{"a": 1}'
    head = (
        b"PUT /v1/x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    )
    with socket.create_connection(server.server_address[:2], timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(64).startswith(b"HTTP/1.1 100")  # before any body byte was sent
        sock.sendall(body)
        reply = read_until_closed(sock)
    assert b"HTTP/1.1 200" in reply
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["event"]["body"] == body.decode()

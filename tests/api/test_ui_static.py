"""GET /ui/…: the web UI's files through the dev adapter and the Chalice app (no AWS needed)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from chalicelib.transports.devserver import DevServer, HttpRequest, LocalLambdaContext, build_event
from chalicelib.ui.serve import CONTENT_SECURITY_POLICY, CONTENT_TYPES, STATIC_ROOT


@pytest.fixture(scope="module")
def ui() -> Iterator[str]:
    import app
    from chalicelib.transports.devserver import serve

    httpd: DevServer = serve(app.app)
    try:
        yield httpd.url
    finally:
        httpd.close()


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, allow_redirects=False, timeout=10)


def test_ui_without_a_slash_redirects_to_the_folder(ui: str) -> None:
    reply = get(f"{ui}/ui")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "ui/"


def test_index_carries_its_base_and_a_strict_policy(ui: str) -> None:
    reply = get(f"{ui}/ui/")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<base href="/ui/">' in reply.text
    policy = reply.headers["Content-Security-Policy"]
    directives = ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                  "require-trusted-types-for 'script'")  # fmt: skip
    for directive in directives:
        assert directive in policy
    assert "unsafe" not in policy
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert get(f"{ui}/ui/index.html").text == reply.text


def test_deep_links_get_the_app_with_the_same_base(ui: str) -> None:
    reply = get(f"{ui}/ui/vault/auth/oidc/oidc/callback?code=c&state=s")
    assert reply.status_code == 200
    assert '<base href="/ui/">' in reply.text


@pytest.mark.parametrize(
    ("seen", "base"),
    [
        ("/api/ui/vault/x", "/api/ui/"),  # the execute-api URL's stage
        ("//evil.example/ui/vault/x", "/evil.example/ui/"),  # never another origin
        ("/api/ui/vault/%78", "/ui/"),  # encoded otherwise than the proxy parameter
    ],
)
def test_the_base_is_the_ui_root_the_browser_sees(seen: str, base: str) -> None:
    import app

    event = build_event(HttpRequest("GET", "/ui/vault/x", [], b"", "127.0.0.1"))
    event["requestContext"]["path"] = seen
    result = app.app(event, LocalLambdaContext("r", 0.0))
    assert f'<base href="{base}">' in result["body"]


def test_assets_have_types_etags_and_revalidate(ui: str) -> None:
    reply = get(f"{ui}/ui/app.js")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert reply.headers["Cache-Control"] == "no-cache"
    again = get(f"{ui}/ui/app.js", **{"If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert requests.head(f"{ui}/ui/app.js", timeout=10).headers["ETag"] == reply.headers["ETag"]


def test_every_static_file_has_a_known_type() -> None:
    files = [p for p in STATIC_ROOT.rglob("*") if p.is_file()]
    assert files
    assert {p.suffix for p in files} <= set(CONTENT_TYPES)


@pytest.mark.parametrize(
    "path", ["/ui/nope.js", "/ui/%2e%2e/serve.py", "/ui/../app.py", "/ui/.hidden.js", "/ui/a.exe"]
)
def test_unknown_files_and_escapes_are_404(ui: str, path: str) -> None:
    assert get(f"{ui}{path}").status_code == 404


def test_a_raw_nul_byte_in_the_path_is_404(ui: str) -> None:
    host, port = ui.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"GET /ui/a\x00.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert connection.recv(64).startswith(b"HTTP/1.1 404 ")


def test_every_answer_carries_the_security_headers(ui: str) -> None:
    etag = get(f"{ui}/ui/app.js").headers["ETag"]
    answers = [
        get(f"{ui}/ui"),  # 302
        get(f"{ui}/ui/nope.js"),  # 404
        get(f"{ui}/ui/app.js", **{"If-None-Match": etag}),  # 304
        get(f"{ui}/ui/style.css"),
    ]
    assert [a.status_code for a in answers] == [302, 404, 304, 200]
    for answer in answers:
        assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_ui_is_read_only(ui: str) -> None:
    assert requests.post(f"{ui}/ui/", timeout=10).status_code == 405

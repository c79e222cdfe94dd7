"""GET /ui/…: the web UI's static files, from the same function and domain as /v1/.

The files ship inside the Lambda zip (Chalice packages chalicelib/ whole), so the UI and the
API it calls share one origin: no CORS, and a Content-Security-Policy of ``'self'`` covers
both. The UI uses hash routes; any other extension-less path (a bookmarked deep link, the
OIDC callback) gets index.html with a ``<base>`` naming the UI's root, so its relative asset
URLs resolve whatever the depth and whatever prefix (stage, custom domain) is in front.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalice.app import Request as ChaliceRequest
    from chalice.app import Response as ChaliceResponse

STATIC_ROOT = Path(__file__).parent / "static"
INDEX = "index.html"
BASE_MARKER = "<!--base-->"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        # The UI never assigns HTML (lib/el.js): any innerHTML-style sink throws.
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time: a deployment changes files under the same names, and a 304
    # costs one small round trip.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def serve_ui(current: ChaliceRequest) -> ChaliceResponse:
    """Answer a GET or HEAD under /ui: a file, index.html for a deep link, or a redirect."""
    from chalice.app import Response as ChaliceResponse

    event = current.to_original_event()
    relative = (current.uri_params or {}).get("proxy", "")
    requested = str((event.get("requestContext") or {}).get("path") or event.get("path") or "")
    if not relative and not requested.endswith("/"):
        # /ui → /ui/: relative asset URLs need the trailing slash; a relative Location keeps
        # whatever prefix the client used.
        headers = {"Location": "ui/", **SECURITY_HEADERS}
        return ChaliceResponse(body="", status_code=302, headers=headers)
    asset = _asset(relative, _ui_root(requested, relative))
    if asset is None:
        headers = {"Content-Type": "text/plain; charset=utf-8", **SECURITY_HEADERS}
        return ChaliceResponse(body="not found\n", status_code=404, headers=headers)
    headers = {"Content-Type": asset.content_type, "ETag": asset.etag, **SECURITY_HEADERS}
    if asset.etag in _etags(current.headers.get("if-none-match", "")):
        return ChaliceResponse(body="", status_code=304, headers=headers)
    body = "" if current.method == "HEAD" else asset.body.decode("utf-8")
    return ChaliceResponse(body=body, status_code=200, headers=headers)


def _ui_root(requested: str, relative: str) -> str:
    """The UI's root URL path as the browser sees it (``/ui/``, ``/api/ui/`` …)."""
    root = requested[: len(requested) - len(relative)] if relative else requested
    root = "/" + root.lstrip("/")  # never "//host/…": that would name another origin
    if not root.endswith("/"):
        root += "/"
    # Anything else (a path whose encoding differs from its proxy parameter) gets the default.
    return root if root.endswith("/ui/") else "/ui/"


def _asset(relative: str, root: str) -> Asset | None:
    path = PurePosixPath(relative)
    if "\0" in relative:  # no file has one, and the OS refuses to resolve it (a 500)
        return None
    if any(part in ("..", ".") or part.startswith(".") for part in path.parts):
        return None
    if relative and path.suffix and relative != INDEX:
        return _file(relative)
    # Hash routes and deep links (the OIDC callback) all load the app.
    return _index(root)


@lru_cache(maxsize=256)  # bounded: the keys come from request paths
def _file(relative: str) -> Asset | None:
    content_type = CONTENT_TYPES.get(PurePosixPath(relative).suffix)
    path = (STATIC_ROOT / relative).resolve()
    if content_type is None or not path.is_relative_to(STATIC_ROOT.resolve()):
        return None
    if not path.is_file():
        return None
    body = path.read_bytes()
    return Asset(body, content_type, _etag(body))


@lru_cache(maxsize=8)
def _index(root: str) -> Asset:
    template = (STATIC_ROOT / INDEX).read_text(encoding="utf-8")
    base = f'<base href="{_attribute(root)}">'
    body = template.replace(BASE_MARKER, base, 1).encode("utf-8")
    return Asset(body, CONTENT_TYPES[".html"], _etag(body))


def _attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}

"""sys/internal/ui/mounts: what the UI and the CLI's kv preflight ask about mounts."""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import FieldData, Path
from chalicelib.system.mount_config import effective_ttls


def _ui_entry(entry: MountEntry) -> dict[str, Any]:
    default_ttl, max_ttl = effective_ttls(entry)
    view = entry.to_api()
    view["config"] = {**view["config"], "default_lease_ttl": default_ttl, "max_lease_ttl": max_ttl}
    return view


def _public_entry(entry: MountEntry) -> dict[str, Any]:
    """Unauthenticated callers see only what a login page needs."""
    return {"description": entry.description, "options": entry.options, "type": entry.type}


def _visible(entry: MountEntry, authenticated: bool) -> bool:
    return authenticated or entry.config.listing_visibility == "unauth"


def _list(request: Request, data: FieldData) -> Response:
    authenticated = request.token is not None
    rt = runtime()
    listing = {
        name: {
            entry.path: _ui_entry(entry) if authenticated else _public_entry(entry)
            for entry in rt.tables[table].entries
            if _visible(entry, authenticated)
        }
        for name, table in (("secret", "mounts"), ("auth", "auth"))
    }
    return Response(data=listing)


def _read(request: Request, data: FieldData) -> Response:
    """The mount that serves a path: the CLI reads ``options.version`` from here."""
    if request.token is None:
        raise PermissionDenied()
    path = data["path"]
    rt = runtime()
    entry = rt.auth.longest_prefix(path) or rt.mounts.longest_prefix(path)
    if entry is None:
        raise BadRequest(f"preflight capability check returned 403, please ensure client's "
                         f"policies grant access to path {path!r}")
    return Response(data={**_ui_entry(entry), "path": entry.router_path})


def paths() -> list[Path]:
    return [
        Path("internal/ui/mounts/?", {Operation.READ: _list}),
        Path("internal/ui/mounts/{path:path}", {Operation.READ: _read}),
    ]

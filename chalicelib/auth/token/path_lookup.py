"""auth/token/lookup-self: what the caller's own token is."""

from __future__ import annotations

from typing import Any

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import FieldData, Path
from chalicelib.tokens.entry import TokenEntry


def token_view(entry: TokenEntry) -> dict[str, Any]:
    """A token entry as lookup shows it (the ID itself is never stored, so never shown)."""
    expires = entry.expires_at()
    return {
        "accessor": entry.accessor,
        "creation_time": entry.creation_time,
        "creation_ttl": entry.ttl,
        "display_name": entry.display_name,
        "entity_id": "",
        "expire_time": expires or None,
        "explicit_max_ttl": entry.explicit_max_ttl,
        "meta": entry.meta,
        "num_uses": entry.num_uses,
        "orphan": entry.orphan,
        "path": entry.path,
        "policies": list(entry.policies),
        "renewable": entry.renewable,
        "ttl": entry.ttl,
        "type": entry.type,
    }


def _lookup_self(request: Request, data: FieldData) -> Response:
    assert request.token is not None
    view = token_view(request.token)
    view["id"] = request.client_token
    return Response(data=view)


def paths() -> list[Path]:
    return [Path("lookup-self", {Operation.READ: _lookup_self})]

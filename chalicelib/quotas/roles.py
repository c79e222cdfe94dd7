"""The login role a request names, for role-scoped quotas (OpenBao's resolve-role).

Only auth methods with roles answer; the lookup runs only for a login to a mount that a
role quota names, so other requests never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.storage.view import StorageView

if TYPE_CHECKING:
    from chalicelib.core.request import Request
    from chalicelib.core.runtime import Runtime


def _approle(view: StorageView, data: dict[str, object]) -> str:
    from chalicelib.auth.approle.hashing import mount_keys
    from chalicelib.auth.approle.roles import find_by_role_id

    role_id = data.get("role_id")
    if not isinstance(role_id, str) or not role_id.strip():
        return ""
    role = find_by_role_id(view, mount_keys(view), role_id.strip())
    return role.name if role is not None else ""


def _jwt(view: StorageView, data: dict[str, object]) -> str:
    from chalicelib.auth.jwt.config import load

    role = data.get("role")
    if isinstance(role, str) and role:
        return role.lower()
    stored = load(view)
    return stored.config.default_role if stored is not None else ""


RESOLVERS: dict[str, Callable[[StorageView, dict[str, object]], str]] = {
    "approle": _approle,
    "jwt": _jwt,
    "oidc": _jwt,
}


def login_role(rt: Runtime, request: Request) -> str:
    """The role of a login request to an auth mount with roles; "" for anything else."""
    mount = request.mount
    if mount is None or mount.table != "auth" or request.relative_path != "login":
        return ""
    resolver = RESOLVERS.get(mount.type)
    if resolver is None:
        return ""
    return resolver(StorageView(rt.barrier, mount.storage_prefix), request.data)

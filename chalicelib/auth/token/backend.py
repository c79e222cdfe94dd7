"""The token auth method mounted at auth/token/."""

from __future__ import annotations

from chalicelib.auth.token import (
    path_create,
    path_lookup,
    path_renew,
    path_revoke,
    path_roles,
    path_tidy,
)
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="token",
        description="token based credentials",
        paths=[
            *path_create.paths(),
            *path_lookup.paths(),
            *path_renew.paths(),
            *path_revoke.paths(),
            *path_roles.paths(),
            *path_tidy.paths(),
        ],
        # OpenBao's root paths: listing accessors can revoke everything, so it needs sudo.
        sudo=("revoke-orphan/*", "accessors*"),
    )

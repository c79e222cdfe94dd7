"""The approle auth method (OpenBao's builtin/credential/approle)."""

from __future__ import annotations

from chalicelib.auth.approle import (
    path_login,
    path_role,
    path_role_fields,
    path_secret_id,
    path_tidy,
)
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="approle",
        description="machines log in with a role ID and a secret ID",
        paths=[
            *path_login.paths(),
            *path_role.paths(),
            *path_role_fields.paths(),
            *path_secret_id.paths(),
            *path_tidy.paths(),
        ],
        unauthenticated=("login",),
        renew_login=path_login.renew_login,
    )

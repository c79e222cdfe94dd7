"""The userpass auth method (OpenBao's builtin/credential/userpass)."""

from __future__ import annotations

from chalicelib.auth.userpass import path_login, path_users
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="userpass",
        description="users with a password",
        paths=[*path_login.paths(), *path_users.paths()],
        unauthenticated=("login/*",),
        renew_login=path_login.renew_login,
    )

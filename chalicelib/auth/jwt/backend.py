"""The jwt auth method, also mounted as "oidc" (OpenBao's builtin/credential/jwt)."""

from __future__ import annotations

from chalicelib.auth.jwt import login, path_config, path_login, path_oidc, path_role
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="jwt",
        description="JWTs signed by a trusted issuer, and OIDC logins",
        paths=[
            *path_login.paths(),
            *path_oidc.paths(),
            *path_config.paths(),
            *path_role.paths(),
        ],
        unauthenticated=("login", "oidc/auth_url", "oidc/callback"),
        renew_login=login.renew_login,
    )

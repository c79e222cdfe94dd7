"""The ldap auth method (OpenBao's builtin/credential/ldap)."""

from __future__ import annotations

from chalicelib.auth.ldap import path_config, path_login, path_mappings
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="ldap",
        description="users log in with their directory password",
        paths=[*path_login.paths(), *path_config.paths(), *path_mappings.paths()],
        unauthenticated=("login/*",),
        renew_login=path_login.renew_login,
    )

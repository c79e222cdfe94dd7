"""The aws auth method, iam type only (OpenBao's external aws auth plugin)."""

from __future__ import annotations

from chalicelib.auth.aws import path_config, path_login, path_role
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="aws",
        description="IAM principals log in with a signed sts:GetCallerIdentity request",
        paths=[*path_login.paths(), *path_config.paths(), *path_role.paths()],
        unauthenticated=("login",),
        renew_login=path_login.renew_login,
    )

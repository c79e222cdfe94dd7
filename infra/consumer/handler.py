"""Example consumer Lambda: reads a KV v2 secret from Lambdavault, logging in with the
function's own IAM role. No token is configured anywhere; the login (a signed
sts:GetCallerIdentity) and its token are cached for the container's life."""

from __future__ import annotations

import os
from typing import Any

from chalicelib.clients import VaultProvider

vault = VaultProvider(
    function_name=os.environ["LAMBDAVAULT_FUNCTION"],
    aws_role=os.environ["LAMBDAVAULT_AWS_ROLE"],
    aws_mount=os.environ.get("LAMBDAVAULT_AWS_MOUNT", "aws"),
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    secret = vault.get(os.environ["SECRET_PATH"], max_age=300)  # cached five minutes
    # A real function would use the secret; the example only shows which keys it got.
    return {"keys": sorted(secret)}

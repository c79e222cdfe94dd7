"""login (role + jwt): a signed JWT exchanged for a token, as OpenBao's path_login.go."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.auth.jwt.config import CONFIG_KEY, require
from chalicelib.auth.jwt.login import auth_for, check_cidrs, expected_for, role_for, verify
from chalicelib.auth.jwt.roles import ROLE_OIDC, role_key
from chalicelib.auth.jwt.validate import audiences
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of


def path_login(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    stored = require(view)
    name, role = role_for(view, stored, data["role"])
    if role.role_type == ROLE_OIDC:
        raise BadRequest("role with oidc role_type is not allowed")
    token = data["jwt"]
    if not token:
        raise BadRequest("missing token")
    check_cidrs(request, role)
    claims = verify(stored, token, expected_for(stored, role))
    # Vault: a token meant for some audience is not accepted by a role that binds none.
    if audiences(claims) and not role.bound_audiences:
        raise BadRequest("audience claim found in JWT but no audiences bound to the role")
    return Response(login=auth_for(claims, name, role))


def _prefetch(lookahead: Mapping[str, str]) -> list[str]:
    # The config (with its default role) and the role the body names ride in the first read.
    role = lookahead.get("role")
    return [CONFIG_KEY, role_key(role)] if role else [CONFIG_KEY]


def paths() -> list[Path]:
    return [
        Path(
            "login",
            {Operation.UPDATE: path_login},
            {"role": Field(FieldType.LOWERCASE_STRING, ""), "jwt": Field(FieldType.STRING, "")},
            prefetch=_prefetch,
        )
    ]

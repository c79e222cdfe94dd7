"""login/:username, and the renewal of the tokens it issues."""

from __future__ import annotations

from chalicelib.auth.userpass.users import load, user_key, verify
from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.login import Auth, InvalidCredentials, LoginRenewal
from chalicelib.framework.storage import view_of
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.storage.view import StorageView
from chalicelib.tokens.policies import sanitize

# One text for a wrong password and an unknown user: the client cannot tell them apart.
INVALID = "invalid username or password"


def path_login(request: Request, data: FieldData) -> Response:
    name = data["username"].lower()
    if not data["password"]:
        raise BadRequest("missing password")
    user = load(view_of(request), name)
    if not verify(data["password"], user):
        raise InvalidCredentials(INVALID)
    assert user is not None
    if user.token.bound_cidrs and not address_in(request.remote_address, user.token.bound_cidrs):
        raise PermissionDenied()
    return Response(
        login=Auth(
            alias_name=name,
            token=user.token,
            metadata={"username": name},
            display_name=name,
            internal={"username": name},
        )
    )


def renew_login(view: StorageView, renewal: LoginRenewal) -> TokenSettings:
    """A token renews while its user exists with the same policies (as OpenBao)."""
    user = load(view, renewal.internal.get("username", ""))
    if user is None:
        raise BadRequest("the user of this token no longer exists, not renewing")
    wanted = sanitize(user.token.policies, add_default=not user.token.no_default_policy)
    if set(wanted) - {"default"} != set(renewal.policies) - {"default"}:
        raise BadRequest("policies have changed, not renewing")
    return user.token


def _prefetch(captures: dict[str, str]) -> list[str]:
    # The user rides in the request's first read (the login framework adds its lockout
    # counter and identity entries).
    return [user_key(captures["username"])]


def paths() -> list[Path]:
    return [
        Path(
            "login/{username}",
            {Operation.UPDATE: path_login},
            {
                "username": Field(FieldType.STRING, "", "The user's name."),
                "password": Field(FieldType.STRING, "", "The user's password."),
            },
            prefetch=_prefetch,
            lockout_alias=lambda data: data["username"].lower(),
            synopsis="Log in with a username and password.",
        )
    ]

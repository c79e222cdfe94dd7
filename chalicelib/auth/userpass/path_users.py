"""users/ (list), users/:username (CRUD), users/:username/password and /policies."""

from __future__ import annotations

from chalicelib.auth.userpass.users import LEGACY_FIELDS, User, load, new_hash, save, user_key
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.framework.tokenfields import TOKEN_FIELDS, TokenSettings

USERNAME = "users/{username}"
_PASSWORD_FIELDS = {
    "password": Field(FieldType.STRING, "", "The user's password."),
    "password_hash": Field(
        FieldType.STRING, "", "The password as a bcrypt hash, instead of password."
    ),
}
_USER_FIELDS = {
    **TOKEN_FIELDS,
    **_PASSWORD_FIELDS,
    "policies": Field(FieldType.COMMA_STRING_LIST, list, "Deprecated: use token_policies."),
    "ttl": Field(FieldType.DURATION, 0, "Deprecated: use token_ttl."),
    "max_ttl": Field(FieldType.DURATION, 0, "Deprecated: use token_max_ttl."),
    "bound_cidrs": Field(FieldType.COMMA_STRING_LIST, list, "Deprecated: use token_bound_cidrs."),
}


def _exists(request: Request, data: FieldData) -> bool:
    return load(view_of(request), data["username"]) is not None


def path_user_list(request: Request, data: FieldData) -> Response | None:
    names = page(view_of(request).list("user/"), data["after"], data["limit"])
    return Response(data={"keys": names}) if names else None  # none: 404, as every LIST


def path_user_read(request: Request, data: FieldData) -> Response | None:
    user = load(view_of(request), data["username"])
    if user is None:
        return None
    return Response(data=user.token.to_api(LEGACY_FIELDS))


def path_user_write(request: Request, data: FieldData) -> None:
    """Create or update; a new user needs a password (or a bcrypt hash of one)."""
    view = view_of(request)
    name = data["username"]
    current = load(view, name)
    token = (current.token if current else TokenSettings()).parsed(data, LEGACY_FIELDS)
    password_hash = current.password_hash if current else ""
    if data["password"] or data["password_hash"] or current is None:
        password_hash = new_hash(data["password"], data["password_hash"])
    save(view, name, User(password_hash, token))


def path_user_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(user_key(data["username"]))


def _existing(request: Request, name: str) -> User:
    user = load(view_of(request), name)
    if user is None:
        raise BadRequest("username does not exist")
    return user


def path_user_password_update(request: Request, data: FieldData) -> None:
    user = _existing(request, data["username"])
    password_hash = new_hash(data["password"], data["password_hash"])
    save(view_of(request), data["username"], user._replace(password_hash=password_hash))


def path_user_policies_update(request: Request, data: FieldData) -> None:
    """Only the policies change (token_policies, or the deprecated ``policies``)."""
    user = _existing(request, data["username"])
    fields = {"token_policies", "policies"}
    narrowed = {k: v for k, v in LEGACY_FIELDS.items() if k in fields}
    token = user.token.parsed(data, narrowed)
    save(view_of(request), data["username"], user._replace(token=token))


_USER_HELP = """\
A write creates or updates the user: its password (or a bcrypt password_hash) and
the token_* settings of the tokens its logins get. A read never shows the password.

Deleting a user does not revoke the tokens it already holds; they are refused at
their next renewal.
"""


def paths() -> list[Path]:
    op = Operation
    policies = {
        "token_policies": TOKEN_FIELDS["token_policies"],
        "policies": _USER_FIELDS["policies"],
    }
    return [
        Path("users/?", {op.LIST: path_user_list}, PAGE_FIELDS, synopsis="List the users."),
        Path(
            f"{USERNAME}/password",
            {op.UPDATE: path_user_password_update},
            _PASSWORD_FIELDS,
            synopsis="Change a user's password.",
        ),
        Path(
            f"{USERNAME}/policies",
            {op.UPDATE: path_user_policies_update},
            policies,
            synopsis="Change a user's token policies.",
        ),
        Path(
            USERNAME,
            crud(path_user_read, path_user_write, path_user_delete),
            _USER_FIELDS,
            exists=_exists,
            synopsis="Create, read, update or delete a user who logs in with a password.",
            description=_USER_HELP,
        ),
    ]

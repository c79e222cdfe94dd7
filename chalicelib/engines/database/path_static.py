"""`static-roles/:name` (and LIST), `rotate-role/:name`. Creating a static role sets its
password at once (as Vault); if the database refuses, the role is not kept."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.database import config as stored
from chalicelib.engines.database import cron
from chalicelib.engines.database.listing import listed
from chalicelib.engines.database.path_roles import check_credential_type, check_unique
from chalicelib.engines.database.role import ROLE_PREFIX, statement_list
from chalicelib.engines.database.static import (
    STATIC_PREFIX,
    StaticRole,
    read_static,
    rotate,
    write_static,
)
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, view_of
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView

MIN_ROTATION_PERIOD = 5  # Vault's defaultQueueTickSeconds


def static_exists(request: Request, data: FieldData) -> bool:
    return view_of(request).get(STATIC_PREFIX + data["name"]) is not None


def path_static_read(request: Request, data: FieldData) -> Response | None:
    role = read_static(view_of(request), data["name"])
    return None if role is None else Response(data=role.to_api())


def _scheduling(data: FieldData, role: StaticRole) -> StaticRole:
    period_set, schedule_set = data.is_set("rotation_period"), data.is_set("rotation_schedule")
    if period_set and schedule_set:
        raise BadRequest("mutually exclusive fields rotation_period and rotation_schedule "
                         "were both specified; only one of them can be provided")
    if schedule_set:
        try:
            cron.parse(data["rotation_schedule"])
        except cron.CronError as error:
            raise BadRequest(f"could not parse rotation_schedule: {error}") from None
        role = replace(role, rotation_schedule=data["rotation_schedule"], rotation_period=0)
    elif period_set:
        if data["rotation_period"] < MIN_ROTATION_PERIOD:
            raise BadRequest(
                f"rotation_period must be {MIN_ROTATION_PERIOD} seconds or more"
            )
        role = replace(role, rotation_period=data["rotation_period"], rotation_schedule="",
                       rotation_window=0)
    if data.is_set("rotation_window"):
        if not role.rotation_schedule:
            raise BadRequest("rotation_window is invalid with use of rotation_period")
        role = replace(role, rotation_window=data["rotation_window"])
    if not role.rotation_period and not role.rotation_schedule:
        raise BadRequest("one of rotation_schedule or rotation_period must be provided "
                         "to create a static account")
    return role


def path_static_write(request: Request, data: FieldData) -> None:
    view, name = view_of(request), data["name"]
    check_unique(request, ROLE_PREFIX, name)
    current = read_static(view, name)
    if current is None:
        if not data["db_name"]:
            raise BadRequest("database name is a required field")
        if not data["username"]:
            raise BadRequest("username is a required field to create a static account")
        role = StaticRole(db_name=data["db_name"], username=data["username"])
    else:
        if data.is_set("username") and data["username"] != current.username:
            raise BadRequest("cannot update static account username")
        role = replace(current, db_name=data["db_name"] or current.db_name)
    role = _scheduling(data, role)
    if data.is_set("rotation_statements"):
        role = replace(role, rotation_statements=statement_list(
            "rotation_statements", data["rotation_statements"]))
    if data.is_set("credential_type"):
        check_credential_type(data["credential_type"])
    config = stored.require_config(view, role.db_name)
    config.check_allowed(name)
    try:
        saved = write_static(view, name, role)
    except ConditionFailed:
        raise PreconditionFailed(f"static role {name} changed meanwhile; retry") from None
    if current is None:
        _rotate_new(view, name, saved)


def _rotate_new(view: StorageView, name: str, role: StaticRole) -> None:
    try:
        rotate(view, name, role)
    except BadRequest:
        view.delete(STATIC_PREFIX + name)
        raise


def path_static_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(STATIC_PREFIX + data["name"])


def path_static_list(request: Request, data: FieldData) -> Response | None:
    return listed(request, data, STATIC_PREFIX)


def path_rotate_role(request: Request, data: FieldData) -> None:
    view, name = view_of(request), data["name"]
    role = read_static(view, name)
    if role is None:
        raise BadRequest("no static role found for role name")
    if not rotate(view, name, role):
        raise PreconditionFailed(f"static role {name} is being rotated right now; retry")


def paths() -> list[Path]:
    text = FieldType.STRING
    name = {"name": Field(text, "", "Name of the static role.")}
    return [
        Path("static-roles/?", {Operation.LIST: path_static_list}, fields=PAGE_FIELDS,
             synopsis="Manage the static roles that can be created with this backend."),
        Path(
            "static-roles/{name}",
            crud(path_static_read, path_static_write, path_static_delete),
            fields={
                **name,
                "db_name": Field(text, "", "Name of the database connection."),
                "username": Field(text, "", "The existing database user to manage."),
                "rotation_period": Field(FieldType.DURATION, 0, "Rotate this often."),
                "rotation_schedule": Field(text, "", "Or on this cron schedule (UTC)."),
                "rotation_window": Field(FieldType.DURATION, 0, "How long a scheduled "
                                         "rotation may still start after its time."),
                "rotation_statements": Field(FieldType.ANY, list, "Password change statements."),
                "credential_type": Field(text, "password", "Type of credential."),
            },
            exists=static_exists,
            synopsis="Manage the static roles that can be created with this backend.",
        ),
        Path("rotate-role/{name}", {Operation.UPDATE: path_rotate_role}, fields=name,
             synopsis="Request to rotate the credentials for a static user account."),
    ]

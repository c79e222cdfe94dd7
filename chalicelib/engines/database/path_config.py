"""`config/:name` (and LIST `config/`), `reset/:name` and `rotate-root/:name`.

A config write merges into the stored one (as Vault), checks the plugin and, unless
verify_connection=false, connects before anything is stored.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.database import config as stored
from chalicelib.engines.database.listing import listed
from chalicelib.engines.database.plugins import plugin_for
from chalicelib.engines.database.role import statement_list
from chalicelib.engines.database.rootrotation import rotate_root
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, view_of
from chalicelib.generators.usernames import render_username

# Request fields kept beside connection_details; everything else is given to the plugin.
_ENGINE_FIELDS = frozenset({
    "name", "plugin_name", "plugin_version", "allowed_roles", "verify_connection",
    "root_rotation_statements", "password_policy",
})
_URL_PASSWORD_WARNING = (
    "Password found in connection_url, use a templated url to enable root rotation and "  # noqa: S105
    "prevent read access to password information."
)


def config_exists(request: Request, data: FieldData) -> bool:
    return view_of(request).get(stored.CONFIG_PREFIX + data["name"]) is not None


def path_config_read(request: Request, data: FieldData) -> Response | None:
    config = stored.read_config(view_of(request), data["name"])
    return None if config is None else Response(data=config.to_api())


def _pick(data: FieldData, name: str, current: Any, creating: bool) -> Any:
    return data[name] if data.is_set(name) or creating else current


def _details(data: FieldData, current: dict[str, Any], creating: bool) -> dict[str, Any]:
    given = {k: v for k, v in data.raw.items() if k not in _ENGINE_FIELDS and v is not None}
    for name in ("max_open_connections", "max_idle_connections", "max_connection_lifetime"):
        if name in given:
            given[name] = data[name]
    return given if creating else {**current, **given}


def _check_template(template: str) -> None:
    if template:
        try:
            render_username(template, display_name="display", role_name="role")
        except BadRequest as error:
            raise BadRequest(
                f"error creating database object: unable to initialize username template: {error}"
            ) from None


def path_config_write(request: Request, data: FieldData) -> Response | None:
    view, name = view_of(request), data["name"]
    current = stored.read_config(view, name)
    creating = current is None
    base = current or stored.DatabaseConfig(plugin_name="")
    plugin_name = _pick(data, "plugin_name", base.plugin_name, creating)
    if not plugin_name:
        raise BadRequest("empty plugin name")
    details = _details(data, base.connection_details, creating)
    config = replace(
        base,
        plugin_name=plugin_name,
        connection_details=details,
        allowed_roles=_pick(data, "allowed_roles", base.allowed_roles, creating),
        root_credentials_rotate_statements=statement_list("root_rotation_statements", _pick(
            data, "root_rotation_statements", base.root_credentials_rotate_statements, creating
        )),
        password_policy=_pick(data, "password_policy", base.password_policy, False),
        # A new admin password makes an unfinished root rotation moot.
        pending_root_password="" if "password" in data.raw else base.pending_root_password,
    )
    try:
        plugin = plugin_for(plugin_name)
    except BadRequest as error:
        raise BadRequest(
            f"error creating database object: invalid database version: {error}"
        ) from None
    _check_template(config.username_template)
    if data["verify_connection"]:
        try:
            plugin.verify(config.connection(name))
        except BadRequest as error:
            raise BadRequest(
                f"error creating database object: error verifying connection: {error}"
            ) from None
    stored.write_config(view, name, config)
    plugin.close(name)
    if _url_has_password(str(details.get("connection_url", ""))):
        return Response(warnings=[_URL_PASSWORD_WARNING])
    return None


def _url_has_password(url: str) -> bool:
    try:
        password = urlsplit(url).password
    except ValueError:
        return False
    return bool(password) and password != "{{password}}"  # noqa: S105 - the template


def path_config_delete(request: Request, data: FieldData) -> None:
    view, name = view_of(request), data["name"]
    config = stored.read_config(view, name)
    view.delete(stored.CONFIG_PREFIX + name)
    if config is not None:
        _close(config, name)


def _close(config: stored.DatabaseConfig, name: str) -> None:
    with suppress(BadRequest):  # a plugin no longer known holds no connections
        plugin_for(config.plugin_name).close(name)


def path_config_list(request: Request, data: FieldData) -> Response | None:
    return listed(request, data, stored.CONFIG_PREFIX)


def path_reset(request: Request, data: FieldData) -> None:
    """Drop this container's connections (others drop theirs on the next config write)."""
    name = data["name"]
    config = stored.require_config(view_of(request), name)
    _close(config, name)


def path_rotate_root(request: Request, data: FieldData) -> None:
    rotate_root(view_of(request), data["name"])


def paths() -> list[Path]:
    text, strings = FieldType.STRING, FieldType.COMMA_STRING_LIST
    name = {"name": Field(text, "", "Name of this database connection.")}
    return [
        Path(
            "config/?",
            {Operation.LIST: path_config_list},
            fields=PAGE_FIELDS,
            synopsis="Configure connection details to a database plugin.",
        ),
        Path(
            "config/{name}",
            crud(path_config_read, path_config_write, path_config_delete),
            fields={
                **name,
                "plugin_name": Field(text, "", "The name of a builtin database plugin."),
                "plugin_version": Field(text, "", "Ignored: plugins are built in."),
                "verify_connection": Field(FieldType.BOOL, True, "Connect before storing."),
                "allowed_roles": Field(strings, list, "Role names (globs) that may use it."),
                "root_rotation_statements": Field(FieldType.ANY, list, "rotate-root's statements."),
                "password_policy": Field(text, "", "Password policy of generated passwords."),
                "connection_url": Field(text, "", "With {{username}} and {{password}}."),
                "username": Field(text, "", "The admin user."),
                "password": Field(text, "", "Its password (never shown)."),
                "username_template": Field(text, "", "Template of generated user names."),
                "max_open_connections": Field(FieldType.INT, stored.DEFAULT_MAX_OPEN),
                "max_idle_connections": Field(FieldType.INT, 0),
                "max_connection_lifetime": Field(FieldType.DURATION, 0),
            },
            exists=config_exists,
            synopsis="Configure connection details to a database plugin.",
        ),
        Path(
            "reset/{name}",
            {Operation.UPDATE: path_reset},
            fields=name,
            synopsis="Resets a database plugin.",
        ),
        Path(
            "rotate-root/{name}",
            {Operation.UPDATE: path_rotate_root},
            fields=name,
            synopsis="Request to rotate the root credentials for a certain database connection.",
        ),
    ]

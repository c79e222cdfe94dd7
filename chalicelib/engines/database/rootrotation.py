"""rotate-root/:name, write-ahead: the new admin password is stored as *pending* (a
conditional write, which also keeps two rotations apart), then set in the database, then
made current. A password the database did not take never becomes current; one it took is
never lost: a rotation that died in between is settled by the next one, which finds out
which of the two passwords the database now accepts.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.core.errors import BadRequest, PreconditionFailed
from chalicelib.engines.database import config as stored
from chalicelib.engines.database.plugins import plugin_for
from chalicelib.generators.passwords import generate_password
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView


def _settle_pending(
    view: StorageView, name: str, config: stored.DatabaseConfig
) -> stored.DatabaseConfig:
    """The config once an earlier, unfinished rotation is resolved."""
    plugin = plugin_for(config.plugin_name)
    try:
        plugin.verify(config.connection(name, password=config.pending_root_password))
        settled = replace(
            config,
            connection_details={**config.connection_details,
                                "password": config.pending_root_password},
            pending_root_password="",
        )
    except BadRequest:
        # The pending one does not log in: unless the current one does, the database is
        # unreachable and nothing can be decided yet (the pending password is kept).
        plugin.verify(config.connection(name))
        settled = replace(config, pending_root_password="")
    return _save(view, name, settled)


def _save(view: StorageView, name: str, config: stored.DatabaseConfig) -> stored.DatabaseConfig:
    try:
        version = stored.write_config(view, name, config, expected_version=config.version)
    except ConditionFailed:
        raise PreconditionFailed(
            f"config/{name} changed during the root rotation; retry"
        ) from None
    return replace(config, version=version)


def rotate_root(view: StorageView, name: str) -> None:
    config = stored.require_config(view, name)
    if not config.connection_details.get("username"):
        raise BadRequest("unable to rotate root credentials: no username in configuration")
    if not config.connection_details.get("password"):
        raise BadRequest("unable to rotate root credentials: no password in configuration")
    if config.pending_root_password:
        config = _settle_pending(view, name, config)
    password = generate_password(config.password_policy)
    claimed = _save(view, name, replace(config, pending_root_password=password))
    plugin = plugin_for(config.plugin_name)
    try:
        plugin.update_password(
            config.connection(name),
            str(config.connection_details["username"]),
            password,
            tuple(config.root_credentials_rotate_statements),
        )
    except BadRequest as error:
        raise BadRequest(f"failed to update user: {error}") from None
    _save(view, name, replace(
        claimed,
        connection_details={**claimed.connection_details, "password": password},
        pending_root_password="",
    ))
    plugin.close(name)

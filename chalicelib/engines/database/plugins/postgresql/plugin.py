"""PostgreSQL users for the database engine, as OpenBao's postgresql-database-plugin.

Every operation runs in one transaction on a pooled connection whose connect and
statements are bounded by the config's timeout. A statement is sent whole (psycopg
sends a parameterless query with the simple protocol, so ``;``-separated statements and
``DO $$ ... $$`` blocks both work, without Vault's splitting heuristics).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime

import psycopg

from chalicelib.credentials.usernames import render_username
from chalicelib.engines.database.plugin import Connection, NewUser, PluginError
from chalicelib.engines.database.plugins.postgresql.pool import Pools
from chalicelib.engines.database.plugins.postgresql.templates import quote_identifier, render

# OpenBao's defaults (plugins/database/postgresql).
DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) '
    "(random 20) (unix_time) | truncate 63 }}"
)
DEFAULT_EXPIRATION = """ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';"""
DEFAULT_CHANGE_PASSWORD = """ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}';"""  # noqa: S105
_EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S%z"  # Go's "2006-01-02 15:04:05-0700"


def _failure(error: psycopg.Error) -> PluginError:
    """pgx's wording, which Vault shows: the server's message and its SQLSTATE, never
    the statement (it may hold a password)."""
    diag = error.diag
    if error.sqlstate and diag.message_primary:
        return PluginError(
            f"failed to execute query: ERROR: {diag.message_primary} (SQLSTATE {error.sqlstate})"
        )
    return PluginError(f"failed to execute query: {type(error).__name__}")


def _role_exists(db: psycopg.Connection, username: str) -> bool:
    row = db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (username,)).fetchone()
    return row is not None


class PostgreSQL:
    """The plugin; one instance per container (plugins.plugin_for caches it)."""

    def __init__(self) -> None:
        self._pools = Pools()

    def _run(self, conn: Connection, statements: Iterable[str], values: dict[str, str]) -> None:
        with self._pools.connection(conn) as db:
            try:
                with db.transaction():
                    for statement in statements:
                        if statement.strip():
                            db.execute(render(statement, values).encode())
            except psycopg.Error as error:
                raise _failure(error) from None

    def verify(self, conn: Connection) -> None:
        with self._pools.connection(conn) as db:
            try:
                db.execute("SELECT 1")
                db.rollback()
            except psycopg.Error as error:
                raise _failure(error) from None

    def new_user(self, conn: Connection, user: NewUser) -> str:
        if not any(statement.strip() for statement in user.creation_statements):
            raise PluginError("empty creation statements")
        username = render_username(
            user.username_template or DEFAULT_USERNAME_TEMPLATE,
            display_name=user.display_name, role_name=user.role_name,
        )
        values = {
            "name": username, "username": username, "password": user.password,
            "expiration": user.expiration.strftime(_EXPIRATION_FORMAT),
        }
        try:
            self._run(conn, user.creation_statements, values)
        except PluginError:
            # The transaction rolled back; rollback statements undo what a statement
            # outside it (or a non-transactional one) may have done.
            if user.rollback_statements:
                with suppress(PluginError):  # the creation's error is the one to report
                    self._run(conn, user.rollback_statements, values)
            raise
        return username

    def update_password(
        self, conn: Connection, username: str, password: str, statements: tuple[str, ...]
    ) -> None:
        with self._pools.connection(conn) as db:
            try:
                exists = _role_exists(db, username)
                db.rollback()
            except psycopg.Error as error:
                raise _failure(error) from None
        if not exists:
            raise PluginError("user does not appear to exist")
        values = {"name": username, "username": username, "password": password}
        self._run(conn, statements or (DEFAULT_CHANGE_PASSWORD,), values)

    def update_expiration(
        self, conn: Connection, username: str, expiration: datetime, statements: tuple[str, ...]
    ) -> None:
        values = {
            "name": username, "username": username,
            "expiration": expiration.strftime(_EXPIRATION_FORMAT),
        }
        self._run(conn, statements or (DEFAULT_EXPIRATION,), values)

    def delete_user(self, conn: Connection, username: str, statements: tuple[str, ...]) -> None:
        if statements:
            self._run(conn, statements, {"name": username, "username": username})
            return
        self._default_delete(conn, username)

    def _default_delete(self, conn: Connection, username: str) -> None:
        """OpenBao's defaultDeleteUser made atomic: what the user owns goes to the admin,
        its grants go, its sessions end, then the role (gone already is success)."""
        role = quote_identifier(username)
        with self._pools.connection(conn) as db:
            try:
                with db.transaction():
                    if not _role_exists(db, username):
                        return
                    db.execute(f"REASSIGN OWNED BY {role} TO CURRENT_USER".encode())
                    db.execute(f"DROP OWNED BY {role}".encode())
                    db.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE usename = %s",
                        (username,),
                    )
                    db.execute(f"DROP ROLE IF EXISTS {role}".encode())
            except psycopg.Error as error:
                raise _failure(error) from None

    def close(self, name: str) -> None:
        self._pools.close(name)


def plugin() -> PostgreSQL:
    """The registry's factory for ``postgresql-database-plugin``."""
    return PostgreSQL()

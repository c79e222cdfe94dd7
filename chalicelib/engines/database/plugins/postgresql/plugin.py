"""PostgreSQL users for the database engine, as OpenBao's postgresql-database-plugin.

Every operation runs in one transaction on a pooled connection whose connect and
statements are bounded by the config's timeout. A statement is sent whole (psycopg
sends a parameterless query with the simple protocol, so ``;``-separated statements and
``DO $$ ... $$`` blocks both work, without Vault's splitting heuristics).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from datetime import datetime
from typing import TypeVar

import psycopg

from chalicelib.engines.database.plugin import Connection, NewUser, PluginError
from chalicelib.engines.database.plugins.postgresql.connect import is_stale, open_connection
from chalicelib.engines.database.plugins.postgresql.templates import quote_identifier, render
from chalicelib.engines.database.pool import Driver, Pools
from chalicelib.generators.usernames import render_username

# OpenBao's defaults (plugins/database/postgresql).
DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) '
    "(random 20) (unix_time) | truncate 63 }}"
)
DEFAULT_EXPIRATION = """ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';"""
DEFAULT_CHANGE_PASSWORD = """ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}';"""  # noqa: S105
_EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S%z"  # Go's "2006-01-02 15:04:05-0700"
R = TypeVar("R")


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


# What the user was granted, as REVOKE statements quoted by the server (format's %I):
# relations, schemas and this database; nothing it was not granted, which an admin
# without privileges on every table could not revoke. (%% is psycopg's escaped %.)
_GRANTED = """
SELECT DISTINCT format('REVOKE ALL PRIVILEGES ON %%s %%I.%%I FROM %%I',
    CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, n.nspname, c.relname, r.rolname)
FROM pg_roles r, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
WHERE r.rolname = %(user)s AND a.grantee = r.oid
UNION
SELECT format('REVOKE ALL PRIVILEGES ON SCHEMA %%I FROM %%I', n.nspname, r.rolname)
FROM pg_roles r, pg_namespace n, aclexplode(n.nspacl) a
WHERE r.rolname = %(user)s AND a.grantee = r.oid
UNION
SELECT format('REVOKE ALL PRIVILEGES ON DATABASE %%I FROM %%I', d.datname, r.rolname)
FROM pg_roles r, pg_database d, aclexplode(d.datacl) a
WHERE r.rolname = %(user)s AND a.grantee = r.oid AND d.datname = current_database()
"""


def _revocations(db: psycopg.Connection, username: str, *, owner: bool) -> list[str]:
    if owner:
        role = quote_identifier(username)
        return [f"REASSIGN OWNED BY {role} TO CURRENT_USER", f"DROP OWNED BY {role}"]
    return [row[0] for row in db.execute(_GRANTED.encode(), {"user": username})]


class PostgreSQL:
    """The plugin; one instance per container (plugins.plugin_for caches it)."""

    def __init__(self) -> None:
        self._pools: Pools[psycopg.Connection] = Pools(
            Driver(open=open_connection, close=psycopg.Connection.close, is_stale=is_stale)
        )

    def _call(self, conn: Connection, operation: Callable[[psycopg.Connection], R]) -> R:
        try:
            return self._pools.run(conn, operation)
        except psycopg.Error as error:
            raise _failure(error) from None

    def _run(self, conn: Connection, statements: Iterable[str], values: dict[str, str]) -> None:
        def run(db: psycopg.Connection) -> None:
            with db.transaction():
                for statement in statements:
                    if statement.strip():
                        db.execute(render(statement, values).encode())

        self._call(conn, run)

    def verify(self, conn: Connection) -> None:
        self._call(conn, _ping)

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
        values = {"name": username, "username": username, "password": password}
        rendered = [render(s, values) for s in statements or (DEFAULT_CHANGE_PASSWORD,)]

        def run(db: psycopg.Connection) -> bool:
            with db.transaction():
                if not _role_exists(db, username):
                    return False
                for statement in rendered:
                    if statement.strip():
                        db.execute(statement.encode())
                return True

        if not self._call(conn, run):
            raise PluginError("user does not appear to exist")

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
        self._call(conn, lambda db: _default_delete(db, username))

    def close(self, name: str) -> None:
        self._pools.close(name)


def _ping(db: psycopg.Connection) -> None:
    db.execute(b"SELECT 1")
    db.rollback()


def _default_delete(db: psycopg.Connection, username: str) -> None:
    """OpenBao's defaultDeleteUser in one transaction, and the user's sessions ended.
    An admin with the user's privileges (a superuser, or a member) hands what the user
    owns to itself and drops its grants everywhere; a bare CREATEROLE admin revokes what
    the user was granted here. Gone already is success."""
    with db.transaction():
        row = db.execute(
            b"SELECT pg_has_role(oid, 'USAGE') FROM pg_roles WHERE rolname = %s", (username,)
        ).fetchone()
        if row is None:
            return
        for statement in _revocations(db, username, owner=bool(row[0])):
            db.execute(statement.encode())
        db.execute(
            b"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (username,),
        )
        db.execute(f"DROP ROLE IF EXISTS {quote_identifier(username)}".encode())


def plugin() -> PostgreSQL:
    """The registry's factory for ``postgresql-database-plugin``."""
    return PostgreSQL()

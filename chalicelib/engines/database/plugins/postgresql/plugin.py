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
        """OpenBao's defaultDeleteUser in one transaction, and the user's sessions ended.
        An admin with the user's privileges (a superuser, or a member) hands what the
        user owns to itself and drops its grants everywhere; a bare CREATEROLE admin
        revokes what the user was granted here. Gone already is success."""
        with self._pools.connection(conn) as db:
            try:
                with db.transaction():
                    row = db.execute(
                        "SELECT pg_has_role(oid, 'USAGE') FROM pg_roles WHERE rolname = %s",
                        (username,),
                    ).fetchone()
                    if row is None:
                        return
                    for statement in _revocations(db, username, owner=bool(row[0])):
                        db.execute(statement.encode())
                    db.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE usename = %s",
                        (username,),
                    )
                    db.execute(f"DROP ROLE IF EXISTS {quote_identifier(username)}".encode())
            except psycopg.Error as error:
                raise _failure(error) from None

    def close(self, name: str) -> None:
        self._pools.close(name)


def plugin() -> PostgreSQL:
    """The registry's factory for ``postgresql-database-plugin``."""
    return PostgreSQL()

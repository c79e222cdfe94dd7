"""MySQL and MariaDB users for the database engine, as OpenBao's mysql plugins.

An operation's queries go to the server as one multi-statement request wrapped in
``BEGIN``/``COMMIT`` (one round trip on a warm connection). OpenBao sends them one by one
in a transaction; MySQL commits DDL (``CREATE USER``, ``GRANT``) implicitly either way,
so a creation that fails part-way is undone by the role's rollback statements, or by the
default revocation when it has none, before the error is returned.

Revocation drops the user; as in OpenBao, sessions it already has stay open until they
end (MySQL does not close them on ``DROP USER``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

import pymysql
from pymysql.constants import CLIENT

from chalicelib.engines.database.dial import dial_failure
from chalicelib.engines.database.plugin import Connection, NewUser, PluginError
from chalicelib.engines.database.plugins.mysql import dsn
from chalicelib.engines.database.plugins.mysql.statements import render, split
from chalicelib.engines.database.pool import Driver, Pools
from chalicelib.generators.usernames import render_username

DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) '
    "(random 20) (unix_time) | truncate 32 }}"
)
# mysql-aurora, mysql-rds and mysql-legacy: MySQL before 5.7.8 allows 16 characters.
LEGACY_USERNAME_TEMPLATE = (
    '{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}'
)
DEFAULT_REVOCATION = (
    "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'; DROP USER '{{name}}'@'%'"
)
DEFAULT_ROTATION = "ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}';"
_EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S%z"  # Go's "2006-01-02 15:04:05-0700"
_USER_EXISTS = "SELECT EXISTS (SELECT user FROM mysql.user WHERE user = %s)"
# A reused connection the server has closed (idle timeout, restart): retried once.
_GONE = frozenset({2006, 2013, 4031})
R = TypeVar("R")


def _open(conn: Connection) -> pymysql.Connection:
    target = dsn.parse(conn)
    args = target.connect_args()
    failure = PluginError("no host to connect to")
    for host, port in target.hosts or (("localhost", dsn.DEFAULT_PORT),):
        try:
            return pymysql.connect(
                host=host, port=port, client_flag=CLIENT.MULTI_STATEMENTS, **args
            )
        except pymysql.Error as error:  # OpenBao's failover: the next host
            words = dial_failure(host, port, error) if target.hosts else None
            failure = (
                PluginError(words) if words else _failure(error, conn.password, target.password)
            )
    raise failure


def _is_stale(error: BaseException) -> bool:
    return (
        isinstance(error, pymysql.OperationalError)
        and error.args[0] in _GONE
        and "timed out" not in str(error)
    )


class _Refused(PluginError):
    """The server refused a statement: the connection works, so a follow-up (rollback,
    existence check) is worth sending. After a connection failure it would only wait for
    a second timeout."""


def _failure(error: BaseException, *secrets: str) -> PluginError:
    """go-sql-driver's wording ("Error 1045: …"), with every secret the statements or the
    config hold replaced, since MySQL quotes the statement text in syntax errors."""
    refused = False
    if isinstance(error, pymysql.Error) and len(error.args) == 2:
        code, message = error.args
        refused = code < 2000  # 2000 and up: the client's own (connection) errors
        text = f"Error {code}: {message}" if refused else str(message)
    else:
        text = f"{type(error).__name__}: {error}"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[password]")
    return _Refused(text) if refused else PluginError(text)


def _batch(queries: Sequence[str]) -> str:
    return ";\n".join(("BEGIN", *queries, "COMMIT"))


def _execute(db: pymysql.Connection, sql: str) -> None:
    with db.cursor() as cursor:
        cursor.execute(sql)
        while cursor.nextset():
            pass


class MySQL:
    """One plugin per default username template (the four plugin names); one instance
    per container (plugins.plugin_for caches it)."""

    def __init__(self, default_username_template: str) -> None:
        self._default_username_template = default_username_template
        self._pools: Pools[pymysql.Connection] = Pools(
            Driver(open=_open, close=pymysql.Connection.close, is_stale=_is_stale)
        )

    def _call(
        self, conn: Connection, operation: Callable[[pymysql.Connection], R], *secrets: str
    ) -> R:
        try:
            return self._pools.run(conn, operation)
        except pymysql.Error as error:
            raise _failure(error, conn.password, *secrets) from None

    def _run(self, conn: Connection, queries: Sequence[str], *secrets: str) -> None:
        self._call(conn, lambda db: _execute(db, _batch(queries)), *secrets)

    def _user_exists(self, conn: Connection, username: str) -> bool:
        def query(db: pymysql.Connection) -> bool:
            with db.cursor() as cursor:
                cursor.execute(_USER_EXISTS, (username,))
                row = cursor.fetchone()
            return bool(row and row[0])

        return self._call(conn, query)

    def verify(self, conn: Connection) -> None:
        self._call(conn, lambda db: db.ping(reconnect=False))

    def new_user(self, conn: Connection, user: NewUser) -> str:
        queries = split(user.creation_statements)
        if not queries:
            raise PluginError("empty creation statements")
        username = render_username(
            user.username_template or self._default_username_template,
            display_name=user.display_name,
            role_name=user.role_name,
        )
        values = {
            "name": username,
            "username": username,
            "password": user.password,
            "expiration": user.expiration.strftime(_EXPIRATION_FORMAT),
        }
        try:
            self._run(conn, [render(query, values) for query in queries], user.password)
        except _Refused:
            self._roll_back(conn, username, user.rollback_statements)
            raise
        return username

    def _roll_back(self, conn: Connection, username: str, statements: Sequence[str]) -> None:
        # Best effort: the creation's own error is the one to report.
        with contextlib.suppress(PluginError):
            self.delete_user(conn, username, tuple(statements))

    def update_password(
        self, conn: Connection, username: str, password: str, statements: tuple[str, ...]
    ) -> None:
        values = {"name": username, "username": username, "password": password}
        queries = split(statements) or split([DEFAULT_ROTATION])
        try:
            self._run(conn, [render(query, values) for query in queries], password)
        except PluginError as error:
            raise PluginError(f"failed to change password: {error.message}") from None

    def update_expiration(
        self, conn: Connection, username: str, expiration: datetime, statements: tuple[str, ...]
    ) -> None:
        """A no-op, as in OpenBao: MySQL users do not expire (renew_statements unused)."""

    def delete_user(self, conn: Connection, username: str, statements: tuple[str, ...]) -> None:
        values = {"name": username, "username": username}
        queries = split(statements)
        if not queries:
            # OpenBao checks first: REVOKE fails for a user that is gone.
            if not self._user_exists(conn, username):
                return
            queries = split([DEFAULT_REVOCATION])
        try:
            self._run(conn, [render(query, values) for query in queries])
        except _Refused:
            if statements and not self._user_exists(conn, username):
                return  # revoked already (custom statements usually cannot tell)
            raise

    def close(self, name: str) -> None:
        self._pools.close(name)


def mysql() -> MySQL:
    """``mysql-database-plugin`` (MySQL 5.7.8 and later, MariaDB)."""
    return MySQL(DEFAULT_USERNAME_TEMPLATE)


def mysql_legacy() -> MySQL:
    """``mysql-legacy-database-plugin``, ``mysql-aurora-…`` and ``mysql-rds-…``."""
    return MySQL(LEGACY_USERNAME_TEMPLATE)

"""Opening a PostgreSQL connection for a config: the URL's templates filled in, connect
and statements bounded by the config's timeout, and errors that never show a password."""

from __future__ import annotations

from urllib.parse import quote

import psycopg

from chalicelib.engines.database.plugin import Connection, PluginError

_URL_SCHEMES = ("postgres://", "postgresql://")


def conninfo(conn: Connection) -> str:
    """The connection URL with its ``{{username}}``/``{{password}}`` filled in (URL-quoted
    in a URL, as they may hold ``@`` or ``/``)."""
    url = conn.connection_url
    in_url = url.startswith(_URL_SCHEMES)
    for key, value in (("username", conn.username), ("password", conn.password)):
        url = url.replace("{{" + key + "}}", quote(value, safe="") if in_url else value)
    return url


def scrub(message: str, conn: Connection) -> str:
    """A driver's message without the password (libpq never prints it; belt and braces)."""
    for secret in (conn.password, quote(conn.password, safe="")):
        if secret:
            message = message.replace(secret, "[password]")
    return message.strip()


def open_connection(conn: Connection) -> psycopg.Connection:
    timeout_ms = int(conn.timeout * 1000)
    try:
        return psycopg.connect(
            conninfo(conn),
            # libpq's connect_timeout is whole seconds, 2 at least.
            connect_timeout=max(int(conn.timeout), 2),
            options=f"-c statement_timeout={timeout_ms} -c lock_timeout={timeout_ms}",
            autocommit=False,
        )
    except psycopg.Error as error:
        raise PluginError(scrub(f"failed to connect: {error}", conn)) from None


def is_stale(error: BaseException) -> bool:
    """A pooled connection the server (or a proxy, or NAT while the container was frozen)
    had already dropped: the connection failed (no SQLSTATE, class 08) or the server shut
    the session down (57P0x) — not a statement timeout (57014), which must not run twice."""
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    return state is None or state.startswith(("08", "57P"))

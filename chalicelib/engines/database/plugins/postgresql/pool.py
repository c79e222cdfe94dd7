"""Per-container PostgreSQL connections, one small pool per config.

A Lambda container serves one request at a time, so a pool rarely holds more than one
connection; the bounds matter for the dev server (threads) and for a database with a
small connection limit. A pool is dropped when its config's storage version changes
(written elsewhere, by any container) or it points elsewhere, or on reset/ and delete;
idle connections older than ``max_connection_lifetime`` are closed instead of reused.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import NamedTuple
from urllib.parse import quote

import psycopg

from chalicelib.engines.database.plugin import Connection, PluginError

_URL_SCHEMES = ("postgres://", "postgresql://")


# A connection idle this long may have been cut by the database, a proxy or NAT while
# the container was frozen: it is probed (one round trip) before it is trusted.
PROBE_AFTER_SECONDS = 30.0


class _Idle(NamedTuple):
    connection: psycopg.Connection
    opened: float
    used: float


def _alive(idle: _Idle, now: float) -> bool:
    if idle.connection.closed:
        return False
    if now - idle.used < PROBE_AFTER_SECONDS:
        return True
    try:
        idle.connection.execute(b"SELECT 1")
        idle.connection.rollback()
    except psycopg.Error:
        return False
    return True


class _Pool:
    def __init__(self, conn: Connection) -> None:
        self.identity = identity(conn)
        self.idle: list[_Idle] = []
        self.slots = threading.BoundedSemaphore(max(conn.max_open_connections, 1))

    def close(self) -> None:
        for idle in self.idle:
            with suppress(psycopg.Error):
                idle.connection.close()
        self.idle.clear()


def conninfo(conn: Connection) -> str:
    """The connection URL with its ``{{username}}``/``{{password}}`` filled in (URL-quoted
    in a URL, as they may hold ``@`` or ``/``)."""
    url = conn.connection_url
    in_url = url.startswith(_URL_SCHEMES)
    for key, value in (("username", conn.username), ("password", conn.password)):
        url = url.replace("{{" + key + "}}", quote(value, safe="") if in_url else value)
    return url


def identity(conn: Connection) -> tuple[int, str]:
    """What a pool belongs to: the config's version and where and as whom it connects (a
    config deleted and written again starts again at version 1)."""
    where = "\0".join((conn.connection_url, conn.username, conn.password))
    return conn.version, hashlib.sha256(where.encode()).hexdigest()


def _scrub(message: str, conn: Connection) -> str:
    """A driver's message without the password (libpq never prints it; belt and braces)."""
    for secret in (conn.password, quote(conn.password, safe="")):
        if secret:
            message = message.replace(secret, "[password]")
    return message.strip()


class Pools:
    """The pools of this container, by config name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[str, _Pool] = {}

    def _pool(self, conn: Connection) -> _Pool:
        with self._lock:
            pool = self._pools.get(conn.name)
            if pool is None or pool.identity != identity(conn):
                if pool is not None:
                    pool.close()
                pool = self._pools[conn.name] = _Pool(conn)
            return pool

    def close(self, name: str) -> None:
        with self._lock:
            pool = self._pools.pop(name, None)
        if pool is not None:
            pool.close()

    def _take(self, pool: _Pool, conn: Connection) -> _Idle:
        lifetime = conn.max_connection_lifetime
        while True:
            with self._lock:
                if not pool.idle:
                    break
                idle = pool.idle.pop()
            now = time.monotonic()
            if (not lifetime or now - idle.opened < lifetime) and _alive(idle, now):
                return idle
            with suppress(psycopg.Error):
                idle.connection.close()
        now = time.monotonic()
        return _Idle(self._open(conn), now, now)

    def _open(self, conn: Connection) -> psycopg.Connection:
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
            raise PluginError(_scrub(f"failed to connect: {error}", conn)) from None

    @contextmanager
    def connection(self, conn: Connection) -> Iterator[psycopg.Connection]:
        """A connection for one operation; back to the pool if it ended cleanly."""
        pool = self._pool(conn)
        if not pool.slots.acquire(timeout=conn.timeout):
            raise PluginError("timed out waiting for a free database connection")
        try:
            taken = self._take(pool, conn)
            try:
                yield taken.connection
            except BaseException:
                with suppress(psycopg.Error):
                    taken.connection.close()
                raise
            self._give_back(pool, conn, taken)
        finally:
            pool.slots.release()

    def _give_back(self, pool: _Pool, conn: Connection, taken: _Idle) -> None:
        db = taken.connection
        with self._lock:
            keep = (
                self._pools.get(conn.name) is pool
                and len(pool.idle) < conn.max_idle_connections
                and db.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            )
            if keep:
                pool.idle.append(taken._replace(used=time.monotonic()))
        if not keep:
            with suppress(psycopg.Error):
                db.close()

"""Per-container database connections, one small bounded pool per config, for any driver.

A Lambda container serves one request at a time, so a pool rarely holds more than one
connection; the bound matters for the dev server (threads) and for a database with a low
connection limit. A pool is dropped when its config's version changes (the config was
written, by any container) or on ``close``; an idle connection older than
``max_connection_lifetime`` is closed instead of reused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Generic, NamedTuple, TypeVar

from chalicelib.engines.database.plugin import Connection, PluginError

T = TypeVar("T")
R = TypeVar("R")


class Driver(NamedTuple, Generic[T]):
    """How a plugin opens and closes its connections, and which of its errors mean that
    a reused connection had already been dropped by the server (then it is retried once
    on a new connection)."""

    open: Callable[[Connection], T]
    close: Callable[[T], None]
    is_stale: Callable[[BaseException], bool]


class _Idle(NamedTuple, Generic[T]):
    connection: T
    opened: float


class Pool(Generic[T]):
    """The connections of one version of one config."""

    def __init__(self, conn: Connection, driver: Driver[T]) -> None:
        self.conn = conn
        self._driver = driver
        self._idle: list[_Idle[T]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(conn.max_open_connections, 1))

    def run(self, operation: Callable[[T], R]) -> R:
        """``operation`` on a pooled connection. A connection that raised is closed, not
        pooled again: its session state is unknown."""
        if not self._slots.acquire(timeout=self.conn.timeout):
            raise PluginError("timed out waiting for a free database connection")
        try:
            idle = self._take()
            if idle is not None:
                try:
                    return self._finish(idle, operation)
                except Exception as error:
                    if not self._driver.is_stale(error):
                        raise
            return self._finish(_Idle(self._driver.open(self.conn), time.monotonic()), operation)
        finally:
            self._slots.release()

    def _finish(self, idle: _Idle[T], operation: Callable[[T], R]) -> R:
        try:
            result = operation(idle.connection)
        except BaseException:
            self._discard(idle.connection)
            raise
        self._give_back(idle)
        return result

    def _take(self) -> _Idle[T] | None:
        lifetime = self.conn.max_connection_lifetime
        while True:
            with self._lock:
                if not self._idle:
                    return None
                idle = self._idle.pop()
            if not lifetime or time.monotonic() - idle.opened < lifetime:
                return idle
            self._discard(idle.connection)

    def _give_back(self, idle: _Idle[T]) -> None:
        with self._lock:
            # Vault: 0 means as many idle as open, a negative value none at all.
            keep = self.conn.max_idle_connections or self.conn.max_open_connections
            if len(self._idle) < min(keep, self.conn.max_open_connections):
                self._idle.append(idle)
                return
        self._discard(idle.connection)

    def _discard(self, connection: T) -> None:
        with suppress(Exception):
            self._driver.close(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for entry in idle:
            self._discard(entry.connection)


class Pools(Generic[T]):
    """A plugin's pools in this container, by config name."""

    def __init__(self, driver: Driver[T]) -> None:
        self._driver = driver
        self._lock = threading.Lock()
        self._pools: dict[str, Pool[T]] = {}

    def pool(self, conn: Connection) -> Pool[T]:
        with self._lock:
            pool = self._pools.get(conn.name)
            if pool is not None and pool.conn == conn:
                return pool
            self._pools[conn.name] = fresh = Pool(conn, self._driver)
        if pool is not None:
            pool.close()
        return fresh

    def run(self, conn: Connection, operation: Callable[[T], R]) -> R:
        return self.pool(conn).run(operation)

    def close(self, name: str) -> None:
        with self._lock:
            pool = self._pools.pop(name, None)
        if pool is not None:
            pool.close()

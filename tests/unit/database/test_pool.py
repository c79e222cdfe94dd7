"""The per-config connection pool, with a fake driver: reuse, bounds, lifetime, a new
config version, and one retry of a connection the server had dropped."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from chalicelib.engines.database.plugin import PluginError
from chalicelib.engines.database.pool import Driver, Pools
from tests.mysql_redis_support import connection


class Stale(Exception):
    pass


class FakeDriver:
    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.opened: list[int] = []
        self.closed: list[int] = []

    def open(self, conn: object) -> int:
        self.opened.append(next(self.ids))
        return self.opened[-1]

    def close(self, connection: int) -> None:
        self.closed.append(connection)

    def driver(self) -> Driver[int]:
        return Driver(self.open, self.close, lambda error: isinstance(error, Stale))


@pytest.fixture
def fake() -> FakeDriver:
    return FakeDriver()


def test_a_connection_is_reused_and_dropped_with_a_new_config_version(fake: FakeDriver) -> None:
    pools = Pools(fake.driver())
    conn = connection("c")
    assert pools.run(conn, lambda c: c) == 1
    assert pools.run(conn, lambda c: c) == 1
    assert pools.run(conn._replace(version=2), lambda c: c) == 2
    assert fake.closed == [1]
    pools.close("c")
    assert fake.closed == [1, 2]


def test_a_failed_operation_closes_its_connection(fake: FakeDriver) -> None:
    pools = Pools(fake.driver())
    with pytest.raises(ValueError, match="boom"):
        pools.run(connection("c"), lambda c: (_ for _ in ()).throw(ValueError("boom")))
    assert fake.closed == [1]


def test_a_stale_reused_connection_is_retried_once_on_a_new_one(fake: FakeDriver) -> None:
    pools, conn, seen = Pools(fake.driver()), connection("c"), []
    pools.run(conn, lambda c: c)

    def operation(c: int) -> int:
        seen.append(c)
        if c == 1:
            raise Stale
        return c

    assert pools.run(conn, operation) == 2
    assert seen == [1, 2] and fake.closed == [1]
    # A new connection that fails is not retried.
    pools.close("c")
    with pytest.raises(Stale):
        pools.run(conn, lambda c: (_ for _ in ()).throw(Stale()))


def test_idle_connections_past_their_lifetime_are_closed(fake: FakeDriver) -> None:
    pools, conn = Pools(fake.driver()), connection("c", max_connection_lifetime=1)
    pools.run(conn, lambda c: c)
    pool = pools.pool(conn)
    pool._idle[0] = pool._idle[0]._replace(opened=time.monotonic() - 2)
    assert pools.run(conn, lambda c: c) == 2
    assert fake.closed == [1]


def test_at_most_max_open_connections_then_a_bounded_wait(fake: FakeDriver) -> None:
    pools = Pools(fake.driver())
    conn = connection("c", max_open_connections=1, timeout=0.2)
    inside, release = threading.Event(), threading.Event()

    def hold(c: int) -> int:
        inside.set()
        release.wait(5)
        return c

    holder = threading.Thread(target=pools.run, args=(conn, hold))
    holder.start()
    assert inside.wait(5)
    started = time.monotonic()
    with pytest.raises(PluginError, match="timed out waiting for a free database connection"):
        pools.run(conn, lambda c: c)
    assert time.monotonic() - started < 1
    release.set()
    holder.join()
    assert fake.opened == [1]


def test_idle_connections_beyond_max_idle_are_closed(fake: FakeDriver) -> None:
    pools = Pools(fake.driver())
    conn = connection("c", max_open_connections=3, max_idle_connections=1)
    barrier = threading.Barrier(3)
    threads = [
        threading.Thread(target=pools.run, args=(conn, lambda c: barrier.wait(5))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.opened) == 3 and len(fake.closed) == 2

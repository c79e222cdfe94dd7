"""The machine's MariaDB/MySQL and Redis for the mysql and redis database plugins' tests.

MariaDB at 127.0.0.1:3306 (user root, no password) and Redis at 127.0.0.1:6379 (ACLs, the
default user without a password). A test fails, never skips, when one is not running:
start them with `sudo service mariadb start` and `sudo service redis-server start`
(Debian: `apt-get install mariadb-server redis-server`).

Every test gets its own tag: role names carry it, so the users the plugins generate carry
it too, and everything carrying it is dropped after the test — safe beside pytest-xdist
workers using the same servers at the same time.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pymysql
import pytest
import redis

from chalicelib.engines.database.plugin import Connection

MYSQL_HOST, MYSQL_PORT = "127.0.0.1", 3306
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
MYSQL_URL = f"{{{{username}}}}:{{{{password}}}}@tcp({MYSQL_HOST}:{MYSQL_PORT})/"
_MYSQL_MISSING = (
    f"MariaDB/MySQL is not answering on {MYSQL_HOST}:{MYSQL_PORT} as root without a password: "
    "start it (sudo service mariadb start; Debian: apt-get install mariadb-server)"
)
_REDIS_MISSING = (
    f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT}: start it "
    "(sudo service redis-server start; Debian: apt-get install redis-server)"
)


def new_tag() -> str:
    """Four characters (the legacy mysql template keeps four of a role name)."""
    return "q" + secrets.token_hex(2)[:3]


def connection(name: str, url: str = "", **fields: Any) -> Connection:
    """A config as the engine hands it to a plugin; a unique name gives a fresh pool."""
    options = fields.pop("options", {})
    base: dict[str, Any] = {
        "name": name, "connection_url": url, "username": "", "password": "",
        "options": options, "max_open_connections": 4, "max_idle_connections": 2,
        "max_connection_lifetime": 0, "timeout": 10.0, "version": 1,
    }  # fmt: skip
    return Connection(**{**base, **fields})


def mysql_root() -> pymysql.Connection:
    try:
        return pymysql.connect(
            host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", connect_timeout=5,
            autocommit=True,
        )  # fmt: skip
    except pymysql.Error as error:
        pytest.fail(f"{_MYSQL_MISSING} ({error})")


@dataclass
class MariaDB:
    tag: str
    root: pymysql.Connection

    def config(self, **fields: Any) -> Connection:
        fields.setdefault("username", "root")
        return connection(f"my-{self.tag}-{secrets.token_hex(3)}", MYSQL_URL, **fields)

    def role(self, name: str = "role") -> str:
        return f"{self.tag}{name}"

    def users(self) -> set[str]:
        with self.root.cursor() as cursor:
            cursor.execute("SELECT user FROM mysql.user WHERE user LIKE %s", (f"%{self.tag}%",))
            return {row[0] for row in cursor.fetchall()}

    def exists(self, user: str) -> bool:
        with self.root.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM mysql.user WHERE user = %s", (user,))
            row = cursor.fetchone()
        return bool(row and row[0])

    def create_user(self, name: str, password: str) -> str:
        """A pre-existing user (static roles); its name must carry the tag."""
        assert self.tag in name
        with self.root.cursor() as cursor:
            cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (name, password))
        return name

    def can_log_in(self, user: str, password: str) -> bool:
        try:
            pymysql.connect(
                host=MYSQL_HOST, port=MYSQL_PORT, user=user, password=password, connect_timeout=5
            ).close()
        except pymysql.OperationalError:
            return False
        return True

    def drop_tagged(self) -> None:
        with self.root.cursor() as cursor:
            for user in self.users():
                cursor.execute("DROP USER IF EXISTS %s@'%%'", (user,))


@pytest.fixture
def mariadb() -> Iterator[MariaDB]:
    db = MariaDB(new_tag(), mysql_root())
    try:
        yield db
    finally:
        db.drop_tagged()
        db.root.close()


@dataclass
class RedisServer:
    tag: str
    admin: redis.Redis

    def config(self, **fields: Any) -> Connection:
        fields.setdefault("username", "default")
        fields.setdefault("password", "unused")  # OpenBao requires one; nopass accepts any
        fields.setdefault("options", {"host": REDIS_HOST, "port": REDIS_PORT})
        return connection(f"rd-{self.tag}-{secrets.token_hex(3)}", **fields)

    def role(self, name: str = "role") -> str:
        return f"{self.tag}{name}"

    def users(self) -> set[str]:
        return {u for u in self.admin.acl_users() if self.tag.upper() in u.upper()}

    def client(self, user: str, password: str) -> redis.Redis:
        return redis.Redis(
            host=REDIS_HOST, port=REDIS_PORT, username=user, password=password,
            decode_responses=True, socket_timeout=5, retry=None,
        )  # fmt: skip

    def drop_tagged(self) -> None:
        users = self.users()
        if users:
            self.admin.acl_deluser(*users)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    admin = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, decode_responses=True, socket_timeout=5)
    try:
        admin.ping()
    except redis.RedisError as error:
        pytest.fail(f"{_REDIS_MISSING} ({error})")
    server = RedisServer(new_tag(), admin)
    try:
        yield server
    finally:
        server.drop_tagged()
        admin.close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]

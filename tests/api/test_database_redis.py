"""The database engine with Redis (the redis/valkey plugin), through the HTTP API: ACL
users with their role's rules, leases that renew and revoke them (revocation closes their
connections), static roles, root rotation, a Redis that is down, commands per creds/revoke.

Against this machine's Redis (tests/mysql_redis_support.py); role names carry the test's
tag, so the users they make are deleted after it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.mysql_redis_support import (  # noqa: F401
    REDIS_HOST,
    REDIS_PORT,
    RedisServer,
    closed_port,
    redis_server,
)
from tests.support import VaultHTTP, creds

CONFIG = {
    "plugin_name": "redis-database-plugin", "host": REDIS_HOST, "port": REDIS_PORT,
    "username": "default", "password": "unused-admin-pw", "allowed_roles": "*",
}  # fmt: skip


@pytest.fixture
def db(vault: VaultHTTP, redis_server: RedisServer) -> Iterator[VaultHTTP]:  # noqa: F811
    """A database mount with config "rd" and role "<tag>app" (read keys under foo)."""
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    assert vault.post("database/config/rd", CONFIG).status_code == 204
    reply = vault.post(f"database/roles/{redis_server.role('app')}", {
        "db_name": "rd", "creation_statements": '["~foo*", "+@read"]', "default_ttl": "1h",
    })  # fmt: skip
    assert reply.status_code == 204, reply.text
    yield vault
    vault.post("sys/leases/revoke-prefix/database/creds", {})



def test_config_reads_back_without_the_password(db: VaultHTTP) -> None:
    data = db.get("database/config/rd").json()["data"]
    assert data["plugin_name"] == "redis-database-plugin"
    assert data["connection_details"] == {
        "host": REDIS_HOST, "port": REDIS_PORT, "username": "default",
    }  # fmt: skip
    assert "unused-admin-pw" not in str(data)


def test_creds_renew_and_revoke(db: VaultHTTP, redis_server: RedisServer) -> None:  # noqa: F811
    role = redis_server.role("app")
    body = creds(db, role)
    username, password = body["data"]["username"], body["data"]["password"]
    assert username.startswith(f"V_ROOT_{role.upper()}_")
    client = redis_server.client(username, password)
    assert client.get("foo:1") is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.set("foo:1", "x")
    reply = db.post("sys/leases/renew", {"lease_id": body["lease_id"], "increment": "30m"})
    assert reply.status_code == 200, reply.text
    assert db.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    assert redis_server.users() == set()
    with pytest.raises(redis.ConnectionError):
        client.get("foo:1")  # Redis closed the revoked user's connection


def test_the_default_rules_read_any_key(db: VaultHTTP, redis_server: RedisServer) -> None:  # noqa: F811
    role = redis_server.role("ro")
    assert db.post(f"database/roles/{role}", {"db_name": "rd"}).status_code == 204
    data = creds(db, role)["data"]
    client = redis_server.client(data["username"], data["password"])
    assert client.get("any-key") is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.set("any-key", "x")


def test_a_static_role_and_rotate_role(db: VaultHTTP, redis_server: RedisServer) -> None:  # noqa: F811
    user = f"static-{redis_server.tag}"
    redis_server.admin.execute_command("ACL", "SETUSER", user, "on", ">original-pw", "+ping")
    role = redis_server.role("st")
    reply = db.post(f"database/static-roles/{role}", {
        "db_name": "rd", "username": user, "rotation_period": "1h",
    })  # fmt: skip
    assert reply.status_code == 204, reply.text
    first = db.get(f"database/static-creds/{role}").json()["data"]
    assert redis_server.client(user, first["password"]).ping()
    with pytest.raises(redis.AuthenticationError):
        redis_server.client(user, "original-pw").ping()
    assert db.post(f"database/rotate-role/{role}").status_code == 204
    second = db.get(f"database/static-creds/{role}").json()["data"]
    assert second["password"] != first["password"]
    assert redis_server.client(user, second["password"]).ping()
    db.delete(f"database/static-roles/{role}")


def test_a_static_role_for_a_missing_user_is_refused(
    db: VaultHTTP,
    redis_server: RedisServer,  # noqa: F811
) -> None:
    missing = f"nobody-{redis_server.tag}"
    reply = db.post(f"database/static-roles/{redis_server.role('st')}", {
        "db_name": "rd", "username": missing, "rotation_period": "1h",
    })  # fmt: skip
    assert reply.status_code == 400
    assert reply.json()["errors"] == [
        f"error setting credentials: changeUserPassword for user {missing} failed: user not found"
    ]
    assert redis_server.users() == set()


def test_rotate_root(vault: VaultHTTP, redis_server: RedisServer) -> None:  # noqa: F811
    admin = f"admin-{redis_server.tag}"
    redis_server.admin.execute_command(
        "ACL", "SETUSER", admin, "on", ">first-admin-pw", "~*", "&*", "+@all"
    )
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    config = {**CONFIG, "username": admin, "password": "first-admin-pw"}
    assert vault.post("database/config/own", config).status_code == 204
    assert vault.post("database/rotate-root/own").status_code == 204
    with pytest.raises(redis.AuthenticationError):
        redis_server.client(admin, "first-admin-pw").ping()
    role = redis_server.role("own")
    assert vault.post(f"database/roles/{role}", {"db_name": "own"}).status_code == 204
    data = creds(vault, role)["data"]
    assert redis_server.client(data["username"], data["password"]).get("k") is None


def test_a_redis_that_is_down_is_refused_fast(db: VaultHTTP, closed_port: int) -> None:  # noqa: F811
    started = time.monotonic()
    reply = db.post("database/config/down", {**CONFIG, "port": closed_port})
    assert time.monotonic() - started < 3
    assert reply.status_code == 400
    assert reply.json()["errors"] == [  # OpenBao's text
        "error creating database object: error verifying connection: "
        f"dial tcp 127.0.0.1:{closed_port}: connect: connection refused"
    ]
    assert db.get("database/config/down").status_code == 404


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counter: Counter[str] = Counter()
    send = redis.connection.AbstractConnection.send_command

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        counter[" ".join(str(a) for a in args[:2])] += 1
        send(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", counting)
    return counter


def test_commands_per_creds_and_revoke(
    db: VaultHTTP,
    redis_server: RedisServer,  # noqa: F811
    commands: Counter[str],
) -> None:
    creds(db, redis_server.role("app"))  # warms the pool
    commands.clear()
    lease_id = creds(db, redis_server.role("app"))["lease_id"]
    assert commands == {"ACL SETUSER": 1}
    commands.clear()
    assert db.post("sys/leases/revoke", {"lease_id": lease_id}).status_code == 204
    assert commands == {"ACL DELUSER": 1}

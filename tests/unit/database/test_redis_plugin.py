"""The redis/valkey plugin against this machine's Redis, through the plugin interface."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import redis

from chalicelib.engines.database.plugin import NewUser, PluginError
from chalicelib.engines.database.plugins.redis_acl import plugin as redis_plugin
from tests.mysql_redis_support import REDIS_HOST, REDIS_PORT, RedisServer

PASSWORD = "A1a-generated-passw0rd"


def new_user(role: str, *statements: str, **fields: object) -> NewUser:
    base = {
        "display_name": "token", "role_name": role, "username_template": "",
        "password": PASSWORD, "expiration": datetime.now(UTC) + timedelta(hours=1),
        "creation_statements": statements, "rollback_statements": (),
    }  # fmt: skip
    return NewUser(**{**base, **fields})


def acl(server: RedisServer, username: str) -> str:
    """The user's ACL LIST line after its password hash: its key patterns and commands."""
    (line,) = (line for line in server.admin.acl_list() if line.split()[1] == username)
    return line.split(" ", 4)[4]


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Commands the plugin sends (redis-py's connection-level send), by name."""
    counter: Counter[str] = Counter()
    send = redis.connection.AbstractConnection.send_command

    def counting(self: object, *args: object, **kwargs: object) -> None:
        counter[" ".join(str(a) for a in args[:2])] += 1
        send(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", counting)
    return counter


def test_creds_make_an_acl_user_with_the_roles_rules(redis_server: RedisServer) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    plugin.verify(conn)
    role = redis_server.role("r1")
    username = plugin.new_user(conn, new_user(role, '["~foo*", "+@read"]'))
    assert re.fullmatch(rf"V_TOKEN_{role.upper()}_[A-Z0-9]{{20}}_\d+", username)
    client = redis_server.client(username, PASSWORD)
    assert client.get("foo-key") is None
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.get("bar")
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.set("foo-key", "x")
    plugin.update_expiration(conn, username, datetime.now(UTC), ())  # no-op: no expirations
    plugin.delete_user(conn, username, ())
    assert redis_server.users() == set()
    plugin.delete_user(conn, username, ())  # gone already: success


def test_no_statement_means_read_any_key_and_plain_statements_are_rules(
    redis_server: RedisServer,
) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    read_all = plugin.new_user(conn, new_user(redis_server.role("a")))
    assert acl(redis_server, read_all) == "~* resetchannels -@all +@read"
    raw = plugin.new_user(conn, new_user(redis_server.role("b"), "~x*", "+get"))
    assert acl(redis_server, raw) == "~x* resetchannels -@all +get"


def test_revocation_closes_the_users_connections(redis_server: RedisServer) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    username = plugin.new_user(conn, new_user(redis_server.role(), '["+@all", "~*"]'))
    client = redis_server.client(username, PASSWORD)
    assert client.ping()
    plugin.delete_user(conn, username, ())
    with pytest.raises(redis.ConnectionError):
        client.ping()  # closed by Redis on ACL DELUSER (the client does not retry)


def test_a_bad_rule_is_refused_and_leaves_no_user(redis_server: RedisServer) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    with pytest.raises(PluginError) as caught:
        plugin.new_user(conn, new_user(redis_server.role(), '["+@bogus"]'))
    assert caught.value.message == (
        "Error in ACL SETUSER modifier '+@bogus': Unknown command or category name in ACL"
    )
    assert redis_server.users() == set()
    with pytest.raises(PluginError, match="JSON list of ACL rules"):
        plugin.new_user(conn, new_user(redis_server.role(), '{"not": "a list"}'))


def test_static_rotation_resets_the_password(redis_server: RedisServer) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    user = f"static-{redis_server.tag}"
    redis_server.admin.acl_setuser(user, enabled=True, passwords=["+old-pw"], keys=["*"])
    redis_server.admin.execute_command("ACL", "SETUSER", user, "+ping")
    plugin.update_password(conn, user, "new-pw", ())
    assert redis_server.client(user, "new-pw").ping()
    with pytest.raises(redis.AuthenticationError):
        redis_server.client(user, "old-pw").ping()
    missing = f"nosuch-{redis_server.tag}"
    with pytest.raises(PluginError) as caught:
        plugin.update_password(conn, missing, "pw", ())
    assert caught.value.message == f"changeUserPassword for user {missing} failed: user not found"
    assert redis_server.users() == {user}  # the missing user was not created


def test_round_trips_per_operation_on_a_warm_connection(
    redis_server: RedisServer, round_trips: Counter[str]
) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    plugin.verify(conn)
    round_trips.clear()
    username = plugin.new_user(conn, new_user(redis_server.role()))
    assert round_trips == {"ACL SETUSER": 1}
    round_trips.clear()
    plugin.delete_user(conn, username, ())
    assert round_trips == {"ACL DELUSER": 1}


def test_connection_url_instead_of_host_and_port(redis_server: RedisServer) -> None:
    plugin = redis_plugin()
    url = f"redis://default:any@{REDIS_HOST}:{REDIS_PORT}"
    conn = redis_server.config(connection_url=url, username="", password="", options={})
    plugin.verify(conn)
    both = redis_server.config(connection_url=url)
    with pytest.raises(PluginError, match="cannot specify both connection_url"):
        plugin.verify(both)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"options": {"port": 6379}}, "host cannot be empty"),
        ({"options": {"host": "h"}}, "port cannot be empty"),
        ({"username": ""}, "username cannot be empty"),
        ({"password": ""}, "password cannot be empty"),
        ({"options": {"host": "h", "port": 1, "tls": True}}, "ca_cert cannot be empty"),
    ],
)
def test_missing_settings_have_openbaos_messages(
    redis_server: RedisServer, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(PluginError, match=f"^{message}$"):
        redis_plugin().verify(redis_server.config(**fields))


def test_a_wrong_password_is_not_repeated(redis_server: RedisServer) -> None:
    user = f"admin-{redis_server.tag}"
    redis_server.admin.acl_setuser(user, enabled=True, passwords=["+right-pw"])
    conn = redis_server.config(username=user, password="wrong-secret-pw")
    with pytest.raises(PluginError) as caught:
        redis_plugin().verify(conn)
    assert "invalid username-password pair" in caught.value.message
    assert "wrong-secret-pw" not in caught.value.message


def test_a_closed_port_fails_fast(redis_server: RedisServer, closed_port: int) -> None:
    conn = redis_server.config(options={"host": "127.0.0.1", "port": closed_port})
    started = time.monotonic()
    refused = f"dial tcp 127.0.0.1:{closed_port}: connect: connection refused"
    with pytest.raises(PluginError, match=f"^{refused}$"):
        redis_plugin().verify(conn)
    assert time.monotonic() - started < 2


def test_a_silent_server_is_bounded_by_the_timeout(
    redis_server: RedisServer, silent_port: int
) -> None:
    conn = redis_server.config(options={"host": "127.0.0.1", "port": silent_port}, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(PluginError, match=f"^dial tcp 127.0.0.1:{silent_port}: i/o timeout$"):
        redis_plugin().verify(conn)
    assert 0.9 < time.monotonic() - started < 3


def test_a_connection_the_server_closed_is_replaced(redis_server: RedisServer) -> None:
    plugin, conn = redis_plugin(), redis_server.config()
    plugin.verify(conn)
    (idle,) = plugin._pools.pool(conn)._idle
    client_id = idle.connection.client_id()
    redis_server.admin.client_kill_filter(_id=client_id)
    username = plugin.new_user(conn, new_user(redis_server.role()))
    assert redis_server.users() == {username}

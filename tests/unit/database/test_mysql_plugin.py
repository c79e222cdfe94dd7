"""The mysql plugins against this machine's MariaDB, through the plugin interface."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pymysql
import pytest

from chalicelib.engines.database.plugin import NewUser, PluginError
from chalicelib.engines.database.plugins.mysql import mysql, mysql_legacy
from tests.mysql_redis_support import MYSQL_HOST, MYSQL_PORT, MariaDB

CREATE = (
    "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';GRANT SELECT ON *.* TO '{{name}}'@'%';"
)
PASSWORD = "A1a-generated-passw0rd"


def new_user(role: str, statements: str = CREATE, **fields: object) -> NewUser:
    base = {
        "display_name": "token", "role_name": role, "username_template": "",
        "password": PASSWORD, "expiration": datetime.now(UTC) + timedelta(hours=1),
        "creation_statements": (statements,), "rollback_statements": (),
    }  # fmt: skip
    return NewUser(**{**base, **fields})


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Requests sent to MySQL (commands and pings), and connections opened."""
    counter: Counter[str] = Counter()
    connection = pymysql.connections.Connection
    execute, connect = connection._execute_command, connection.connect

    def counting_execute(self: object, command: int, sql: object) -> object:
        counter["requests"] += 1
        return execute(self, command, sql)

    def counting_connect(self: object, sock: object = None) -> object:
        counter["connects"] += 1
        return connect(self, sock)

    monkeypatch.setattr(connection, "_execute_command", counting_execute)
    monkeypatch.setattr(connection, "connect", counting_connect)
    return counter


def test_creds_create_a_user_that_logs_in_then_revoke_drops_it(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    plugin.verify(conn)
    username = plugin.new_user(conn, new_user(mariadb.role("r1")))
    assert username.startswith(f"v-token-{mariadb.role('r1')}-") and len(username) == 32
    assert mariadb.can_log_in(username, PASSWORD)
    plugin.update_expiration(conn, username, datetime.now(UTC), ())  # no-op, as OpenBao
    plugin.delete_user(conn, username, ())
    assert not mariadb.exists(username)
    plugin.delete_user(conn, username, ())  # gone already: success


def test_legacy_plugins_make_sixteen_character_names(mariadb: MariaDB) -> None:
    plugin, conn = mysql_legacy(), mariadb.config()
    username = plugin.new_user(conn, new_user(mariadb.role("")))
    assert username.startswith(f"v-{mariadb.tag}-") and len(username) == 16
    assert mariadb.can_log_in(username, PASSWORD)


def test_the_configs_username_template_and_expiration(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    expiration = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
    statements = (
        CREATE
        + "CREATE TABLE test.`{{name}}` (until varchar(40));"
        + ("INSERT INTO test.`{{name}}` VALUES ('{{expiration}}')")
    )
    template = '{{ printf "%s-%s" .RoleName .DisplayName }}'
    username = plugin.new_user(
        conn,
        new_user(mariadb.role(), statements, username_template=template, expiration=expiration),
    )
    try:
        assert username == f"{mariadb.role()}-token"
        with mariadb.root.cursor() as cursor:
            cursor.execute(f"SELECT until FROM test.`{username}`")
            assert cursor.fetchone() == ("2031-02-03 04:05:06+0000",)
    finally:
        with mariadb.root.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS test.`{username}`")


def test_empty_creation_statements_are_refused(mariadb: MariaDB) -> None:
    with pytest.raises(PluginError, match=r"^empty creation statements$"):
        mysql().new_user(mariadb.config(), new_user(mariadb.role(), " ; "))


def test_a_creation_failing_part_way_leaves_no_user_and_no_password(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    bad = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT BOGUS '{{password}}'"
    with pytest.raises(PluginError) as caught:
        plugin.new_user(conn, new_user(mariadb.role(), bad))
    assert caught.value.message.startswith("Error 1064: You have an error in your SQL syntax")
    assert PASSWORD not in caught.value.message and "[password]" in caught.value.message
    assert mariadb.users() == set()


def test_rollback_statements_run_when_creation_fails(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    bad = CREATE + "GRANT BOGUS"
    rollback = ("DROP USER '{{name}}'@'%'",)
    with pytest.raises(PluginError):
        plugin.new_user(conn, new_user(mariadb.role(), bad, rollback_statements=rollback))
    assert mariadb.users() == set()


def test_custom_revocation_statements(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    username = plugin.new_user(conn, new_user(mariadb.role()))
    plugin.delete_user(conn, username, ("DROP USER '{{username}}'@'%'",))
    assert not mariadb.exists(username)
    plugin.delete_user(conn, username, ("DROP USER '{{username}}'@'%'",))  # gone: success


def test_static_rotation_sets_the_password_of_an_existing_user(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    user = mariadb.create_user(f"static-{mariadb.tag}", "old-password")
    plugin.update_password(conn, user, "new'pass\\word", ())
    assert mariadb.can_log_in(user, "new'pass\\word")
    custom = ("SET PASSWORD FOR '{{name}}'@'%' = PASSWORD('{{password}}')",)
    plugin.update_password(conn, user, "third-password", custom)
    assert mariadb.can_log_in(user, "third-password")
    with pytest.raises(PluginError) as caught:
        plugin.update_password(conn, f"nosuch-{mariadb.tag}", "secret-pw-1", ())
    assert caught.value.message == (
        f"failed to change password: Error 1396: Operation ALTER USER failed for "
        f"'nosuch-{mariadb.tag}'@'%'"
    )


def test_root_rotation_then_the_new_config_version_connects_with_the_new_password(
    mariadb: MariaDB,
) -> None:
    plugin = mysql()
    admin = mariadb.create_user(f"admin-{mariadb.tag}", "first-pw")
    with mariadb.root.cursor() as cursor:
        cursor.execute("GRANT ALL ON *.* TO %s@'%%' WITH GRANT OPTION", (admin,))
    conn = mariadb.config(username=admin, password="first-pw")
    plugin.verify(conn)
    plugin.update_password(conn, admin, "second-pw", ())
    rotated = conn._replace(password="second-pw", version=conn.version + 1)
    plugin.verify(rotated)
    username = plugin.new_user(rotated, new_user(mariadb.role()))
    assert mariadb.can_log_in(username, PASSWORD)


def test_round_trips_per_operation_on_a_warm_connection(
    mariadb: MariaDB, round_trips: Counter[str]
) -> None:
    plugin, conn = mysql(), mariadb.config()
    plugin.verify(conn)
    assert round_trips == {"connects": 1, "requests": 2}  # SET NAMES, then the ping
    round_trips.clear()
    username = plugin.new_user(conn, new_user(mariadb.role()))
    assert round_trips == {"requests": 1}  # BEGIN; CREATE USER; GRANT; COMMIT
    round_trips.clear()
    plugin.delete_user(conn, username, ())
    assert round_trips == {"requests": 2}  # the existence check, then REVOKE; DROP
    round_trips.clear()
    plugin.delete_user(conn, username, ("DROP USER IF EXISTS '{{name}}'@'%'",))
    assert round_trips == {"requests": 1}


def test_a_connection_the_server_closed_is_replaced(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    plugin.verify(conn)
    (idle,) = plugin._pools.pool(conn)._idle
    with mariadb.root.cursor() as cursor:
        cursor.execute(f"KILL {idle.connection.thread_id()}")
    username = plugin.new_user(conn, new_user(mariadb.role()))
    assert mariadb.exists(username)


def test_close_drops_the_configs_connections(mariadb: MariaDB) -> None:
    plugin, conn = mysql(), mariadb.config()
    plugin.verify(conn)
    pool = plugin._pools.pool(conn)
    plugin.close(conn.name)
    assert pool._idle == [] and plugin._pools.pool(conn) is not pool


def test_bad_credentials_are_reported_without_the_password(mariadb: MariaDB) -> None:
    conn = mariadb.config(username=f"nobody-{mariadb.tag}", password="wrong-secret")
    with pytest.raises(PluginError) as caught:
        mysql().verify(conn)
    # MariaDB answers 1045 or 1698 (ER_ACCESS_DENIED_NO_PASSWORD_ERROR), by auth plugin.
    assert re.match(r"Error (1045|1698): Access denied for user 'nobody-", caught.value.message)
    assert "wrong-secret" not in caught.value.message


def test_a_closed_port_fails_fast(mariadb: MariaDB, closed_port: int) -> None:
    conn = mariadb.config(connection_url=f"root@tcp(127.0.0.1:{closed_port})/")
    started = time.monotonic()
    refused = f"dial tcp 127.0.0.1:{closed_port}: connect: connection refused"
    with pytest.raises(PluginError, match=f"^{refused}$"):
        mysql().verify(conn)
    assert time.monotonic() - started < 2


def test_a_silent_server_is_bounded_by_the_timeout(mariadb: MariaDB, silent_port: int) -> None:
    conn = mariadb.config(connection_url=f"root@tcp(127.0.0.1:{silent_port})/", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(PluginError, match=f"^dial tcp 127.0.0.1:{silent_port}: i/o timeout$"):
        mysql().verify(conn)
    assert 0.9 < time.monotonic() - started < 3


def test_failover_to_the_next_host(mariadb: MariaDB, closed_port: int) -> None:
    hosts = f"127.0.0.1:{closed_port},{MYSQL_HOST}:{MYSQL_PORT}"
    conn = mariadb.config(connection_url=f"{{{{username}}}}:{{{{password}}}}@tcp({hosts})/")
    mysql().verify(conn)


def test_creds_on_a_silent_server_wait_for_one_timeout_only(
    mariadb: MariaDB, silent_port: int
) -> None:
    # No rollback after a connection failure: it would wait a second time.
    conn = mariadb.config(connection_url=f"root@tcp(127.0.0.1:{silent_port})/", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(PluginError, match="i/o timeout"):
        mysql().new_user(conn, new_user(mariadb.role()))
    assert time.monotonic() - started < 1.8

"""The database engine with MariaDB (the mysql plugins), through the HTTP API: users that
log in with what their role grants, leases that renew and revoke them, static roles, root
rotation, a database that is down, and the round trips per creds and revoke.

Against this machine's MariaDB (tests/mysql_redis_support.py); role names carry the
test's tag, so the users they make are dropped after it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from tests.mysql_redis_support import MYSQL_URL, MariaDB, closed_port, mariadb  # noqa: F401
from tests.support import VaultHTTP, creds

CREATE = (
    "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"
    " GRANT SELECT ON test.* TO '{{name}}'@'%';"
)


@pytest.fixture
def db(vault: VaultHTTP, mariadb: MariaDB) -> Iterator[VaultHTTP]:  # noqa: F811
    """A database mount with config "my" (root) and role "<tag>app"."""
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    reply = vault.post("database/config/my", {
        "plugin_name": "mysql-database-plugin", "connection_url": MYSQL_URL,
        "username": "root", "password": "", "allowed_roles": f"{mariadb.tag}*",
    })  # fmt: skip
    assert reply.status_code == 204, reply.text
    reply = vault.post(f"database/roles/{mariadb.role('app')}", {
        "db_name": "my", "creation_statements": CREATE, "default_ttl": "1h", "max_ttl": "2h",
    })  # fmt: skip
    assert reply.status_code == 204, reply.text
    yield vault
    vault.post("sys/leases/revoke-prefix/database/creds", {})



def test_config_reads_back_without_the_password(db: VaultHTTP) -> None:
    data = db.get("database/config/my").json()["data"]
    assert data["plugin_name"] == "mysql-database-plugin"
    assert data["connection_details"] == {"connection_url": MYSQL_URL, "username": "root"}


def test_creds_log_in_renew_and_revoke(db: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    body = creds(db, mariadb.role("app"))
    assert body["lease_id"].startswith(f"database/creds/{mariadb.role('app')}/")
    assert (body["renewable"], body["lease_duration"]) == (True, 3600)
    username, password = body["data"]["username"], body["data"]["password"]
    assert username.startswith(f"v-root-{mariadb.role('app')}-") and len(username) == 32
    session = pymysql.connect(host="127.0.0.1", user=username, password=password)
    with session.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM information_schema.schemata")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            cursor.execute("CREATE DATABASE forbidden")
    session.close()
    reply = db.post("sys/leases/renew", {"lease_id": body["lease_id"], "increment": "30m"})
    assert reply.status_code == 200, reply.text
    assert db.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204
    assert not mariadb.exists(username)
    assert not mariadb.can_log_in(username, password)


def test_revoke_prefix_and_the_sweeper(db: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    from chalicelib.leases.sweeper import sweep

    users = [creds(db, mariadb.role("app"))["data"]["username"] for _ in range(2)]
    reply = db.post(f"sys/leases/revoke-prefix/database/creds/{mariadb.role('app')}")
    assert reply.status_code == 204
    assert mariadb.users() == set()
    expiring = creds(db, mariadb.role("app"))["data"]["username"]
    assert sweep(now=int(time.time()) + 7200).revoked >= 1
    assert not mariadb.exists(expiring) and not set(users) & mariadb.users()


def test_a_legacy_plugin_makes_sixteen_character_names(db: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    assert db.post("database/config/legacy", {
        "plugin_name": "mysql-legacy-database-plugin", "connection_url": MYSQL_URL,
        "username": "root", "allowed_roles": "*",
    }).status_code == 204  # fmt: skip
    role = mariadb.role("")
    assert db.post(f"database/roles/{role}", {
        "db_name": "legacy", "creation_statements": CREATE,
    }).status_code == 204  # fmt: skip
    data = creds(db, role)["data"]
    assert len(data["username"]) == 16 and data["username"].startswith(f"v-{mariadb.tag}-")
    assert mariadb.can_log_in(data["username"], data["password"])


def test_a_failed_creation_leaves_no_user_and_no_password(db: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    bad = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT NOTHING '{{password}}'"
    role = mariadb.role("bad")
    assert db.post(f"database/roles/{role}", {
        "db_name": "my", "creation_statements": bad,
    }).status_code == 204  # fmt: skip
    reply = db.get(f"database/creds/{role}")
    assert reply.status_code == 400, reply.text
    assert "Error 1064: You have an error in your SQL syntax" in reply.text
    assert "[password]" in reply.text
    assert mariadb.users() == set()


def test_a_static_role_rotates_on_creation_and_on_request(db: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    user = mariadb.create_user(f"static-{mariadb.tag}", "original-pw")
    role = mariadb.role("st")
    reply = db.post(f"database/static-roles/{role}", {
        "db_name": "my", "username": user, "rotation_period": "1h",
    })  # fmt: skip
    assert reply.status_code == 204, reply.text
    assert not mariadb.can_log_in(user, "original-pw")
    first = db.get(f"database/static-creds/{role}").json()["data"]
    assert first["username"] == user and mariadb.can_log_in(user, first["password"])
    assert db.post(f"database/rotate-role/{role}").status_code == 204
    second = db.get(f"database/static-creds/{role}").json()["data"]
    assert second["password"] != first["password"]
    assert mariadb.can_log_in(user, second["password"])
    assert not mariadb.can_log_in(user, first["password"])
    db.delete(f"database/static-roles/{role}")


def test_a_static_role_for_a_missing_user_has_vaults_error(db: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    missing = f"nobody-{mariadb.tag}"
    reply = db.post(f"database/static-roles/{mariadb.role('st')}", {
        "db_name": "my", "username": missing, "rotation_period": "1h",
    })  # fmt: skip
    assert reply.status_code == 400
    assert reply.json()["errors"] == [
        "error setting credentials: failed to change password: "
        f"Error 1396: Operation ALTER USER failed for '{missing}'@'%'"
    ]


def test_rotate_root_changes_the_admin_password(vault: VaultHTTP, mariadb: MariaDB) -> None:  # noqa: F811
    admin = mariadb.create_user(f"admin-{mariadb.tag}", "first-admin-pw")
    with mariadb.root.cursor() as cursor:
        cursor.execute("GRANT ALL ON *.* TO %s@'%%' WITH GRANT OPTION", (admin,))
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    assert vault.post("database/config/own", {
        "plugin_name": "mysql-database-plugin", "connection_url": MYSQL_URL,
        "username": admin, "password": "first-admin-pw", "allowed_roles": "*",
    }).status_code == 204  # fmt: skip
    assert vault.post("database/rotate-root/own").status_code == 204
    assert not mariadb.can_log_in(admin, "first-admin-pw")
    role = mariadb.role("own")
    assert vault.post(f"database/roles/{role}", {
        "db_name": "own", "creation_statements": CREATE,
    }).status_code == 204  # fmt: skip
    data = creds(vault, role)["data"]
    assert mariadb.can_log_in(data["username"], data["password"])
    assert "first-admin-pw" not in vault.get("database/config/own").text


def test_a_database_that_is_down_is_refused_fast(db: VaultHTTP, closed_port: int) -> None:  # noqa: F811
    started = time.monotonic()
    reply = db.post("database/config/down", {
        "plugin_name": "mysql-database-plugin", "username": "root", "password": "pw-123456",
        "connection_url": f"{{{{username}}}}:{{{{password}}}}@tcp(127.0.0.1:{closed_port})/",
    })  # fmt: skip
    assert time.monotonic() - started < 3
    assert reply.status_code == 400
    assert reply.text.endswith(f'dial tcp 127.0.0.1:{closed_port}: connect: connection refused"]}}')
    assert "pw-123456" not in reply.text
    assert db.get("database/config/down").status_code == 404


@pytest.fixture
def requests_sent(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counter: Counter[str] = Counter()
    connection = pymysql.connections.Connection
    execute = connection._execute_command

    def counting(self: Any, command: int, sql: Any) -> Any:
        counter["requests"] += 1
        return execute(self, command, sql)

    monkeypatch.setattr(connection, "_execute_command", counting)
    return counter


def test_database_round_trips_per_creds_and_revoke(
    db: VaultHTTP,
    mariadb: MariaDB,  # noqa: F811
    requests_sent: Counter[str],
) -> None:
    creds(db, mariadb.role("app"))  # warms the pool
    requests_sent.clear()
    lease_id = creds(db, mariadb.role("app"))["lease_id"]
    assert requests_sent == {"requests": 1}  # BEGIN; CREATE USER; GRANT; COMMIT
    requests_sent.clear()
    assert db.post("sys/leases/revoke", {"lease_id": lease_id}).status_code == 204
    assert requests_sent == {"requests": 2}  # does it exist; REVOKE; DROP USER

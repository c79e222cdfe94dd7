"""The database engine with PostgreSQL, through the HTTP API: users that log in and can do
what their role grants, leases that renew and revoke them, root and static rotation.

Against the throw-away scram-sha-256 cluster (tests/db_support.py), where a wrong
password is refused, so revoked and rotated credentials can be seen to fail.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.db_support import Server, pg, pg_scram, unique  # noqa: F401 - fixtures
from tests.support import VaultHTTP, creds

GRANTED_TABLE = "granted_table"
CREATE = (
    'CREATE ROLE "{{name}}" WITH LOGIN PASSWORD \'{{password}}\' VALID UNTIL \'{{expiration}}\';'
    f' GRANT SELECT ON {GRANTED_TABLE} TO "{{{{name}}}}";'
)


@pytest.fixture(scope="module")
def tables(pg_scram: Server) -> None:  # noqa: F811
    with pg_scram.connect() as db:
        db.execute(f"CREATE TABLE IF NOT EXISTS {GRANTED_TABLE} (id int)")
        db.execute("CREATE TABLE IF NOT EXISTS other_table (id int)")


@pytest.fixture
def db(vault: VaultHTTP, pg_scram: Server, tables: None) -> Iterator[VaultHTTP]:  # noqa: F811
    """A database mount with config "pg" (the admin of the scram cluster) and role "app"."""
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    reply = vault.post("database/config/pg", {
        "plugin_name": "postgresql-database-plugin", "connection_url": pg_scram.url(),
        "username": pg_scram.admin, "password": pg_scram.password, "allowed_roles": "app,st-*",
    })
    assert reply.status_code == 204, reply.text
    reply = vault.post("database/roles/app", {
        "db_name": "pg", "creation_statements": [CREATE], "default_ttl": "1h", "max_ttl": "2h",
    })
    assert reply.status_code == 204, reply.text
    yield vault
    vault.post("sys/leases/revoke-prefix/database/creds", {})



def test_a_credential_logs_in_and_can_do_what_its_role_grants_only(
    db: VaultHTTP, pg_scram: Server  # noqa: F811
) -> None:
    body = creds(db)
    assert body["lease_id"].startswith("database/creds/app/")
    assert body["renewable"] is True
    assert body["lease_duration"] == 3600
    username, password = body["data"]["username"], body["data"]["password"]
    assert set(body["data"]) == {"username", "password"}
    assert username.startswith("v-root-app-") and len(username) <= 63
    with pg_scram.connect(username, password) as session:
        assert session.execute(f"SELECT count(*) FROM {GRANTED_TABLE}").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.execute("SELECT * FROM other_table")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.execute(f"INSERT INTO {GRANTED_TABLE} VALUES (1)")
    with pytest.raises(psycopg.OperationalError):
        pg_scram.connect(username, password + "x").close()


def test_revoke_drops_the_user_and_ends_its_open_session(
    db: VaultHTTP, pg_scram: Server  # noqa: F811
) -> None:
    body = creds(db)
    username, password = body["data"]["username"], body["data"]["password"]
    session = pg_scram.connect(username, password)
    reply = db.post("sys/leases/revoke", {"lease_id": body["lease_id"]})
    assert reply.status_code == 204
    assert not pg_scram.role_exists(username)
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")
    session.close()
    with pytest.raises(psycopg.OperationalError):
        pg_scram.connect(username, password).close()


def test_renew_moves_valid_until(db: VaultHTTP, pg_scram: Server) -> None:  # noqa: F811
    assert db.post("database/roles/short", {
        "db_name": "pg", "creation_statements": [CREATE], "default_ttl": "60s", "max_ttl": "1h",
    }).status_code == 204
    assert db.post("database/config/pg", {"allowed_roles": "app,short,st-*"}).status_code == 204
    body = creds(db, "short")
    username = body["data"]["username"]
    before = pg_scram.valid_until(username)
    reply = db.post("sys/leases/renew", {"lease_id": body["lease_id"], "increment": "30m"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["lease_duration"] == 1800
    after = pg_scram.valid_until(username)
    assert before is not None and after is not None
    assert 1700 < (after - before).total_seconds() < 1800  # type: ignore[operator]


def test_the_sweeper_drops_an_expired_user(db: VaultHTTP, pg_scram: Server) -> None:  # noqa: F811
    from chalicelib.leases.sweeper import sweep

    username = creds(db)["data"]["username"]
    assert sweep(now=int(time.time())).revoked == 0
    assert pg_scram.role_exists(username)
    assert sweep(now=int(time.time()) + 7200).revoked == 1
    assert not pg_scram.role_exists(username)


def test_revoke_prefix_drops_every_user_of_the_role(
    db: VaultHTTP, pg_scram: Server  # noqa: F811
) -> None:
    users = [creds(db)["data"]["username"] for _ in range(2)]
    assert db.post("sys/leases/revoke-prefix/database/creds/app").status_code == 204
    assert not any(pg_scram.role_exists(user) for user in users)


def test_a_pooled_connection_the_database_dropped_is_replaced(
    db: VaultHTTP, pg_scram: Server  # noqa: F811
) -> None:
    creds(db)  # leaves an idle connection in the pool
    with pg_scram.connect() as admin:  # as a restart, a proxy or NAT would, unseen
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE usename = %s AND pid <> pg_backend_pid()", (pg_scram.admin,))
    body = creds(db)  # the dead connection fails, and the operation runs on a new one
    assert pg_scram.logs_in(body["data"]["username"], body["data"]["password"])


def test_rotate_root_changes_the_admin_password(
    vault: VaultHTTP, pg_scram: Server  # noqa: F811
) -> None:
    admin, first = unique("admin"), "first-" + unique()
    with pg_scram.connect() as db:
        db.execute(f"CREATE ROLE \"{admin}\" WITH LOGIN CREATEROLE PASSWORD '{first}'".encode())
    try:
        assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
        assert vault.post("database/config/own", {
            "plugin_name": "postgresql-database-plugin", "connection_url": pg_scram.url(),
            "username": admin, "password": first,
        }).status_code == 204
        assert vault.post("database/rotate-root/own").status_code == 204
        with pytest.raises(psycopg.OperationalError):
            pg_scram.connect(admin, first).close()
        # The engine still works with the password only it knows.
        assert vault.post("database/config/own", {}).status_code == 204
        shown = vault.get("database/config/own").json()["data"]
        assert "password" not in shown["connection_details"]
        assert first not in str(shown)
    finally:
        pg_scram.drop_roles(admin)


def test_an_admin_without_superuser_revokes_schema_by_schema(
    vault: VaultHTTP, pg_scram: Server, tables: None  # noqa: F811
) -> None:
    admin = unique("admin")
    with pg_scram.connect() as db:
        db.execute(f"CREATE ROLE \"{admin}\" WITH LOGIN CREATEROLE PASSWORD 'pw'".encode())
        db.execute(f"GRANT SELECT ON {GRANTED_TABLE} TO \"{admin}\" WITH GRANT OPTION".encode())
    try:
        assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
        assert vault.post("database/config/limited", {
            "plugin_name": "postgresql-database-plugin", "connection_url": pg_scram.url(),
            "username": admin, "password": "pw", "allowed_roles": "app",
        }).status_code == 204
        assert vault.post("database/roles/app", {"db_name": "limited", "creation_statements": [
            CREATE]}).status_code == 204
        body = creds(vault)
        username = body["data"]["username"]
        reply = vault.post("sys/leases/revoke", {"lease_id": body["lease_id"]})
        assert reply.status_code == 204, reply.text
        assert not pg_scram.role_exists(username)
    finally:
        vault.post("sys/leases/revoke-prefix/database/creds", {})
        pg_scram.drop_roles(admin)


def _static_user(pg_scram: Server, password: str) -> str:  # noqa: F811
    username = unique("static")
    with pg_scram.connect() as db:
        db.execute(f"CREATE ROLE \"{username}\" WITH LOGIN PASSWORD '{password}'".encode())
    return username


def test_a_static_role_rotates_at_once_on_request_and_when_due(
    db: VaultHTTP, pg_scram: Server  # noqa: F811
) -> None:
    from chalicelib.engines.database.rotation import rotate_due_roles

    original = "orig-" + unique()
    username = _static_user(pg_scram, original)
    try:
        reply = db.post("database/static-roles/st-a", {
            "db_name": "pg", "username": username, "rotation_period": "1h",
        })
        assert reply.status_code == 204, reply.text
        with pytest.raises(psycopg.OperationalError):
            pg_scram.connect(username, original).close()
        first = db.get("database/static-creds/st-a").json()["data"]
        assert first["username"] == username
        assert 3590 <= first["ttl"] <= 3600 and first["rotation_period"] == 3600
        pg_scram.connect(username, first["password"]).close()

        assert db.post("database/rotate-role/st-a").status_code == 204
        second = db.get("database/static-creds/st-a").json()["data"]
        assert second["password"] != first["password"]
        pg_scram.connect(username, second["password"]).close()

        assert rotate_due_roles() == 0  # not due for an hour
        reply = db.post("database/static-roles/st-a", {"rotation_period": "5s"})
        assert reply.status_code == 204, reply.text
        time.sleep(5.1)
        assert rotate_due_roles() == 1
        assert rotate_due_roles() == 0  # the second run finds it rotated
        third = db.get("database/static-creds/st-a").json()["data"]
        assert third["password"] != second["password"]
        pg_scram.connect(username, third["password"]).close()
        with pytest.raises(psycopg.OperationalError):
            pg_scram.connect(username, second["password"]).close()
    finally:
        db.delete("database/static-roles/st-a")
        pg_scram.drop_roles(username)


def test_a_static_role_for_a_missing_user_is_refused_and_not_kept(db: VaultHTTP) -> None:
    reply = db.post("database/static-roles/st-b", {
        "db_name": "pg", "username": unique("nobody"), "rotation_schedule": "0 * * * *",
    })
    assert reply.status_code == 400
    assert "user does not appear to exist" in reply.json()["errors"][0]
    assert db.get("database/static-roles/st-b").status_code == 404


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """psycopg calls of the plugin: connects and statements sent (each a round trip;
    a transaction adds its BEGIN and COMMIT)."""
    counter: Counter[str] = Counter()
    execute, connect = psycopg.Connection.execute, psycopg.Connection.connect

    def counting_execute(self: psycopg.Connection, *args: Any, **kwargs: Any) -> Any:
        counter["execute"] += 1
        return execute(self, *args, **kwargs)

    def counting_connect(cls: type[psycopg.Connection], *args: Any, **kwargs: Any) -> Any:
        counter["connect"] += 1
        return connect.__func__(cls, *args, **kwargs)  # type: ignore[attr-defined]

    monkeypatch.setattr(psycopg.Connection, "execute", counting_execute)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(counting_connect))
    return counter


def test_storage_and_database_round_trips(
    db: VaultHTTP, pg_scram: Server, calls: Counter[str], statements: Counter[str]  # noqa: F811
) -> None:
    username = _static_user(pg_scram, "orig-" + unique())
    measured: dict[str, tuple[dict[str, int], dict[str, int]]] = {}

    def measure(step: str, reply: Any) -> Any:
        measured[step] = (dict(calls), dict(statements))
        calls.clear()
        statements.clear()
        return reply

    try:
        creds(db)  # warms the pool
        assert db.post("database/static-roles/st-c", {
            "db_name": "pg", "username": username, "rotation_period": "1h",
        }).status_code == 204
        calls.clear()
        statements.clear()
        lease_id = measure("creds", creds(db))["lease_id"]
        measure("revoke", db.post("sys/leases/revoke", {"lease_id": lease_id}))
        measure("rotate-role", db.post("database/rotate-role/st-c"))
        from chalicelib.engines.database.rotation import rotate_due_roles

        measure("job, nothing due", rotate_due_roles())
        for step, (dynamodb, postgres) in measured.items():
            print(step, dynamodb, postgres)
        # The role rides in the pipeline's first round trip; then the config is read.
        assert measured["creds"][0]["GetItem"] == 1
        assert measured["creds"][1] == {"execute": 1}  # one statement on a pooled connection
        # Lease, role and config; then exists, reassign, drop owned, terminate, drop role.
        assert measured["revoke"][0]["GetItem"] == 3
        assert measured["revoke"][1] == {"execute": 5}
        # Role and config read, the claim written, the password made current.
        assert measured["rotate-role"][0] == {"BatchGetItem": 1, "GetItem": 2, "UpdateItem": 2}
        assert measured["rotate-role"][1] == {"execute": 2}  # exists, ALTER ROLE
        # The cluster state, one LIST of the static roles, one batch read of them.
        assert measured["job, nothing due"] == ({"BatchGetItem": 2, "Query": 1}, {})
    finally:
        db.delete("database/static-roles/st-c")
        pg_scram.drop_roles(username)


def _app_users(pg_scram: Server) -> set[str]:  # noqa: F811
    with pg_scram.connect() as session:
        rows = session.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-root-app-%'")
        return {row[0] for row in rows}


def test_a_user_whose_lease_cannot_be_stored_is_dropped_again(
    db: VaultHTTP, pg_scram: Server, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The lease manager undoes the engine's work when the lease write fails (a DynamoDB
    fault): no user outlives a request that answered with an error."""
    from chalicelib.leases.store import LeaseStore

    def failing(self: LeaseStore, lease: Any) -> None:
        raise RuntimeError("the lease table is unavailable")

    before = _app_users(pg_scram)
    monkeypatch.setattr(LeaseStore, "create", failing)
    reply = db.get("database/creds/app")
    assert reply.status_code == 500
    assert _app_users(pg_scram) == before

"""Static-role rotation when things go wrong: a run that dies half-way, a database that
refuses, two runs at once; and the cron schedules that decide when a role is due."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.engines.database import cron, static
from chalicelib.engines.database.plugins.postgresql.templates import render
from chalicelib.engines.database.rotation import rotate_due_roles
from chalicelib.storage.view import StorageView
from tests.db_support import Server, pg_scram, unique  # noqa: F401 - fixture
from tests.support import VaultHTTP


@pytest.fixture
def account(vault: VaultHTTP, pg_scram: Server) -> Iterator[tuple[VaultHTTP, str]]:  # noqa: F811
    """Static role "st" over a fresh database user, rotated once at creation."""
    username = unique("static")
    with pg_scram.connect() as db:
        db.execute(f"CREATE ROLE \"{username}\" WITH LOGIN PASSWORD 'initial-pw'".encode())
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    assert vault.post("database/config/pg", {
        "plugin_name": "postgresql-database-plugin", "connection_url": pg_scram.url(),
        "username": pg_scram.admin, "password": pg_scram.password, "allowed_roles": "*",
    }).status_code == 204
    reply = vault.post("database/static-roles/st", {
        "db_name": "pg", "username": username, "rotation_period": "5s",
    })
    assert reply.status_code == 204, reply.text
    try:
        yield vault, username
    finally:
        pg_scram.drop_roles(username)


def current(vault: VaultHTTP) -> str:
    return str(vault.get("database/static-creds/st").json()["data"]["password"])


def _view() -> StorageView:
    """The database mount's storage, as the job sees it."""
    from chalicelib.core.runtime import runtime

    rt = runtime()
    rt.begin([])
    mount = next(m for m in rt.mounts.entries if m.type == "database")
    return StorageView(rt.barrier, mount.storage_prefix)


def _stored(vault: VaultHTTP) -> static.StaticRole:
    role = static.read_static(_view(), "st")
    assert role is not None
    return role


def test_a_run_that_dies_after_the_database_change_is_finished_by_the_next(
    account: tuple[VaultHTTP, str], pg_scram: Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault, username = account
    before = current(vault)
    monkeypatch.setattr(static, "CLAIM_SECONDS", 0)

    def crash(*args: object) -> None:
        raise RuntimeError("the Lambda timed out")

    with monkeypatch.context() as patch:
        patch.setattr(static, "_finish", crash)
        view, role = _view(), _stored(vault)
        with pytest.raises(RuntimeError):
            static.rotate(view, "st", role)
    pending = _stored(vault).pending_password
    assert pending and pending != before
    assert pg_scram.logs_in(username, pending)  # the database took it: it must not be lost
    assert rotate_due_roles() == 1  # the lapsed claim is finished with the same password
    assert current(vault) == pending
    assert _stored(vault).pending_password == ""


def test_a_refused_rotation_keeps_the_old_password_working(
    account: tuple[VaultHTTP, str], pg_scram: Server,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vault, username = account
    before = current(vault)
    monkeypatch.setattr(static, "CLAIM_SECONDS", 0)
    with monkeypatch.context() as patch:
        # The database refuses (as a dropped user would).
        patch.setattr(static, "plugin_for", lambda name: _Refusing())
        reply = vault.post("database/rotate-role/st")
        assert reply.status_code == 400
        assert reply.json()["errors"] == ["error setting credentials: refused"]
    assert current(vault) == before and pg_scram.logs_in(username, before)
    assert rotate_due_roles() == 1  # the next run retries
    assert pg_scram.logs_in(username, current(vault))
    assert not pg_scram.logs_in(username, before)


class _Refusing:
    def update_password(self, *args: object) -> None:
        from chalicelib.engines.database.plugin import PluginError

        raise PluginError("refused")


def test_a_claimed_role_is_not_rotated_twice(account: tuple[VaultHTTP, str]) -> None:
    vault, _ = account
    role = _stored(vault)
    claimed = replace(role, pending_password="p", claim_until=10.0**10)
    view = _view()
    static.write_static(view, "st", claimed)
    assert not claimed.due(10.0**9)
    assert rotate_due_roles() == 0
    reply = vault.post("database/rotate-role/st")
    assert reply.status_code == 412
    # A stale copy of the role (another container's read) cannot claim it either.
    assert static.rotate(view, "st", role) is False


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("*/15 * * * *", datetime(2026, 12, 6, 5, 59, 30, tzinfo=UTC), datetime(2026, 12, 6, 6, 0)),
    ("0 3 * * 0", datetime(2026, 12, 6, 5, 59, tzinfo=UTC), datetime(2026, 12, 13, 3, 0)),
    ("0 3 * * 7", datetime(2026, 12, 6, 5, 59, tzinfo=UTC), datetime(2026, 12, 13, 3, 0)),
    ("30 2 1 * *", datetime(2026, 12, 6, tzinfo=UTC), datetime(2027, 1, 1, 2, 30)),
    ("0 0 29 2 *", datetime(2026, 12, 6, tzinfo=UTC), datetime(2028, 2, 29, 0, 0)),
    ("0 9-17/4 * * 1-5", datetime(2026, 12, 5, 12, tzinfo=UTC), datetime(2026, 12, 7, 9, 0)),
    # Both day fields restricted: either matches (the 1st, or any Monday).
    ("0 0 1 * 1", datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 7, 0, 0)),
])
def test_cron_next_after(expression: str, after: datetime, expected: datetime) -> None:
    assert cron.parse(expression).next_after(after) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize("expression", ["* * * *", "60 * * * *", "*/0 * * * *", "a * * * *",
                                        "5-1 * * * *", "0 0 31 2 *"])
def test_cron_refuses_bad_or_impossible_schedules(expression: str) -> None:
    with pytest.raises(cron.CronError):
        cron.parse(expression).next_after(datetime(2026, 1, 1, tzinfo=UTC))


def test_a_rotation_window_lets_a_late_run_rotate_only_inside_it() -> None:
    base = datetime(2026, 12, 6, 0, 0, tzinfo=UTC).timestamp()
    role = static.StaticRole(db_name="pg", username="u", rotation_schedule="0 * * * *",
                             rotation_window=600, last_vault_rotation=base)
    assert not role.due(base + 3599)
    assert role.due(base + 3600 + 599)
    assert not role.due(base + 3600 + 601)
    assert role.due(base + 7200 + 10)  # the next hour's window


def test_templates_keep_values_inside_their_quotes() -> None:
    statement = "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}'; GRANT x TO {{name}};"
    rendered = render(statement, {"name": 'a"b', "password": "p'; DROP TABLE t; --"})
    assert rendered == (
        "CREATE ROLE \"a\"\"b\" PASSWORD 'p''; DROP TABLE t; --'; GRANT x TO \"a\"\"b\";"
    )
    assert render("{{unknown}} {{ password }}", {"password": "p"}) == "{{unknown}} 'p'"


@pytest.mark.parametrize("database_took_it", [True, False])
def test_rotate_root_settles_an_unfinished_rotation_first(
    vault: VaultHTTP, pg_scram: Server, database_took_it: bool  # noqa: F811
) -> None:
    from chalicelib.engines.database import config as stored

    admin = unique("admin")
    with pg_scram.connect() as db:
        db.execute(f"CREATE ROLE \"{admin}\" WITH LOGIN CREATEROLE PASSWORD 'first'".encode())
    try:
        assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
        assert vault.post("database/config/own", {
            "plugin_name": "postgresql-database-plugin", "connection_url": pg_scram.url(),
            "username": admin, "password": "first", "allowed_roles": "*",
        }).status_code == 204
        # A rotation that stored "pending" and died before (or after) the database took it.
        view = _view()
        config = stored.read_config(view, "own")
        assert config is not None
        stored.write_config(view, "own", replace(config, pending_root_password="pending"))
        if database_took_it:
            with pg_scram.connect() as db:
                db.execute(f"ALTER ROLE \"{admin}\" PASSWORD 'pending'".encode())
        assert vault.post("database/rotate-root/own").status_code == 204
        assert not pg_scram.logs_in(admin, "first") and not pg_scram.logs_in(admin, "pending")
        settled = stored.read_config(_view(), "own")
        assert settled is not None and settled.pending_root_password == ""
        # The engine holds the password the database now has.
        assert vault.post("database/config/own", {}).status_code == 204
    finally:
        pg_scram.drop_roles(admin)

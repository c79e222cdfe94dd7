"""The database engine's configuration, roles and bad input, against the machine's
PostgreSQL (trust auth): Vault's status codes and texts, and nothing half-created."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.db_support import Server, pg, unique  # noqa: F401 - fixture
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each mounts its engine afresh)."""
    return module_vault


PLUGIN = "postgresql-database-plugin"
CREATE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"


@pytest.fixture
def db(vault: VaultHTTP, pg: Server) -> Iterator[VaultHTTP]:  # noqa: F811
    vault.delete("sys/mounts/database")  # the module's tests share a cluster
    assert vault.post("sys/mounts/database", {"type": "database"}).status_code == 204
    reply = vault.post("database/config/pg", {
        "plugin_name": PLUGIN, "connection_url": pg.url(), "username": pg.admin,
        "password": "not-needed-with-trust", "allowed_roles": ["app", "bad-*"],
    })
    assert reply.status_code == 204, reply.text
    yield vault
    vault.post("sys/leases/revoke-prefix/database/creds", {})


def error(reply: object) -> str:
    assert reply.status_code == 400, reply.text  # type: ignore[attr-defined]
    errors = reply.json()["errors"]  # type: ignore[attr-defined]
    assert len(errors) == 1
    return str(errors[0])


def test_config_read_shows_vaults_shape_without_the_password(db: VaultHTTP, pg: Server) -> None:  # noqa: F811
    data = db.get("database/config/pg").json()["data"]
    assert data == {
        "plugin_name": PLUGIN,
        "plugin_version": "",
        "connection_details": {"connection_url": pg.url(), "username": pg.admin},
        "allowed_roles": ["app", "bad-*"],
        "root_credentials_rotate_statements": [],
        "password_policy": "",
    }
    assert db.list("database/config").json()["data"]["keys"] == ["pg"]


def test_a_password_in_the_url_is_warned_about_and_never_shown(
    db: VaultHTTP, pg: Server  # noqa: F811
) -> None:
    url = f"postgresql://{pg.admin}:inline-secret@{pg.host}:{pg.port}/{pg.dbname}"
    reply = db.post("database/config/inline", {"plugin_name": PLUGIN, "connection_url": url})
    assert reply.status_code == 200
    assert reply.json()["warnings"][0].startswith("Password found in connection_url")
    shown = db.get("database/config/inline").json()["data"]["connection_details"]
    assert shown["connection_url"] == f"postgresql://{pg.admin}:xxxxx@{pg.host}:{pg.port}/test"


def test_an_update_merges_into_the_stored_config(db: VaultHTTP, pg: Server) -> None:  # noqa: F811
    assert db.post("database/config/pg", {"allowed_roles": "*"}).status_code == 204
    data = db.get("database/config/pg").json()["data"]
    assert data["allowed_roles"] == ["*"]
    assert data["connection_details"]["connection_url"] == pg.url()


def test_an_unknown_plugin_is_refused_with_vaults_text(db: VaultHTTP) -> None:
    reply = db.post("database/config/x", {"plugin_name": "nope", "connection_url": "x"})
    assert error(reply) == (
        "error creating database object: invalid database version: "
        "plugin not found in the catalog: nope"
    )
    assert error(db.post("database/config/x", {"connection_url": "x"})) == "empty plugin name"
    assert db.get("database/config/x").status_code == 404


def test_a_wrong_connection_url_is_refused_fast_and_not_stored(db: VaultHTTP) -> None:
    url = "postgresql://{{username}}:{{password}}@127.0.0.1:1/test"
    reply = db.post("database/config/down", {
        "plugin_name": PLUGIN, "connection_url": url, "username": "u", "password": "sekrit-pw",
    })
    text = error(reply)
    assert text.startswith("error creating database object: error verifying connection: ")
    assert "sekrit-pw" not in text
    assert db.get("database/config/down").status_code == 404
    # verify_connection=false: stored as given (the database may come later).
    reply = db.post("database/config/down", {
        "plugin_name": PLUGIN, "connection_url": url, "verify_connection": False,
    })
    assert reply.status_code == 204


def test_reset_and_delete(db: VaultHTTP) -> None:
    assert db.post("database/reset/pg").status_code == 204
    assert db.delete("database/config/pg").status_code == 204
    assert db.get("database/config/pg").status_code == 404
    assert error(db.post("database/reset/pg")) == (
        'failed to find entry for connection with name: "pg"'
    )


def test_roles_crud_and_their_errors(db: VaultHTTP) -> None:
    assert error(db.post("database/roles/r", {"creation_statements": CREATE})) == (
        "database name is required"
    )
    reply = db.post("database/roles/r", {"db_name": "pg", "credential_type": "rsa_private_key"})
    assert error(reply) == 'unsupported credential_type: "rsa_private_key"'
    reply = db.post("database/roles/app", {
        "db_name": "pg", "creation_statements": CREATE, "default_ttl": "1h", "max_ttl": 7200,
    })
    assert reply.status_code == 204
    assert db.get("database/roles/app").json()["data"] == {
        "db_name": "pg", "creation_statements": [CREATE], "revocation_statements": [],
        "rollback_statements": [], "renew_statements": [], "default_ttl": 3600,
        "max_ttl": 7200, "credential_type": "password",
    }
    assert db.list("database/roles").json()["data"]["keys"] == ["app"]
    reply = db.post("database/static-roles/app", {"db_name": "pg", "username": "postgres",
                                                  "rotation_period": "1h"})
    assert error(reply) == "Role and Static Role names must be unique"
    assert db.delete("database/roles/app").status_code == 204
    assert db.get("database/roles/app").status_code == 404


def test_static_role_errors(db: VaultHTTP) -> None:
    cases = [
        ({"username": "u", "rotation_period": "1h"}, "database name is a required field"),
        ({"db_name": "pg", "rotation_period": "1h"},
         "username is a required field to create a static account"),
        ({"db_name": "pg", "username": "u"},
         "one of rotation_schedule or rotation_period must be provided to create a static "
         "account"),
        ({"db_name": "pg", "username": "u", "rotation_period": "2s"},
         "rotation_period must be 5 seconds or more"),
        ({"db_name": "pg", "username": "u", "rotation_schedule": "61 * * * *"},
         "could not parse rotation_schedule: value out of range in '61' (0-59)"),
        ({"db_name": "pg", "username": "u", "rotation_period": "1h",
          "rotation_schedule": "* * * * *"},
         "mutually exclusive fields rotation_period and rotation_schedule were both "
         "specified; only one of them can be provided"),
        ({"db_name": "pg", "username": "u", "rotation_period": "1h", "rotation_window": "1h"},
         "rotation_window is invalid with use of rotation_period"),
        ({"db_name": "nope", "username": "u", "rotation_period": "1h"},
         'failed to find entry for connection with name: "nope"'),
    ]
    for body, text in cases:
        assert error(db.post("database/static-roles/bad-s", body)) == text, body
    reply = db.post("database/static-roles/other", {"db_name": "pg", "username": "u",
                                                    "rotation_period": "1h"})
    assert error(reply) == '"other" is not an allowed role'
    assert db.list("database/static-roles").status_code == 404
    assert error(db.post("database/rotate-role/nope")) == "no static role found for role name"
    assert error(db.get("database/static-creds/nope")) == "unknown role: nope"


def _leases(vault: VaultHTTP, role: str) -> list[str]:
    reply = vault.list(f"sys/leases/lookup/database/creds/{role}/")
    return reply.json()["data"]["keys"] if reply.status_code == 200 else []


def _users(pg: Server, role: str) -> list[str]:  # noqa: F811
    with pg.connect() as db:
        return [row[0] for row in db.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"v-root-{role[:8]}-%",)
        )]


@pytest.mark.parametrize(("statements", "message"), [
    (["CREATE ROLEX"], 'failed to execute query: ERROR: syntax error at or near "ROLEX" '
                       "(SQLSTATE 42601)"),
    # The user is created, then the grant fails: the transaction takes both back.
    ([CREATE, 'GRANT SELECT ON no_such_table TO "{{name}}";'],
     'failed to execute query: ERROR: relation "no_such_table" does not exist (SQLSTATE 42P01)'),
])
def test_a_failed_creation_leaves_no_user_and_no_lease(
    db: VaultHTTP, pg: Server, statements: list[str], message: str  # noqa: F811
) -> None:
    role = unique("bad-")
    assert db.post(f"database/roles/{role}", {
        "db_name": "pg", "creation_statements": statements,
    }).status_code == 204
    assert error(db.get(f"database/creds/{role}")) == message
    assert _users(pg, role) == []
    assert _leases(db, role) == []


def test_creds_for_a_role_the_config_does_not_allow(db: VaultHTTP, pg: Server) -> None:  # noqa: F811
    assert db.post("database/roles/other", {"db_name": "pg", "creation_statements": CREATE}
                   ).status_code == 204
    # OpenBao answers 500 with this text; it is the client's doing, so 400 here.
    assert error(db.get("database/creds/other")) == '"other" is not an allowed role'
    assert _users(pg, "other") == []
    assert error(db.get("database/creds/zz")) == "unknown role: zz"


def test_a_role_whose_database_is_gone(db: VaultHTTP) -> None:
    assert db.post("database/roles/app", {"db_name": "gone", "creation_statements": CREATE}
                   ).status_code == 204
    assert error(db.get("database/creds/app")) == (
        'failed to find entry for connection with name: "gone"'
    )


def test_password_policy_and_username_template_shape_the_credential(
    db: VaultHTTP, pg: Server  # noqa: F811
) -> None:
    policy = 'length = 20\nrule "charset" {\n  charset = "abcdefgh"\n  min-chars = 1\n}'
    assert db.post("sys/policies/password/dbpol", {"policy": policy}).status_code == 204
    template = '{{ printf "x-%s-%s" (.RoleName) (random 6) }}'
    assert db.post("database/config/pg", {
        "password_policy": "dbpol", "username_template": template,
    }).status_code == 204
    assert db.post("database/roles/app", {"db_name": "pg", "creation_statements": CREATE}
                   ).status_code == 204
    body = db.get("database/creds/app").json()
    username, password = body["data"]["username"], body["data"]["password"]
    assert username.startswith("x-app-") and len(username) == 12
    assert len(password) == 20 and set(password) <= set("abcdefgh")
    assert pg.role_exists(username)

    assert db.post("database/config/pg", {"password_policy": "missing"}).status_code == 204
    assert error(db.get("database/creds/app")) == "no password policy found"
    reply = db.post("database/config/pg", {"username_template": "{{ nope }}"})
    assert error(reply).startswith(
        "error creating database object: unable to initialize username template: "
    )


@pytest.mark.slow
def test_a_statement_that_hangs_is_cut_off_by_the_statement_timeout(
    db: VaultHTTP, pg: Server  # noqa: F811
) -> None:
    import time

    role = unique("bad-")
    assert db.post(f"database/roles/{role}", {"db_name": "pg", "creation_statements": [
        CREATE, "SELECT pg_sleep(60);"]}).status_code == 204
    started = time.monotonic()
    text = error(db.get(f"database/creds/{role}"))
    assert time.monotonic() - started < 12
    assert text == ("failed to execute query: ERROR: canceling statement due to statement "
                    "timeout (SQLSTATE 57014)")
    assert _users(pg, role) == []

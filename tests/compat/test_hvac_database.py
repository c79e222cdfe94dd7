"""hvac's ``client.secrets.database`` against `lambdavault server -dev` and a real
`bao server -dev`, on the throw-away scram-sha-256 cluster (a refused password shows)."""

from __future__ import annotations

from collections.abc import Iterator

import hvac
import pytest

from tests.compat.conftest import (
    ROOT_TOKEN,
    Server,
    openbao_dev,  # noqa: F401 - fixture
)
from tests.db_support import Server as Postgres
from tests.db_support import lambdavault_dev, pg_scram, unique  # noqa: F401 - fixtures

pytestmark = pytest.mark.compat

CREATE = ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
          "VALID UNTIL '{{expiration}}';")


@pytest.fixture(params=["lambdavault", "openbao"])
def client(request: pytest.FixtureRequest) -> Iterator[hvac.Client]:
    chosen: Server = request.getfixturevalue(
        "lambdavault_dev" if request.param == "lambdavault" else "openbao_dev"
    )
    connected = hvac.Client(url=chosen.address, token=ROOT_TOKEN)
    connected.sys.enable_secrets_engine("database")
    try:
        yield connected
    finally:
        connected.sys.disable_secrets_engine("database")


def _user(pg: Postgres, name: str, password: str, *options: str) -> None:
    with pg.connect() as db:
        db.execute(
            f"CREATE ROLE \"{name}\" WITH LOGIN {' '.join(options)} PASSWORD '{password}'".encode()
        )


def test_connections_roles_creds_static_roles_and_root_rotation(
    client: hvac.Client, pg_scram: Postgres  # noqa: F811
) -> None:
    database = client.secrets.database
    admin, static_user = unique("admin"), unique("static")
    _user(pg_scram, admin, "admin-pw", "CREATEROLE")
    _user(pg_scram, static_user, "static-pw")
    try:
        database.configure("pg", "postgresql-database-plugin", allowed_roles=["*"],
                           connection_url=pg_scram.url(), username=admin, password="admin-pw")
        assert database.list_connections()["data"]["keys"] == ["pg"]
        details = database.read_connection("pg")["data"]["connection_details"]
        assert details == {"connection_url": pg_scram.url(), "username": admin}

        database.create_role("app", "pg", [CREATE], default_ttl="10m", max_ttl="1h")
        assert database.list_roles()["data"]["keys"] == ["app"]
        issued = database.generate_credentials("app")
        assert issued["lease_duration"] == 600 and issued["renewable"] is True
        assert pg_scram.logs_in(issued["data"]["username"], issued["data"]["password"])

        database.create_static_role("st", "pg", static_user, [], rotation_period=3600)
        assert database.list_static_roles()["data"]["keys"] == ["st"]
        assert not pg_scram.logs_in(static_user, "static-pw")  # rotated at creation
        first = database.get_static_credentials("st")["data"]
        assert {"username", "password", "ttl", "rotation_period", "last_vault_rotation"} <= set(
            first
        )
        assert first["rotation_period"] == 3600 and 3500 < first["ttl"] <= 3600
        database.rotate_static_role_credentials("st")
        second = database.get_static_credentials("st")["data"]
        assert second["password"] != first["password"]
        assert pg_scram.logs_in(static_user, second["password"])

        database.rotate_root_credentials("pg")
        assert not pg_scram.logs_in(admin, "admin-pw")
        database.reset_connection("pg")
        again = database.generate_credentials("app")["data"]  # with the rotated password
        assert pg_scram.logs_in(again["username"], again["password"])

        database.delete_static_role("st")
        database.delete_role("app")
        client.sys.revoke_prefix("database/creds/app")
        database.delete_connection("pg")
        with pytest.raises(hvac.exceptions.InvalidPath):
            database.read_connection("pg")
    finally:
        pg_scram.drop_roles(static_user)
        pg_scram.drop_roles("v-")
        pg_scram.drop_roles(admin)

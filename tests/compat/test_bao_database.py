"""The database engine through the real `bao` CLI, against `lambdavault server -dev` and a
real `bao server -dev`, both on the machine's PostgreSQL: the same commands, the same
status codes, response shapes and lease TTLs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.compat.conftest import (
    Server,
    openbao_dev,  # noqa: F401 - fixture
)
from tests.db_support import Server as Postgres
from tests.db_support import lambdavault_dev, pg, unique  # noqa: F401 - fixtures

pytestmark = pytest.mark.compat

CREATE = ("CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
          "VALID UNTIL '{{expiration}}';")
# The root token's display name: "root" here, "token" in OpenBao's dev server.
USERNAME = re.compile(r"^v-(root|token)-[a-z0-9]{1,8}-[A-Za-z0-9]{20}-\d{10}$")


@pytest.fixture(params=["lambdavault", "openbao"])
def server(request: pytest.FixtureRequest, pg: Postgres) -> Iterator[Server]:  # noqa: F811
    """Each server with database/ enabled and config "pg" (fresh per test)."""
    chosen: Server = request.getfixturevalue(
        "lambdavault_dev" if request.param == "lambdavault" else "openbao_dev"
    )
    chosen.bao("secrets", "enable", "database")
    chosen.bao("write", "database/config/pg", "plugin_name=postgresql-database-plugin",
               f"connection_url={pg.url()}", f"username={pg.admin}", "password=unused",
               "allowed_roles=*")
    try:
        yield chosen
    finally:
        chosen.bao("secrets", "disable", "database")  # revokes what a test left


def as_json(server: Server, *args: str) -> Any:
    words = 2 if args[0] == "lease" else 1  # the subcommand; flags go before the path
    result = server.bao(*args[:words], "-format=json", *args[words:])
    return result.json()


def test_creds_renew_and_revoke(server: Server, pg: Postgres) -> None:  # noqa: F811
    role = unique("c")[:8]
    server.bao("write", f"database/roles/{role}", "db_name=pg", f"creation_statements={CREATE}",
               "default_ttl=1h", "max_ttl=2h")
    shown = as_json(server, "read", f"database/roles/{role}")["data"]
    assert shown == {
        "db_name": "pg", "creation_statements": [CREATE], "revocation_statements": [],
        "rollback_statements": [], "renew_statements": [], "default_ttl": 3600,
        "max_ttl": 7200, "credential_type": "password",
    }
    issued = as_json(server, "read", f"database/creds/{role}")
    assert issued["lease_duration"] == 3600 and issued["renewable"] is True
    assert issued["lease_id"].startswith(f"database/creds/{role}/")
    assert set(issued["data"]) == {"username", "password"}
    username = issued["data"]["username"]
    assert USERNAME.match(username), username
    assert pg.role_exists(username)
    renewed = as_json(server, "lease", "renew", "-increment=30m", issued["lease_id"])
    assert renewed["lease_duration"] == 1800
    # Without -sync both servers queue the revocation (202) and revoke in the background.
    assert "queued" in server.bao("lease", "revoke", issued["lease_id"]).out
    deadline = time.monotonic() + 20
    while pg.role_exists(username) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not pg.role_exists(username)


def test_config_read_and_list(server: Server, pg: Postgres) -> None:  # noqa: F811
    data = as_json(server, "read", "database/config/pg")["data"]
    assert data == {
        "plugin_name": "postgresql-database-plugin", "plugin_version": "",
        "connection_details": {"connection_url": pg.url(), "username": pg.admin},
        "allowed_roles": ["*"], "root_credentials_rotate_statements": [], "password_policy": "",
    }
    assert as_json(server, "list", "database/config") == ["pg"]


@pytest.mark.parametrize(("args", "text"), [
    (("read", "database/creds/zz"), "* unknown role: zz"),
    (("write", "database/roles/r", f"creation_statements={CREATE}"),
     "* database name is required"),
    (("write", "database/config/x", "plugin_name=nope", "connection_url=x"),
     "plugin not found in the catalog: nope"),
    (("write", "database/config/down", "plugin_name=postgresql-database-plugin",
      "connection_url=postgresql://{{username}}:{{password}}@127.0.0.1:1/test",
      "username=u", "password=p"),
     "* error creating database object: error verifying connection: "),
])
def test_errors_match(server: Server, args: tuple[str, ...], text: str) -> None:
    result = server.bao(*args, check=False)
    assert result.code == 2
    assert "Code: 400" in result.err
    assert text in result.err

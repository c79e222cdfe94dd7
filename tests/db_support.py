"""PostgreSQL for the database engine's tests.

``pg``: the machine's PostgreSQL 15 on 127.0.0.1:5432 (trust auth for local logins), as
the superuser ``postgres``. Tests fail, never skip, without it; start it with
``pg_ctlcluster 15 main start`` (Debian) or ``service postgresql start``.

``pg_scram``: a throw-away cluster started for the session (per xdist worker): ``initdb``
with scram-sha-256 for every login, ``pg_ctl`` on a free loopback port, data in a temp
dir, stopped and deleted at the end. There a wrong password is refused, so a revoked or
rotated credential can be seen to fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import psycopg
import pytest

if TYPE_CHECKING:
    from tests.compat.conftest import Server as CompatServer

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ADMIN_PASSWORD = "admin-" + secrets.token_hex(8)


class Server(NamedTuple):
    host: str
    port: int
    admin: str
    password: str  # "" with trust auth
    dbname: str

    def url(self) -> str:
        """A connection_url with Vault's templates, for database/config."""
        return (f"postgresql://{{{{username}}}}:{{{{password}}}}@{self.host}:{self.port}/"
                f"{self.dbname}?sslmode=disable")

    def connect(self, user: str | None = None, password: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, dbname=self.dbname, user=user or self.admin,
            password=self.password if password is None else password,
            connect_timeout=5, autocommit=True,
        )

    def logs_in(self, user: str, password: str) -> bool:
        """Whether ``user`` can log in with ``password`` (meaningful where passwords are
        checked: the scram cluster)."""
        try:
            self.connect(user, password).close()
        except psycopg.OperationalError:
            return False
        return True

    def role_exists(self, name: str) -> bool:
        with self.connect() as db:
            return db.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() \
                is not None

    def valid_until(self, name: str) -> object:
        with self.connect() as db:
            row = db.execute("SELECT rolvaliduntil FROM pg_roles WHERE rolname = %s",
                             (name,)).fetchone()
            return None if row is None else row[0]

    def drop_roles(self, prefix: str) -> None:
        """Drop every role whose name starts with ``prefix`` (a test's leftovers)."""
        with self.connect() as db:
            names = [row[0] for row in db.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (prefix + "%",)
            )]
            for name in names:
                quoted = '"' + name.replace('"', '""') + '"'
                db.execute(f"DROP OWNED BY {quoted}".encode())
                db.execute(f"DROP ROLE IF EXISTS {quoted}".encode())


def unique(prefix: str = "t") -> str:
    """A name no other test (or xdist worker) uses."""
    return f"{prefix}{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def pg() -> Server:
    server = Server("127.0.0.1", 5432, "postgres", "", "test")
    try:
        server.connect().close()
    except psycopg.Error as error:
        pytest.fail(
            f"PostgreSQL on 127.0.0.1:5432 (database 'test', trust auth) is needed: {error}. "
            "Start it with `pg_ctlcluster 15 main start`.", pytrace=False,
        )
    return server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="session")
def pg_scram() -> Iterator[Server]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 server binaries are needed in {PG_BIN}", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="lambdavault-pg-"))
    data, pwfile = base / "data", base / "pw"
    pwfile.write_text(ADMIN_PASSWORD)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    port = _free_port()
    subprocess.run(_as_postgres([
        str(PG_BIN / "initdb"), "-D", str(data), "-U", "admin", f"--pwfile={pwfile}",
        "--auth=scram-sha-256", "-E", "UTF8",
    ]), check=True, capture_output=True)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    subprocess.run(_as_postgres([
        str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
        "-w", "start",
    ]), check=True, capture_output=True)
    try:
        yield Server("127.0.0.1", port, "admin", ADMIN_PASSWORD, "postgres")
    finally:
        subprocess.run(_as_postgres([
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop",
        ]), check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def lambdavault_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CompatServer]:
    """`lambdavault server -dev` for a compat module (beside conftest's openbao_dev)."""
    from tests.compat.conftest import ROOT_TOKEN, start_server, stop_server

    log = tmp_path_factory.mktemp("lambdavault-database") / "server.log"
    server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        yield server
    finally:
        stop_server(server)

"""connection_url as go-sql-driver's DSN: credentials filled in after the split (so a
password may hold '@', '/' or ':'), failover hosts, the parameters that matter here."""

from __future__ import annotations

import ssl

import pytest

from chalicelib.engines.database.plugin import PluginError
from chalicelib.engines.database.plugins.mysql.dsn import parse
from tests.mysql_redis_support import connection


def _parse(url: str, **fields: object):
    return parse(connection("c", url, **fields))


def test_a_templated_dsn_takes_the_configs_credentials() -> None:
    target = _parse(
        "{{username}}:{{password}}@tcp(db.example:3307)/app", username="vault", password="p@ss/w:d"
    )
    assert target.hosts == (("db.example", 3307),)
    assert (target.user, target.password, target.database) == ("vault", "p@ss/w:d", "app")
    assert target.unix_socket is None and target.tls is None
    assert target.connect_timeout == target.read_timeout == target.write_timeout == 10.0


def test_literal_credentials_default_port_and_failover_hosts() -> None:
    target = _parse("root:s3cret@tcp(a, b:3310,[::1]:3311)/")
    assert target.hosts == (("a", 3306), ("b", 3310), ("::1", 3311))
    assert (target.user, target.password) == ("root", "s3cret")
    assert _parse("/").hosts == (("127.0.0.1", 3306),)


def test_unix_socket_and_go_durations() -> None:
    target = _parse("u@unix(/run/mysqld/mysqld.sock)/db?timeout=1m30s&readTimeout=500ms")
    assert target.unix_socket == "/run/mysqld/mysqld.sock" and target.hosts == ()
    assert (target.connect_timeout, target.read_timeout, target.write_timeout) == (90, 0.5, 10)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("root:s3cret@tcp(h:1)", "missing the slash separating the database name"),
        ("root:s3cret@tcp(h:1/", "network address not terminated"),
        ("root:s3cret@udp(h)/", "unknown network udp"),
        ("root:s3cret@tcp(h:port)/", "invalid port"),
        ("root:s3cret@tcp(h)/?timeout=soon", "invalid duration"),
    ],
)
def test_a_bad_dsn_is_refused_without_repeating_it(url: str, message: str) -> None:
    with pytest.raises(PluginError) as caught:
        _parse(url)
    assert message in caught.value.message
    assert "s3cret" not in caught.value.message


def test_tls_from_the_dsn_and_the_config() -> None:
    assert isinstance(_parse("u@tcp(h)/?tls=true").tls, ssl.SSLContext)
    skip = _parse("u@tcp(h)/?tls=skip-verify").tls
    assert skip is not None and skip.verify_mode == ssl.CERT_NONE
    named = _parse("u@tcp(h)/", options={"tls_ca": "", "tls_server_name": "db", "tls": "true"})
    assert named.tls is None  # no CA, no certificate, no tls parameter: plain
    with pytest.raises(PluginError, match="failed to append CA"):
        _parse("u@tcp(h)/", options={"tls_ca": "not a certificate"})

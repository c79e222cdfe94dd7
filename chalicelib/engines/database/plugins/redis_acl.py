"""Redis (and Valkey) ACL users for the database engine, as OpenBao's
``redis-database-plugin`` (its valkey plugin under both names).

A user is ``ACL SETUSER <name> ON ><password> <rules…>``; the role's creation statement
is a JSON list of ACL rules (``["~*", "+@read"]``, the default), or, when the first
statement is not JSON, the statements themselves are the rules. ``ACL DELUSER`` revokes:
Redis then closes every connection authenticated as that user, so no ``CLIENT KILL`` is
needed. Redis users do not expire, so renewal does nothing. Config: ``host``, ``port``,
``username``, ``password``, ``tls``, ``insecure_tls``, ``ca_cert``, or ``connection_url``
(``redis://``, ``rediss://``, ``valkeys://`` for TLS) instead of the first four.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from chalicelib.engines.database.dial import dial_failure
from chalicelib.engines.database.plugin import Connection, NewUser, PluginError
from chalicelib.engines.database.pool import Driver, Pools
from chalicelib.generators.usernames import render_username

# OpenBao's credsutil name: v_<display name>_<role>_<20 random>_<unix time>, upper case.
DEFAULT_USERNAME_TEMPLATE = (
    '{{ printf "v_%s_%s_%s_%s" (.DisplayName | truncate 64) (.RoleName | truncate 64) '
    "(random 20) (unix_time) | truncate 100 | uppercase }}"
)
DEFAULT_RULES = ("~*", "+@read")
_TLS_SCHEMES = ("rediss", "valkeys")


class _Server(NamedTuple):
    host: str
    port: int
    username: str
    password: str
    tls: bool


def _true(value: Any) -> bool:
    return str(value).lower() in ("true", "1")


def _server(conn: Connection) -> _Server:
    """The config's address and credentials, checked with OpenBao's messages."""
    options = conn.options
    if conn.connection_url:
        if options.get("host") or options.get("port") or conn.username or conn.password:
            raise PluginError(
                "cannot specify both connection_url and individual connection parameters"
            )
        try:
            url = urlsplit(conn.connection_url)
            port = url.port or 6379
        except ValueError:
            raise PluginError("error parsing connection_url") from None
        return _Server(
            url.hostname or "", port, unquote(url.username or ""), unquote(url.password or ""),
            url.scheme in _TLS_SCHEMES or _true(options.get("tls")),
        )  # fmt: skip
    for field, value in (
        ("host", options.get("host")),
        ("port", options.get("port")),
        ("username", conn.username),
        ("password", conn.password),
    ):
        if not value:
            raise PluginError(f"{field} cannot be empty")
    try:
        port = int(options["port"])
    except ValueError:
        raise PluginError("port must be an integer") from None
    return _Server(options["host"], port, conn.username, conn.password, _true(options.get("tls")))


def _open(conn: Connection) -> redis.Redis:
    server = _server(conn)
    options: Mapping[str, Any] = conn.options
    tls: dict[str, Any] = {}
    if server.tls:
        if not options.get("ca_cert"):
            raise PluginError("ca_cert cannot be empty")
        insecure = _true(options.get("insecure_tls"))
        tls = {
            "ssl": True,
            "ssl_ca_data": options["ca_cert"],
            "ssl_cert_reqs": "none" if insecure else "required",
            "ssl_check_hostname": not insecure,
        }
    # One connection per client (the pool bounds them), made here; no retries, so a
    # dead server costs one timeout, not several.
    try:
        return redis.Redis(
            host=server.host, port=server.port, username=server.username,
            password=server.password, socket_connect_timeout=conn.timeout,
            socket_timeout=conn.timeout, single_connection_client=True,
            retry=Retry(NoBackoff(), 0), decode_responses=True, **tls,
        )  # fmt: skip
    except (redis.ConnectionError, redis.TimeoutError) as error:
        words = dial_failure(server.host, server.port, error)
        raise PluginError(words) if words else _failure(error, conn.password) from None


def _failure(error: BaseException, *secrets: str) -> PluginError:
    text = str(error) or type(error).__name__
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[password]")
    return PluginError(text)


def _rules(statements: Sequence[str]) -> list[str]:
    statements = [s.strip() for s in statements if s.strip()]
    if not statements:
        return list(DEFAULT_RULES)
    try:
        rules = json.loads(statements[0])
    except ValueError:
        return statements
    if not isinstance(rules, list) or not all(isinstance(rule, str) for rule in rules):
        raise PluginError("creation statements must be a JSON list of ACL rules")
    return rules


class RedisACL:
    """The plugin; one instance per container (plugins.plugin_for caches it)."""

    def __init__(self) -> None:
        self._pools: Pools[redis.Redis] = Pools(
            Driver(open=_open, close=redis.Redis.close, is_stale=_is_stale)
        )

    def _run(self, conn: Connection, *command: str, secret: str = "") -> Any:
        try:
            return self._pools.run(conn, lambda client: client.execute_command(*command))
        except redis.RedisError as error:
            raise _failure(error, conn.password, secret) from None

    def verify(self, conn: Connection) -> None:
        self._run(conn, "PING")

    def new_user(self, conn: Connection, user: NewUser) -> str:
        username = render_username(
            user.username_template or DEFAULT_USERNAME_TEMPLATE,
            display_name=user.display_name,
            role_name=user.role_name,
        )
        rules = _rules(user.creation_statements)
        self._run(
            conn, "ACL", "SETUSER", username, "ON", ">" + user.password, *rules,
            secret=user.password,
        )  # fmt: skip
        return username

    def update_password(
        self, conn: Connection, username: str, password: str, statements: tuple[str, ...]
    ) -> None:
        # SETUSER would create a missing user: OpenBao looks it up first.
        if self._run(conn, "ACL", "GETUSER", username) is None:
            raise PluginError(f"changeUserPassword for user {username} failed: user not found")
        self._run(conn, "ACL", "SETUSER", username, "RESETPASS", ">" + password, secret=password)

    def update_expiration(
        self, conn: Connection, username: str, expiration: datetime, statements: tuple[str, ...]
    ) -> None:
        """A no-op: Redis users do not expire."""

    def delete_user(self, conn: Connection, username: str, statements: tuple[str, ...]) -> None:
        self._run(conn, "ACL", "DELUSER", username)  # 0 for a user that is gone already

    def close(self, name: str) -> None:
        self._pools.close(name)


def _is_stale(error: BaseException) -> bool:
    # A reused connection the server closed (timeout, restart); a timeout is not retried.
    return isinstance(error, redis.ConnectionError) and not isinstance(error, redis.TimeoutError)


def plugin() -> RedisACL:
    return RedisACL()

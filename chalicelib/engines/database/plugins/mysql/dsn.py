"""A config's ``connection_url`` — a Go MySQL driver DSN, as Vault takes it — turned into
PyMySQL's connect arguments.

``[username[:password]@][protocol[(address)]]/dbname[?param=value&...]``: the last ``/``
ends the address, the last ``@`` before it ends the credentials, the first ``:`` in them
ends the username (go-sql-driver's ParseDSN). ``{{username}}``/``{{password}}`` are filled
in after the split, so a password may hold ``@``, ``/`` or ``:``. ``tcp(host1,host2)``
lists hosts to try in turn (OpenBao's failover). Of the driver's parameters, ``tls``,
``timeout``, ``readTimeout``, ``writeTimeout`` and ``charset`` are honoured; the others
tune the Go driver only and are ignored.
"""

from __future__ import annotations

import re
import ssl
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from chalicelib.engines.database.plugin import Connection, PluginError
from chalicelib.engines.database.plugins.mysql.tls import tls_context

DEFAULT_PORT = 3306
_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class Target(NamedTuple):
    """Where and how to connect: one entry of ``hosts`` after the other."""

    hosts: tuple[tuple[str, int], ...]  # empty with a unix socket
    unix_socket: str | None
    user: str
    password: str
    database: str
    charset: str
    connect_timeout: float
    read_timeout: float
    write_timeout: float
    tls: ssl.SSLContext | None

    def connect_args(self) -> dict[str, Any]:
        """PyMySQL's arguments, less ``host``/``port``. Autocommit stays on (the server's
        default: no ``SET autocommit`` round trip, no snapshot held between operations);
        each operation brings its own ``BEGIN``/``COMMIT``."""
        return {
            "user": self.user, "password": self.password, "database": self.database or None,
            "unix_socket": self.unix_socket, "charset": self.charset,
            "connect_timeout": self.connect_timeout, "read_timeout": self.read_timeout,
            "write_timeout": self.write_timeout, "ssl": self.tls, "autocommit": True,
        }  # fmt: skip


def _invalid(reason: str) -> PluginError:
    return PluginError(f"unable to parse connectionURL: invalid DSN: {reason}")


def _fill(text: str, conn: Connection) -> str:
    return text.replace("{{username}}", conn.username).replace("{{password}}", conn.password)


def _duration(text: str) -> float:
    """A Go duration ("5s", "1m30s", "500ms") in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise PluginError(f"invalid duration {text!r} in connection_url")
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _host_port(entry: str) -> tuple[str, int]:
    if entry.startswith("["):  # [IPv6]:port
        host, _, port = entry[1:].partition("]")
        port = port.removeprefix(":")
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    if port and not port.isdigit():
        raise PluginError(f"invalid port in connection_url address {entry!r}")
    return host or "127.0.0.1", int(port or DEFAULT_PORT)


def _hosts(address: str) -> tuple[tuple[str, int], ...]:
    hosts = tuple(_host_port(part.strip()) for part in address.split(",") if part.strip())
    if not hosts:
        raise PluginError("no valid hosts found in connection URL")
    return hosts


def parse(conn: Connection) -> Target:
    """The config's DSN with its credentials filled in; PluginError names what is wrong
    without repeating the URL (it may hold the password)."""
    dsn = conn.connection_url
    slash = dsn.rfind("/")
    if slash < 0:
        raise _invalid("missing the slash separating the database name")
    left, rest = dsn[:slash], dsn[slash + 1 :]
    database, _, query = rest.partition("?")
    at = left.rfind("@")
    credentials, address_part = (left[:at], left[at + 1 :]) if at >= 0 else ("", left)
    user, _, password = credentials.partition(":")
    protocol, _, address = address_part.partition("(")
    if address_part and not address.endswith(")") and "(" in address_part:
        raise _invalid("network address not terminated (missing closing brace)")
    address = address.removesuffix(")")
    params = dict(parse_qsl(query, keep_blank_values=True))
    timeout = conn.timeout
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "unix"):
        raise _invalid(f"unknown network {protocol}")
    return Target(
        hosts=() if protocol == "unix" else _hosts(address or f"127.0.0.1:{DEFAULT_PORT}"),
        unix_socket=(address or "/tmp/mysql.sock") if protocol == "unix" else None,  # noqa: S108
        user=_fill(user, conn),
        password=_fill(password, conn),
        database=database,
        charset=params.get("charset", "utf8mb4").split(",")[0],
        connect_timeout=_duration(params["timeout"]) if "timeout" in params else timeout,
        read_timeout=_duration(params["readTimeout"]) if "readTimeout" in params else timeout,
        write_timeout=_duration(params["writeTimeout"]) if "writeTimeout" in params else timeout,
        tls=tls_context(conn.options, params.get("tls", "")),
    )

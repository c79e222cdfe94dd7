"""One bounded conversation with the directory: connect (servers in order), bind, search.

OpenBao's ldaputil.Client.DialLDAP and the operations it runs, on ldap3. Every socket wait
is bounded twice: by the configured connection or request timeout, and by what is left of
the login's budget, which stays under API Gateway's 29 s so a dead or silent server gives
a clear 400 rather than a gateway timeout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from chalicelib.auth.ldap.tlsconfig import tls_for
from chalicelib.core.errors import BadRequest, multierrors

if TYPE_CHECKING:
    from ldap3 import Connection

    from chalicelib.auth.ldap.config import LdapConfig

# What one login (or renewal) may spend talking to the directory, all servers included.
LOGIN_BUDGET = 20.0
_DEFAULT_PORTS = {"ldap": 389, "ldaps": 636}


class DirectoryError(BadRequest):
    """The directory could not be reached or refused an operation (never a secret inside)."""


class Entry(NamedTuple):
    dn: str
    attributes: dict[str, list[str]]


class Deadline:
    """The time left of a budget, as socket timeouts."""

    def __init__(self) -> None:
        self._end = time.monotonic() + LOGIN_BUDGET

    def timeout(self, configured: int) -> float:
        """The configured timeout (0: none) cut to what is left; DirectoryError when spent."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise DirectoryError("ldap operation failed: time budget for the directory spent")
        return min(float(configured), left) if configured > 0 else left


class Directory:
    """An open connection to the first server of ``url`` that answered."""

    def __init__(self, config: LdapConfig, connection: Connection, deadline: Deadline) -> None:
        self._config = config
        self._connection = connection
        self._deadline = deadline

    def _bounded(self) -> Connection:
        """The connection, its next wait cut to the request timeout and the budget left."""
        socket = self._connection.socket
        if socket is None:  # ldap3 drops the socket after a network error
            raise DirectoryError("ldap operation failed: the connection was closed")
        socket.settimeout(self._deadline.timeout(self._config.request_timeout))
        return self._connection

    def bind(self, dn: str, password: str) -> bool:
        """A simple bind as ``dn`` (anonymous without a password); False when the directory
        refuses it. ldap3's rebind cannot go back to anonymous, so the fields are set here."""
        from ldap3 import ANONYMOUS, SIMPLE

        connection = self._bounded()
        # As bytes: sent as typed, as Vault does, rather than SASLprep-normalised by ldap3.
        secret = password.encode() if password else None
        connection.user, connection.password = (dn, secret) if secret else (None, None)
        connection.authentication = SIMPLE if password else ANONYMOUS
        with _reported():
            return bool(connection.bind(read_server_info=False))

    def search(
        self, base: str, query: str, attributes: Sequence[str], *, scope: str = "SUBTREE",
        size_limit: int = 0,
    ) -> list[Entry]:  # fmt: skip
        """Entries under ``base`` matching ``query`` (paged when max_page_size is set)."""
        from ldap3 import BASE, SUBTREE

        connection = self._bounded()
        found: list[Entry] = []
        with _reported():
            kwargs: dict[str, Any] = {
                "search_scope": BASE if scope == "BASE" else SUBTREE,
                "attributes": list(attributes),
                "dereference_aliases": _DEREF[self._config.dereference_aliases],
                "size_limit": size_limit,
            }
            if self._config.max_page_size > 0:
                kwargs["paged_size"] = self._config.max_page_size
            cookie: bytes | None = None
            while True:
                if cookie:
                    self._bounded()
                    kwargs["paged_cookie"] = cookie
                connection.search(base, query, **kwargs)
                result = connection.result or {}
                # success, sizeLimitExceeded (entries up to the limit), noSuchObject (none)
                if result.get("result", 0) not in (0, 4, 32):
                    raise DirectoryError(f"LDAP search failed: {_describe(result)}")
                found.extend(_entries(connection.response or []))
                cookie = _next_cookie(result)
                if not cookie or (size_limit and len(found) >= size_limit):
                    return found

    def close(self) -> None:
        _discard(self._connection)


_DEREF = {"never": "NEVER", "finding": "FINDING_BASE", "searching": "SEARCH", "always": "ALWAYS"}


@contextmanager
def connect(config: LdapConfig, deadline: Deadline) -> Iterator[Directory]:
    """The first server of the comma-separated ``url`` that accepts a connection (and
    StartTLS when asked); 400 with every server's failure when none does."""
    failures: list[str] = []
    for url in config.url.split(","):
        with ExitStack() as stack:
            try:
                connection = _open(config, url, deadline, stack)
            except _Unusable as failure:
                failures.append(str(failure))
                continue
            directory = Directory(config, connection, deadline)
            try:
                yield directory
            finally:
                directory.close()
            return
    raise DirectoryError(multierrors(failures))


class _Unusable(Exception):
    """One server that could not be used; the message names the URL, never a secret."""


def _open(config: LdapConfig, url: str, deadline: Deadline, stack: ExitStack) -> Connection:
    from ldap3 import NONE, Connection, Server
    from ldap3.core.exceptions import LDAPException

    parts = urlsplit(url.strip())
    try:
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise _Unusable(f'error parsing url "{url}"') from None
    if parts.scheme not in _DEFAULT_PORTS:
        raise _Unusable(f'invalid LDAP scheme in url "{host}:{port or ""}"')
    port = port or _DEFAULT_PORTS[parts.scheme]
    timeout = deadline.timeout(config.connection_timeout)
    try:
        tls = stack.enter_context(tls_for(config, host)) if (
            parts.scheme == "ldaps" or config.starttls
        ) else None  # fmt: skip
        server = Server(
            host, port=port, use_ssl=parts.scheme == "ldaps", tls=tls, get_info=NONE,
            connect_timeout=timeout,
        )  # fmt: skip
        # ldap3 packs the receive timeout into a C struct of whole seconds.
        connection = Connection(
            server, receive_timeout=max(1, int(timeout)), raise_exceptions=False,
            auto_referrals=False,
        )  # fmt: skip
    except (LDAPException, OSError) as exc:
        raise _Unusable(f'error connecting to host "{url}": {_reason(exc)}') from None
    try:
        connection.open(read_server_info=False)
        if config.starttls and parts.scheme == "ldap":
            connection.socket.settimeout(deadline.timeout(config.request_timeout))
            if not connection.start_tls(read_server_info=False):
                raise LDAPException("StartTLS refused")
    except (LDAPException, OSError) as exc:
        _discard(connection)
        raise _Unusable(f'error connecting to host "{url}": {_reason(exc)}') from None
    return connection


def _discard(connection: Connection) -> None:
    """Close a connection that failed half-way (its socket may be open, or wrapped)."""
    with suppress(Exception):
        connection.unbind()
    if connection.socket is not None:
        with suppress(OSError):
            connection.socket.close()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    # ldap3 appends the whole peer certificate to a name mismatch; its first words suffice.
    if text.startswith("certificate ") and "doesn't match" in text:
        return "certificate does not match the host name"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextmanager
def _reported() -> Iterator[None]:
    """Socket and protocol failures mid-conversation as a DirectoryError."""
    from ldap3.core.exceptions import LDAPException

    try:
        yield
    except (LDAPException, OSError) as exc:
        raise DirectoryError(f"ldap operation failed: {_reason(exc)}") from None


def _describe(result: dict[str, Any]) -> str:
    return str(result.get("description") or result.get("message") or "unknown error")


def _entries(response: list[dict[str, Any]]) -> list[Entry]:
    entries = []
    for item in response:
        if item.get("type") != "searchResEntry":
            continue  # referrals are not followed
        attributes = {
            name.lower(): [_text(v) for v in (values if isinstance(values, list) else [values])]
            for name, values in (item.get("raw_attributes") or {}).items()
        }
        entries.append(Entry(item.get("dn", ""), attributes))
    return entries


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _next_cookie(result: dict[str, Any]) -> bytes | None:
    control = (result.get("controls") or {}).get("1.2.840.113556.1.4.319")
    return (control or {}).get("value", {}).get("cookie") or None

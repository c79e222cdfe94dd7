"""Challenge validation (RFC 8555 sections 8.3 and 8.4, RFC 8737), inside the request that
answers the challenge and bounded in time: API Gateway stops waiting after 29 s. Names are
looked up through config/acme's dns_resolver when one is set (as OpenBao), else the
system's resolver.

The validator connects only to addresses it resolved and checked itself (no second
lookup a DNS rebinding could change). Loopback, link-local, unspecified and multicast
addresses are refused: loopback is where a Lambda's own runtime API listens. The dev
server (LAMBDAVAULT_DEV) allows loopback and may move the ports off 80 and 443."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from cryptography import x509

from chalicelib.engines.pki.acme.jws import b64encode
from chalicelib.engines.pki.acme.problems import AcmeProblem
from chalicelib.settings import settings

# Each challenge gets this long in all (resolution, connection, reading, one retry).
BUDGET_SECONDS = 10.0
RETRY_PAUSE_SECONDS = 1.0
_MAX_BODY = 4096
_MAX_REDIRECTS = 10
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ALPN = "acme-tls/1"
_ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")  # id-pe-acmeIdentifier
# The DER OCTET STRING header of a SHA-256 digest: tag 4, length 32.
_DIGEST_HEADER = b"\x04\x20"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Target(NamedTuple):
    """What is validated: the identifier (dns names without a wildcard's "*.") and the
    resolver to look it up with ("" or config/acme's ``ip:port``)."""

    kind: str
    value: str
    resolver: str = ""


def key_authorization(token: str, thumbprint: str) -> str:
    return f"{token}.{thumbprint}"


def _allowed(address: Address) -> bool:
    if address.is_loopback:
        return settings().dev_mode
    return not (address.is_link_local or address.is_unspecified or address.is_multicast)


def _resolver(address: str, timeout: float) -> Any:
    import dns.resolver  # imported on first use: dnspython costs a cold container ~50 ms

    if not address:
        resolver = dns.resolver.Resolver()
    else:
        host, _, port = address.rpartition(":")
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host.strip("[]")]
        resolver.port = int(port)
    resolver.lifetime = timeout
    return resolver


def _lookup(target: Target, record: str, timeout: float) -> list[str]:
    """The records of one type for a name; [] when the name has none."""
    import dns.exception
    import dns.resolver

    try:
        answer = _resolver(target.resolver, timeout).resolve(target.value, record)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        raise AcmeProblem("dns", f"failed to look up {record} records for {target.value}: "
                          f"{error}") from None
    if record == "TXT":
        return [b"".join(item.strings).decode("utf-8", "replace") for item in answer]
    return [item.to_text() for item in answer]


def resolve(target: Target, timeout: float) -> list[Address]:
    """The identifier's addresses that the validator may connect to."""
    value = target.value
    if target.kind == "ip":
        found = [ipaddress.ip_address(value)]
    elif value == "localhost" or value.endswith(".localhost"):
        # RFC 6761 section 6.3: loopback by definition, whatever the resolver says (glibc
        # knows only "localhost" itself); allowed in dev mode only, like any loopback.
        found = [ipaddress.ip_address("127.0.0.1")]
    elif target.resolver:
        texts = _lookup(target, "A", timeout / 2) + _lookup(target, "AAAA", timeout / 2)
        found = [ipaddress.ip_address(text) for text in texts]
    else:
        try:
            infos = socket.getaddrinfo(value, None, type=socket.SOCK_STREAM)
        except OSError as error:
            raise AcmeProblem("dns", f"failed to resolve {value}: {error}") from None
        found = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    allowed = [address for address in found if _allowed(address)]
    if not allowed:
        raise AcmeProblem("connection", f"{value} resolves to no address the server may "
                          "validate against")
    return allowed


def _get(address: Address, port: int, url: str, deadline: float) -> tuple[int, str, bytes]:
    """GET ``url`` from ``address`` (the TLS name and Host header from the URL): status,
    Location and at most _MAX_BODY bytes of body, read against the deadline so a
    responder dripping bytes cannot hold the request past its budget."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    timeout = max(deadline - time.monotonic(), 0.1)
    sock = socket.create_connection((str(address), port), timeout=timeout)
    if parts.scheme == "https":
        # RFC 8555 section 8.3: the validator does not check the server's certificate.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=None if _is_ip(host) else host)
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.sock = sock
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers={"Host": parts.netloc, "User-Agent": "lambdavault-acme"})
        response = connection.getresponse()
        body = b""
        while len(body) < _MAX_BODY and time.monotonic() < deadline:
            chunk = response.read1(_MAX_BODY - len(body))
            if not chunk:
                break
            body += chunk
    finally:
        connection.close()
    return response.status, response.getheader("Location", ""), body


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _redirect(target: Target, url: str, location: str) -> tuple[Target, int, str]:
    """Where a redirect leads: http or https, on 80 or 443 outside dev mode (as RFC 8555
    section 8.3 allows), to a name checked like the identifier itself."""
    following = urljoin(url, location)
    parts = urlsplit(following)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AcmeProblem("incorrectResponse", f"http-01: redirect to {following} refused")
    port = parts.port or (80 if parts.scheme == "http" else 443)
    if not settings().dev_mode and port not in (80, 443):
        raise AcmeProblem("incorrectResponse", f"http-01: redirect to port {port} refused")
    kind = "ip" if _is_ip(parts.hostname) else "dns"
    return target._replace(kind=kind, value=parts.hostname), port, following


def http01(target: Target, token: str, expected: str) -> None:
    """GET http://<identifier>/.well-known/acme-challenge/<token> answers the key
    authorization (trailing whitespace allowed), following up to ten redirects, as
    RFC 8555 section 8.3 and OpenBao."""
    value = target.value
    host = f"[{value}]" if ":" in value else value
    start = f"http://{host}/.well-known/acme-challenge/{token}"

    def attempt(address: Address, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        status, location, body = _get(address, settings().acme_http01_port, start, deadline)
        url = start
        for _ in range(_MAX_REDIRECTS):
            if status not in _REDIRECTS:
                break
            hop, port, url = _redirect(target, url, location)
            remaining = deadline - time.monotonic()
            status, location, body = _get(resolve(hop, remaining / 2)[0], port, url, deadline)
        if status in _REDIRECTS:
            raise AcmeProblem("incorrectResponse", f"http-01: too many redirects for {value}")
        if status != 200:
            raise AcmeProblem("incorrectResponse", f"http-01 challenge for {value} answered "
                              f"HTTP {status}")
        if body.decode("utf-8", "replace").rstrip() != expected:
            raise AcmeProblem("incorrectResponse", f"http-01 challenge for {value} answered "
                              "another key authorization")

    _validate(target, attempt)


def tls_alpn01(target: Target, _token: str, expected: str) -> None:
    """RFC 8737: a TLS handshake offering only acme-tls/1, for the identifier's SNI,
    presents a certificate for exactly that name whose critical acmeIdentifier extension
    holds the SHA-256 of the key authorization."""
    port = settings().acme_tls_alpn01_port
    kind, value = target.kind, target.value
    digest = hashlib.sha256(expected.encode()).digest()

    def attempt(address: Address, timeout: float) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the certificate is self-signed by design
        context.set_alpn_protocols([_ALPN])
        with socket.create_connection((str(address), port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=value if kind == "dns" else None) \
                as tls:
            negotiated = tls.selected_alpn_protocol()
            der = tls.getpeercert(binary_form=True)
        if negotiated != _ALPN or der is None:
            raise AcmeProblem("tls", f"tls-alpn-01 challenge for {value}: the server did not "
                              "negotiate acme-tls/1")
        _check_certificate(x509.load_der_x509_certificate(der), kind, value, digest)

    _validate(target, attempt)


def _check_certificate(cert: x509.Certificate, kind: str, value: str, digest: bytes) -> None:
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        extension = cert.extensions.get_extension_for_oid(_ACME_IDENTIFIER)
    except x509.ExtensionNotFound:
        raise AcmeProblem("incorrectResponse", f"tls-alpn-01 certificate for {value} lacks "
                          "its subjectAltName or acmeIdentifier") from None
    wanted: list[object] = (
        [value] if kind == "dns" else [ipaddress.ip_address(value)])
    found = (names.get_values_for_type(x509.DNSName) if kind == "dns"
             else names.get_values_for_type(x509.IPAddress))
    if found != wanted or len(list(names)) != 1:
        raise AcmeProblem("incorrectResponse", f"tls-alpn-01 certificate is not for exactly "
                          f"{value}")
    raw = extension.value.value if isinstance(extension.value,
                                              x509.UnrecognizedExtension) else b""
    if not extension.critical or raw != _DIGEST_HEADER + digest:
        raise AcmeProblem("incorrectResponse", f"tls-alpn-01 certificate for {value} holds "
                          "another key authorization")


def dns01(target: Target, _token: str, expected: str) -> None:
    """A TXT record at _acme-challenge.<name> holds base64url(SHA-256(key authorization))."""
    wanted = b64encode(hashlib.sha256(expected.encode()).digest())
    name = f"_acme-challenge.{target.value}"
    records = _lookup(target._replace(value=name), "TXT", BUDGET_SECONDS)
    if wanted not in records:
        raise AcmeProblem("incorrectResponse", f"dns-01: challenge failed against "
                          f"{len(records)} records")


def _validate(target: Target, attempt: Callable[[Address, float], None]) -> None:
    """Try each allowed address; a connection failure is retried once within the budget,
    a wrong answer is final."""
    deadline = time.monotonic() + BUDGET_SECONDS
    value = target.value
    addresses = resolve(target, BUDGET_SECONDS / 3)
    last: AcmeProblem | None = None
    for round_number in range(2):
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                attempt(address, remaining)
                return
            except ssl.SSLError as error:
                last = AcmeProblem("tls", f"TLS error validating {value}: {error.reason}")
            except OSError as error:
                last = AcmeProblem("connection", f"could not connect to {value} "
                                   f"({address}): {error.strerror or error}")
        if round_number == 0 and deadline - time.monotonic() > RETRY_PAUSE_SECONDS:
            time.sleep(RETRY_PAUSE_SECONDS)
    raise last or AcmeProblem("connection", f"validation of {value} ran out of time")


VALIDATORS: dict[str, Callable[[Target, str, str], None]] = {
    "http-01": http01,
    "tls-alpn-01": tls_alpn01,
    "dns-01": dns01,
}

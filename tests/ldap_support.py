"""A real OpenLDAP directory for the ldap auth method's tests (Debian's slapd).

One slapd per test process (pytest-xdist workers each start their own) on free loopback
ports, plain LDAP with StartTLS and LDAPS, certificates from a test CA, an mdb database
in a temporary folder, seeded with users and groups of every kind the method reads:
groupOfNames (member), groupOfUniqueNames (uniqueMember), posixGroup (memberUid) and the
memberOf overlay. Registered as a plugin in tests/conftest.py; `scripts/test-deps.sh`
installs slapd.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import free_port

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
USERS_DN = f"ou=users,{SUFFIX}"
GROUPS_DN = f"ou=groups,{SUFFIX}"
# cn -> password; "dave, jr" needs RFC 4514 escaping in a DN; erin's password changes
# under SASLprep (NFKC), so it only works when sent as typed.
USERS = {
    "alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave, jr": "dave-pw",
    "erin": "pässwörd-½",
}  # fmt: skip
UPN_DOMAIN = "example.org"
SLAPD = "/usr/sbin/slapd"
# OpenBao 2.7 dropped the LDAP auth method: compat tests compare with 2.6.2's server.
OPENBAO_262 = Path(sys.executable).parent.parent / "opt" / "openbao-2.6.2" / "bao"
_SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
# AD's userPrincipalName (its OID), matchable: Debian's msuser.schema gives it no EQUALITY.
_UPN_SCHEMA = """attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
    EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
"""


def user_dn(name: str) -> str:
    from ldap3.utils.dn import escape_rdn

    return f"cn={escape_rdn(name)},{USERS_DN}"


# (cn, objectClass, membership attribute, members); members are user names.
GROUPS = (
    ("engineers", "groupOfNames", "member", ("alice", "bob")),
    ("admins", "groupOfUniqueNames", "uniqueMember", ("alice",)),
    ("ops", "posixGroup", "memberUid", ("bob",)),
    ("Devs", "groupOfNames", "member", ("dave, jr",)),
)


@dataclass
class Directory:
    """A running slapd: its URLs, its CA, and the auth/ldap/config that fits it."""

    url: str
    ldaps_url: str
    ca_pem: str
    client_cert_pem: str
    client_key_pem: str
    process: subprocess.Popen[bytes]

    def config(self, **overrides: Any) -> dict[str, Any]:
        """A search-then-bind config with the admin as the search identity."""
        return {
            "url": self.url,
            "binddn": ADMIN_DN,
            "bindpass": ADMIN_PASSWORD,
            "userdn": USERS_DN,
            "userattr": "cn",
            "groupdn": GROUPS_DN,
            **overrides,
        }

    def admin(self) -> Any:
        """An ldap3 connection bound as the directory's admin (to change the directory)."""
        from ldap3 import Connection, Server

        host, port = self.url.removeprefix("ldap://").split(":")
        return Connection(
            Server(host, int(port)), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, receive_timeout=5
        )


@contextmanager
def silent_server() -> Iterator[str]:
    """An ldap:// URL whose socket accepts connections (the kernel completes them from the
    backlog) and never answers a byte: a hung directory."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"ldap://127.0.0.1:{sock.getsockname()[1]}"


def closed_url() -> str:
    """An ldap:// URL nothing listens on."""
    return f"ldap://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """One seeded slapd for this test process, stopped at the end."""
    if not Path(SLAPD).exists():
        pytest.fail("slapd is not installed: run scripts/test-deps.sh (as root, or with sudo)")
    directory = start_slapd(tmp_path_factory.mktemp("slapd"))
    try:
        seed(directory)
        yield directory
    finally:
        directory.process.terminate()
        try:
            directory.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            directory.process.kill()


@pytest.fixture(scope="module")
def openbao_ldap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real OpenBao 2.6.2 dev server for the module (the reference for ldap answers)."""
    from tests.compat.conftest import start_openbao, stop_server

    if not OPENBAO_262.exists():
        pytest.fail(f"{OPENBAO_262} is missing: run scripts/test-deps.sh")
    server = start_openbao(tmp_path_factory.mktemp("openbao-262"), binary=OPENBAO_262)
    try:
        yield server
    finally:
        stop_server(server)


def start_slapd(home: Path) -> Directory:
    pki = _pki(home)
    (home / "data").mkdir()
    conf = home / "slapd.conf"
    conf.write_text(_slapd_conf(home))
    port, tls_port = free_port(), free_port()
    url, ldaps_url = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"
    # Any -d keeps slapd in the foreground, owned by this process.
    with (home / "slapd.log").open("wb") as log:
        process = subprocess.Popen(
            [SLAPD, "-f", str(conf), "-h", f"{url}/ {ldaps_url}/", "-d", "0"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    directory = Directory(url, ldaps_url, *pki, process=process)
    _wait_ready(directory, home / "slapd.log")
    return directory


def _slapd_conf(home: Path) -> str:
    schemas = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in _SCHEMAS)
    (home / "upn.schema").write_text(_UPN_SCHEMA)
    return f"""{schemas}include {home}/upn.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {home}/slapd.pid
TLSCACertificateFile {home}/ca.pem
TLSCertificateFile {home}/server.pem
TLSCertificateKeyFile {home}/server.key

database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {home}/data
overlay memberof
access to attrs=userPassword by anonymous auth by self read by * none
access to * by * read
"""


def _wait_ready(directory: Directory, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if directory.process.poll() is not None:
            pytest.fail(f"slapd exited: {log.read_text()}")
        try:
            directory.admin().unbind()
            return
        except Exception:  # not listening yet
            time.sleep(0.05)
    pytest.fail(f"slapd did not start in 15 s: {log.read_text()}")


def seed(directory: Directory) -> None:
    admin = directory.admin()
    entries: list[tuple[str, list[str], dict[str, Any]]] = [
        (SUFFIX, ["dcObject", "organization"], {"o": "example", "dc": "example"}),
        (USERS_DN, ["organizationalUnit"], {"ou": "users"}),
        (GROUPS_DN, ["organizationalUnit"], {"ou": "groups"}),
    ]
    for number, (name, password) in enumerate(USERS.items()):
        # extensibleObject lets an inetOrgPerson carry AD's userPrincipalName.
        entries.append((user_dn(name), ["inetOrgPerson", "extensibleObject"], {
            "cn": name, "sn": name, "uid": f"user{number}", "userPassword": password,
            "userPrincipalName": f"{name.replace(', ', '.')}@{UPN_DOMAIN}",
        }))  # fmt: skip
    for name, kind, attribute, members in GROUPS:
        values = [user_dn(m) if attribute != "memberUid" else m for m in members]
        extra = {"gidNumber": 1000} if kind == "posixGroup" else {}
        entries.append((f"cn={name},{GROUPS_DN}", [kind], {"cn": name, attribute: values, **extra}))
    for dn, classes, attributes in entries:
        if not admin.add(dn, classes, attributes):
            raise RuntimeError(f"seeding {dn} failed: {admin.result}")
    admin.unbind()


def _pki(home: Path) -> tuple[str, str, str]:
    """A CA, the server's certificate for 127.0.0.1/localhost, and a client pair; the
    server's files are written for slapd. Returns (CA PEM, client cert PEM, client key PEM)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lambdavault test CA")])
    ca = _certificate(ca_name, ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), server_key,
        ca_name, ca_key, san=[x509.DNSName("localhost"),
                              x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
    )  # fmt: skip
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vault")]), client_key, ca_name, ca_key
    )
    (home / "ca.pem").write_bytes(_pem(ca))
    (home / "server.pem").write_bytes(_pem(server))
    (home / "server.key").write_bytes(_key_pem(server_key))
    return _pem(ca).decode(), _pem(client).decode(), _key_pem(client_key).decode()


def _certificate(
    subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False,
    san: list[x509.GeneralName] | None = None,
) -> x509.Certificate:  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip

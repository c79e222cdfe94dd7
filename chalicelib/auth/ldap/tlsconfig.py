"""TLS towards the directory: the CA to trust, the TLS versions, an optional client pair.

OpenBao's getTLSConfig. The client certificate and key reach ldap3 (which loads them from
files only) through a private temporary directory that lives for one connection attempt.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.core.errors import BadRequest

if TYPE_CHECKING:
    from ldap3 import Tls

    from chalicelib.auth.ldap.config import LdapConfig

# ssl options that keep a handshake within [tls_min_version, tls_max_version].
_BELOW = {
    "tls10": (),
    "tls11": (ssl.OP_NO_TLSv1,),
    "tls12": (ssl.OP_NO_TLSv1, ssl.OP_NO_TLSv1_1),
    "tls13": (ssl.OP_NO_TLSv1, ssl.OP_NO_TLSv1_1, ssl.OP_NO_TLSv1_2),
}
_ABOVE = {
    "tls10": (ssl.OP_NO_TLSv1_1, ssl.OP_NO_TLSv1_2, ssl.OP_NO_TLSv1_3),
    "tls11": (ssl.OP_NO_TLSv1_2, ssl.OP_NO_TLSv1_3),
    "tls12": (ssl.OP_NO_TLSv1_3,),
    "tls13": (),
}


def check_certificate(pem: str) -> None:
    """400 with OpenBao's text unless ``pem`` holds an X.509 certificate."""
    try:
        x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise BadRequest(
            "failed to parse server tls cert: failed to decode PEM block in the certificate"
        ) from None


def check_client_pair(cert: str, key: str) -> None:
    """Both or neither; the key must belong to the certificate."""
    if bool(cert) != bool(key):
        raise BadRequest("both client_tls_cert and client_tls_key must be set")
    if not cert:
        return
    try:
        public = x509.load_pem_x509_certificate(cert.encode()).public_key()
        private = serialization.load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        raise BadRequest("failed to parse client X509 key pair") from None
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if public.public_bytes(*raw) != private.public_key().public_bytes(*raw):
        raise BadRequest("failed to parse client X509 key pair: private key does not match")


@contextmanager
def tls_for(config: LdapConfig, host: str) -> Iterator[Tls]:
    """The ldap3 TLS settings for one connection attempt to ``host``."""
    from ldap3 import Tls

    options = [*_BELOW[config.tls_min_version], *_ABOVE[config.tls_max_version]]
    verify = ssl.CERT_NONE if config.insecure_tls else ssl.CERT_REQUIRED
    with _client_files(config) as (cert_file, key_file):
        yield Tls(
            validate=verify,
            ca_certs_data=config.certificate or None,
            ssl_options=options,
            local_certificate_file=cert_file,
            local_private_key_file=key_file,
            valid_names=[host],
            sni=host,
        )


@contextmanager
def _client_files(config: LdapConfig) -> Iterator[tuple[str | None, str | None]]:
    if not config.client_tls_cert:
        yield None, None
        return
    with tempfile.TemporaryDirectory(prefix="ldap-client-") as folder:  # mode 0700
        paths = []
        for name, pem in (("cert.pem", config.client_tls_cert), ("key.pem", config.client_tls_key)):
            path = os.path.join(folder, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as sink:
                sink.write(pem)
            paths.append(path)
        yield paths[0], paths[1]

"""TLS settings of a mysql config turned into an SSLContext (this machine's MariaDB has
no TLS, so the handshake itself is not exercised here)."""

from __future__ import annotations

import datetime
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chalicelib.engines.database.plugin import PluginError
from chalicelib.engines.database.plugins.mysql.tls import tls_context


def self_signed() -> tuple[str, str]:
    """(certificate PEM, private key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "db.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


def test_no_tls_settings_mean_a_plain_connection() -> None:
    assert tls_context({}, "") is None
    assert tls_context({}, "false") is None


def test_ca_client_certificate_and_server_name() -> None:
    cert, key = self_signed()
    context = tls_context(
        {"tls_ca": cert, "tls_certificate_key": cert + key, "tls_server_name": "db.example"}, ""
    )
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.get_ca_certs()[0]["subject"] == ((("commonName", "db.example"),),)
    assert getattr(context, "server_name", "") == "db.example"


def test_skip_verify_from_the_config_or_the_dsn() -> None:
    cert, _ = self_signed()
    for options, mode in (({"tls_ca": cert, "tls_skip_verify": "true"}, ""), ({}, "skip-verify")):
        context = tls_context(options, mode)
        assert context is not None and context.verify_mode == ssl.CERT_NONE


def test_a_bad_client_certificate_is_refused_without_echoing_it() -> None:
    with pytest.raises(PluginError) as caught:
        tls_context({"tls_certificate_key": "-----BEGIN PRIVATE KEY-----\nsecret"}, "")
    assert caught.value.message == "unable to load tls_certificate_key_data"

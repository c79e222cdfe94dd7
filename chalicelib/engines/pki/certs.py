"""Issued certificates: stored one item per serial, and rendered in the formats the API
offers (pem, der, pem_bundle; private keys as DER/PKCS#1-SEC1 or PKCS#8)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.keytypes import key_type_of, private_key_der_or_pem, private_key_pem
from chalicelib.engines.pki.x509build import serial_text, to_der, to_pem

if TYPE_CHECKING:
    from chalicelib.engines.pki.keytypes import PrivateKey
    from chalicelib.storage.view import StorageView

FORMATS = ("pem", "der", "pem_bundle")
BAD_FORMAT = 'the "format" path parameter must be "pem", "der", or "pem_bundle"'


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise BadRequest(BAD_FORMAT)
    return value


def store_certificate(view: StorageView, cert: x509.Certificate, issuer_id: str) -> None:
    """``certs/<serial>``: one item per certificate, written once (expected version 0).
    The issuer and expiry ride along for revocation, CRLs and tidy (no certificate parse)."""
    view.put_json(
        st.CERTS_PREFIX + st.normalize_serial(serial_text(cert)),
        {"certificate": to_pem(cert), "issuer_id": issuer_id,
         "expiration": int(cert.not_valid_after_utc.timestamp())},
        expected_version=0,
    )


def read_certificate(view: StorageView, serial: str) -> str | None:
    raw = view.get_json(st.CERTS_PREFIX + st.normalize_serial(serial))
    return None if raw is None else str(raw["certificate"])


def encode(cert: x509.Certificate, fmt: str) -> str:
    return base64.b64encode(to_der(cert)).decode() if fmt == "der" else to_pem(cert)


def encode_pem_text(pem: str, fmt: str) -> str:
    """A stored PEM (chain entry) in the requested format, without the final newline."""
    if fmt != "der":
        return pem.strip()
    return base64.b64encode(to_der(x509.load_pem_x509_certificate(pem.encode()))).decode()


def key_fields(key: PrivateKey, fmt: str, private_key_format: str) -> dict[str, Any]:
    """private_key and private_key_type, as an ``exported`` generation or an issue shows."""
    pkcs8 = private_key_format == "pkcs8"
    if fmt == "der":
        raw = private_key_der_or_pem(key, serialization.Encoding.DER, pkcs8=pkcs8)
        value = base64.b64encode(raw).decode()
    else:
        value = private_key_pem(key, pkcs8=pkcs8)
    return {"private_key": value, "private_key_type": key_type_of(key)}

"""Self-signed CA material for the pki unit tests."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509

from chalicelib.engines.pki.keytypes import KeySpec, generate
from chalicelib.engines.pki.validity import now
from chalicelib.engines.pki.x509build import Params, build_certificate


def self_signed(name: str) -> tuple[x509.Certificate, Any]:
    """A one-day EC P-256 CA certificate and its key."""
    key = generate(KeySpec("ec", 256, 0))
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    start = now()
    params = Params(subject, start, start + datetime.timedelta(days=1), is_ca=True)
    return build_certificate(params, key.public_key(), key, None), key

"""The "pki" secret type: certificates issued under a role with generate_lease=true, as
OpenBao's secret_certs.go. Revoking the lease revokes the certificate (it reaches the next
CRL and OCSP answers revoked); a certificate gone from storage, or a CA certificate,
counts as revoked. There is no renew callback: OpenBao's leases on certificates are not
renewable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509

from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki import revocation
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.x509build import load_pem, serial_text
from chalicelib.leases.secret import LeaseInfo, Secret, SecretType

if TYPE_CHECKING:
    from datetime import datetime

    from chalicelib.storage.view import StorageView

SECRET_TYPE = "pki"  # noqa: S105 - a type name, not a secret


def lease_for(cert: x509.Certificate, now: datetime) -> Secret:
    """The lease of a certificate: until it expires (OpenBao's TTL is NotAfter - now)."""
    ttl = max(1, int((cert.not_valid_after_utc - now).total_seconds()))
    return Secret(type=SECRET_TYPE, internal={"serial_number": serial_text(cert)}, ttl=ttl,
                  max_ttl=ttl, renewable=False)


def revoke_cert(view: StorageView, lease: LeaseInfo) -> None:
    serial = lease.internal.get("serial_number")
    if not isinstance(serial, str) or not serial:
        raise BadRequest("could not find serial in internal secret data")
    stored = view.get_json(st.CERTS_PREFIX + st.normalize_serial(serial))
    if stored is None:
        return
    cert = load_pem(stored["certificate"])
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        revocation.revoke_certificate(view, cert, issuer_id=str(stored.get("issuer_id", "")))


CERTS = SecretType(name=SECRET_TYPE, revoke=revoke_cert)

"""``revoke-cert`` (RFC 8555 section 7.6), as OpenBao's path_acme_revoke.go: signed by
the account the certificate was issued to, or by the certificate's own key; revoked
through the mount's revocation code, so CRL and OCSP agree."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.acme import jws, state
from chalicelib.engines.pki.acme.context import (
    AcmeContext,
    Reply,
    Signed,
    acme_paths,
    require_account,
)
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed, unauthorized
from chalicelib.engines.pki.x509build import load_pem, serial_text
from chalicelib.framework import Path

_SPKI = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo


def _certificate(signed: Signed) -> x509.Certificate:
    encoded = signed.payload.get("certificate")
    if not isinstance(encoded, str):
        raise malformed("bad request was lacking required field 'certificate'")
    try:
        return x509.load_der_x509_certificate(jws.b64decode(encoded))
    except ValueError as error:
        raise malformed(f"failed to parse certificate: {error}") from None


def acme_revoke(ctx: AcmeContext, signed: Signed) -> Reply:
    cert = _certificate(signed)
    reason = signed.payload.get("reason", 0)
    if reason != 0:
        raise AcmeProblem("badRevocationReason", f"OpenBao does not support revocation "
                          f"reasons (got {reason}; expected omitted or 0/unspecified)")
    if cert.not_valid_after_utc <= datetime.now(UTC):
        raise malformed("refusing to revoke expired certificate")
    serial = st.normalize_serial(serial_text(cert))
    stored = ctx.view.get_json(st.CERTS_PREFIX + serial)
    if stored is None:
        raise AcmeProblem("serverInternal", "unable to revoke certificate: no global cert "
                          "entry found")
    if load_pem(stored["certificate"]) != cert:
        raise malformed("unable to revoke certificate: supplied certificate does not match "
                        "CA's stored value")
    if ctx.view.get(st.REVOKED_PREFIX + serial) is not None:
        raise AcmeProblem("alreadyRevoked", "unable to revoke certificate")
    if signed.account is not None:
        account = require_account(ctx, signed)
        if state.certificate_account(ctx.view, serial) != account.kid:
            raise unauthorized("unable to revoke certificate: the account did not order it")
    elif jws.public_key_of(signed.jwk).public_bytes(*_SPKI) != \
            cert.public_key().public_bytes(*_SPKI):
        raise malformed("unable to revoke certificate: the JWS key is not the certificate's")
    from chalicelib.engines.pki.revocation import revoke_certificate  # the CRL code, when needed

    revoke_certificate(ctx.view, cert, issuer_id=stored.get("issuer_id", ""))
    return Reply(None)


def paths() -> list[Path]:
    return acme_paths("revoke-cert", acme_revoke)

"""`revoke`, `revoke-with-key`, `certs/revoked` (LIST), `crl/rotate` and
`crl/rotate-delta`, as OpenBao's path_revoke.go. Where OpenBao answers 500 for what the
request caused (unparsable certificate or key, a key that does not match), we answer 400
with its words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import certs, crl, revocation
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.crl_config import read_crl_config
from chalicelib.engines.pki.issuers import all_issuers
from chalicelib.engines.pki.x509build import load_pem, serial_text
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# Shorter than any PEM certificate or key: a path passed instead of the contents.
_MIN_CERT, _MIN_KEY = 75, 64
_NOT_FROM_HERE = (
    "unable to verify signature on presented cert from any present issuer in this mount; "
    "certificates from previous CAs will need to have their issuing CA and key re-imported "
    "if revocation is necessary")


def _user_error(message: str) -> BadRequest:
    return BadRequest(multierror(message))


def _presented(view: StorageView, pem: str) -> tuple[x509.Certificate, str | None]:
    """OpenBao's pathRevokeWriteHandleCertificate: a stored certificate, or one a present
    issuer signed; with the issuer id it was stored under (None: not stored)."""
    if len(pem) < _MIN_CERT:
        raise _user_error("provided certificate data was too short; perhaps a path was passed "
                          "to the API rather than the contents of a PEM file")
    if "-----BEGIN" not in pem:
        raise _user_error("certificate contains no PEM data")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise _user_error(f"certificate could not be parsed: {error}") from None
    stored = view.get_json(st.CERTS_PREFIX + st.normalize_serial(serial_text(cert)))
    if stored is not None:
        if load_pem(stored["certificate"]) != cert:
            raise _user_error("certificate with same serial but unequal value already present "
                              "in this cluster's storage; refusing to revoke")
        return cert, str(stored.get("issuer_id", ""))
    if not any(revocation.issued_by(cert, load_pem(i.certificate)) for i in all_issuers(view)):
        raise _user_error(_NOT_FROM_HERE)
    return cert, None


def _check_key(cert: x509.Certificate, key_pem: str) -> None:
    """OpenBao's validatePrivateKeyMatchesCert."""
    if "-----BEGIN" not in key_pem:
        raise _user_error("provided key PEM block contained no data or failed to parse")
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise _user_error("provided key PEM block contained no data or failed to parse") from None
    public = cert.public_key()
    if type(key.public_key()) is not type(public):
        raise _user_error("provided private key type does not match certificate's public key "
                          "type")
    der = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*der) != public.public_bytes(*der):
        raise _user_error("provided private key does not match certificate's public key")


def path_revoke(request: Request, data: FieldData) -> Response:
    have_serial, have_cert = data.is_set("serial_number"), data.is_set("certificate")
    if not have_serial and not have_cert:
        raise BadRequest("The serial number or certificate to revoke must be provided.")
    if have_serial and have_cert:
        raise BadRequest("Must provide either the certificate or the serial to revoke; "
                         "not both.")
    with_key = request.relative_path == "revoke-with-key"
    key_pem = data["private_key"]
    if with_key:
        if not data.is_set("private_key"):
            raise BadRequest("Must have private key to revoke via the /revoke-with-key path.")
        if len(key_pem) < _MIN_KEY:
            raise BadRequest("Provided data for private_key was too short; perhaps a path was "
                             "passed to the API rather than the contents of a PEM file?")
    view = view_of(request)
    if have_cert:
        cert, issuer_id = _presented(view, data["certificate"])
    else:
        serial = data["serial_number"]
        if not serial:
            raise BadRequest("The serial number must be provided")
        stored = view.get_json(st.CERTS_PREFIX + st.normalize_serial(serial))
        if stored is None:
            raise BadRequest(f"certificate with serial {serial} not found.")
        cert, issuer_id = load_pem(stored["certificate"]), str(stored.get("issuer_id", ""))
    if with_key:
        _check_key(cert, key_pem)
    if issuer_id is None:  # OpenBao keeps a presented certificate it did not store
        issuer_id = revocation.issuer_of(all_issuers(view), cert, "")
        certs.store_certificate(view, cert, issuer_id)
    record = revocation.revoke_certificate(view, cert, issuer_id=issuer_id)
    return Response(data=record.response_data(), warnings=record.warnings or None)


def path_revoked_list(request: Request, data: FieldData) -> Response | None:
    stored = [k for k in view_of(request).list(st.REVOKED_PREFIX) if not k.endswith("/")]
    after = st.normalize_serial(data["after"]) if data["after"] else ""
    keys = [st.colon_serial(k) for k in page(stored, after, data["limit"])]
    return Response(data={"keys": keys}) if keys else None


def path_rotate(request: Request, data: FieldData) -> Response:
    crl.force(view_of(request), delta=False)
    return Response(data={"success": True})


def path_rotate_delta(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    warnings: list[str] = []
    if not read_crl_config(view).enable_delta:
        warnings.append("requested rebuild of delta CRL when delta CRL is not enabled; "
                        "this is a no-op")
    else:
        crl.force(view, delta=True)
    return Response(data={"success": True}, warnings=warnings or None)


_REVOKE_FIELDS: dict[str, Field] = {
    "serial_number": Field(FieldType.STRING, "", "The serial to revoke (hex, : or -)."),
    "certificate": Field(FieldType.STRING, "", "The PEM certificate to revoke."),
    "private_key": Field(FieldType.STRING, "", "Its private key (revoke-with-key)."),
}


def paths() -> list[Path]:
    return [
        Path("revoke", {Operation.UPDATE: path_revoke}, fields=_REVOKE_FIELDS,
             synopsis="Revoke a certificate by serial number or certificate."),
        Path("revoke-with-key", {Operation.UPDATE: path_revoke}, fields=_REVOKE_FIELDS,
             synopsis="Revoke a certificate, proving possession of its key."),
        Path("certs/revoked/?", {Operation.LIST: path_revoked_list}, fields=PAGE_FIELDS,
             synopsis="Serial numbers of the revoked certificates."),
        Path("crl/rotate", {Operation.READ: path_rotate}, synopsis="Rebuild the CRLs.",
             side_effects=True),
        Path("crl/rotate-delta", {Operation.READ: path_rotate_delta},
             synopsis="Rebuild the delta CRLs.", side_effects=True),
    ]

"""`ocsp/<base64 request>` (GET) and `ocsp` (POST, application/ocsp-request), as
OpenBao's path_ocsp.go: unauthenticated, answered from the revocation index
(``revoked/<serial>``: one read), signed by the issuer the request names.

OCSP failures are OCSP responses, not Vault errors: ocsp_disable or an issuer without the
ocsp-signing usage → unauthorized (401); an unparsable request → malformedRequest (400);
a request for an issuer this mount does not hold → "unknown", signed by the default
issuer (unauthorized when there is none)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.crl_config import CrlConfig, read_crl_config
from chalicelib.engines.pki.issuers import all_issuers
from chalicelib.engines.pki.keytypes import PrivateKey, load_private_key, signer_for
from chalicelib.engines.pki.revocation import read_revocation
from chalicelib.engines.pki.x509build import load_pem
from chalicelib.framework import Field, FieldData, Path
from chalicelib.framework.storage import view_of

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

RESPONSE_TYPE = "application/ocsp-response"
UNAUTHENTICATED = ("ocsp", "ocsp/*")
_MAX_REQUEST = 2048  # OpenBao's maximumRequestSize
_USAGE = "ocsp-signing"
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
           "sha512": hashlib.sha512}
_PSS_TO_PKCS1 = {"SHA256WithRSAPSS": 256, "SHA384WithRSAPSS": 384, "SHA512WithRSAPSS": 512}
_BITS = {"SHA256WithRSA": 256, "SHA384WithRSA": 384, "SHA512WithRSA": 512,
         "ECDSAWithSHA256": 256, "ECDSAWithSHA384": 384, "ECDSAWithSHA512": 512}


class _Status(NamedTuple):
    status: ocsp.OCSPCertStatus
    revoked_at: datetime | None
    issuer_id: str


def _failure(status: ocsp.OCSPResponseStatus, code: int) -> Response:
    der = ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER)
    return Response(raw=der, status=code, headers={"Content-Type": RESPONSE_TYPE})


def _unauthorized() -> Response:
    return _failure(ocsp.OCSPResponseStatus.UNAUTHORIZED, 401)


def _malformed() -> Response:
    return _failure(ocsp.OCSPResponseStatus.MALFORMED_REQUEST, 400)


def _request_der(request: Request, data: FieldData) -> bytes | None:
    if request.operation is not Operation.READ:
        der = request.body or b""
    else:
        text = data["req"]
        if not text or len(text) >= _MAX_REQUEST * 4 // 3 + 4:
            return None
        try:
            der = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
    return der if 0 < len(der) < _MAX_REQUEST else None


def _status(view: StorageView, serial: int) -> _Status:
    octets = serial.to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")
    raw = read_revocation(view, "-".join(f"{byte:02x}" for byte in octets))
    if raw is None:
        return _Status(ocsp.OCSPCertStatus.GOOD, None, "")
    return _Status(ocsp.OCSPCertStatus.REVOKED,
                   datetime.fromtimestamp(int(raw["revocation_time"]), UTC),
                   str(raw.get("issuer_id", "")))


def _matches(issuer: st.IssuerEntry, req: ocsp.OCSPRequest) -> bool:
    """OpenBao's doesRequestMatchIssuer: the hashes of the issuer's name and key."""
    digest = _HASHES.get(req.hash_algorithm.name)
    if digest is None:
        return False
    cert = load_pem(issuer.certificate)
    key_bits = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    spki_key = _subject_public_key(key_bits)
    return (digest(cert.subject.public_bytes()).digest() == req.issuer_name_hash
            and digest(spki_key).digest() == req.issuer_key_hash)


def _subject_public_key(spki: bytes) -> bytes:
    """The BIT STRING contents of a SubjectPublicKeyInfo (after the algorithm)."""
    def header(data: bytes, at: int) -> tuple[int, int]:  # (content start, content length)
        length = data[at + 1]
        if length < 0x80:
            return at + 2, length
        count = length & 0x7F
        return at + 2 + count, int.from_bytes(data[at + 2:at + 2 + count], "big")

    start, _ = header(spki, 0)  # SEQUENCE
    algorithm_start, algorithm_length = header(spki, start)
    bits_start, bits_length = header(spki, algorithm_start + algorithm_length)
    return spki[bits_start + 1:bits_start + bits_length]  # skip the unused-bits byte


def _key_of(view: StorageView, issuer: st.IssuerEntry) -> PrivateKey | None:
    key = st.read_key(view, issuer.key_id) if issuer.key_id else None
    return None if key is None else load_private_key(key.private_key)


def _sign(config: CrlConfig, issuer: st.IssuerEntry, key: PrivateKey, req: ocsp.OCSPRequest,
          status: _Status) -> Response:
    cert = load_pem(issuer.certificate)
    now = datetime.now(UTC).replace(microsecond=0)
    expiry = config.seconds("ocsp_expiry")
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        req.issuer_name_hash, req.issuer_key_hash, req.serial_number, req.hash_algorithm,
        status.status, now, now + timedelta(seconds=expiry) if expiry > 0 else None,
        status.revoked_at, None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, cert)
    # OpenBao signs OCSP with PKCS#1 v1.5 where the CRL would use PSS.
    algorithm = issuer.revocation_signature_algorithm
    bits = _PSS_TO_PKCS1.get(algorithm) or _BITS.get(algorithm, 0)
    signer = signer_for(key, bits)
    der = builder.sign(key, signer.algorithm or None).public_bytes(  # type: ignore[arg-type]
        serialization.Encoding.DER)
    return Response(raw=der, status=200, headers={"Content-Type": RESPONSE_TYPE})


def _default_unknown(view: StorageView, config: CrlConfig, req: ocsp.OCSPRequest) -> Response:
    """OpenBao's generateUnknownResponse: "unknown", signed by the default issuer."""
    try:
        issuer = st.fetch_issuer(view, st.DEFAULT_REF)
    except st.RefNotFound:
        return _unauthorized()
    key = _key_of(view, issuer)
    if key is None or _USAGE not in issuer.usage:
        return _unauthorized()
    return _sign(config, issuer, key, req,
                 _Status(ocsp.OCSPCertStatus.UNKNOWN, None, ""))


def path_ocsp(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    config = read_crl_config(view)
    if config.ocsp_disable:
        return _unauthorized()
    der = _request_der(request, data)
    if der is None:
        return _malformed()
    try:
        req = ocsp.load_der_ocsp_request(der)
        serial = req.serial_number
    except (ValueError, x509.UnsupportedGeneralNameType):
        return _malformed()
    status = _status(view, serial)
    if status.issuer_id:  # a revoked certificate names its issuer: one read, not all
        named = st.read_issuer(view, status.issuer_id)
        candidates = [] if named is None else [named]
    else:
        candidates = all_issuers(view)
    matched_without_usage = False
    for issuer in candidates:
        if not issuer.key_id or not _matches(issuer, req):
            continue
        if _USAGE not in issuer.usage:
            matched_without_usage = True
            continue
        key = _key_of(view, issuer)
        if key is not None:
            return _sign(config, issuer, key, req, status)
    if matched_without_usage:
        return _unauthorized()
    return _default_unknown(view, config, req)


def paths() -> list[Path]:
    return [
        Path("ocsp/{req:any}", {Operation.READ: path_ocsp},
             fields={"req": Field(description="The base64 (DER) OCSP request.")},
             synopsis="Query a certificate's revocation status (OCSP, GET)."),
        Path("ocsp", {Operation.UPDATE: path_ocsp},
             synopsis="Query a certificate's revocation status (OCSP, POST)."),
    ]


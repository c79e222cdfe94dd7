"""Finalize: the CSR checks of OpenBao's acmeFinalizeOrderHandler and issuance through
the code path of ``sign/<role>`` (or sign-verbatim's role), capped at the ACME
``max_ttl`` (OpenBao: 90 days)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from chalicelib.core.errors import VaultError
from chalicelib.engines.pki import certs, generation, urls, validity
from chalicelib.engines.pki.acme import jws
from chalicelib.engines.pki.acme.problems import AcmeProblem, malformed
from chalicelib.engines.pki.issuance import Request as IssueRequest
from chalicelib.engines.pki.issuance import check_csr_key, creation_params
from chalicelib.engines.pki.path_issue import SIGN_FIELDS
from chalicelib.engines.pki.x509build import build_certificate
from chalicelib.framework import FieldData

if TYPE_CHECKING:
    from chalicelib.engines.pki.acme.context import AcmeContext


def parse_csr(payload: dict[str, object]) -> x509.CertificateSigningRequest:
    """OpenBao's parseCsrFromFinalize: base64url DER, a key, and not a CA request."""
    encoded = payload.get("csr")
    if not isinstance(encoded, str):
        raise malformed("missing csr in payload", meaning_first=True)
    try:
        csr = x509.load_der_x509_csr(jws.b64decode(encoded))
    except ValueError as error:
        raise malformed(f"failed to parse csr: {error}", meaning_first=True) from None
    if not csr.is_signature_valid:
        raise AcmeProblem("badCSR", "request signature invalid")
    try:
        constraints = csr.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise AcmeProblem("badCSR", "refusing to accept CSR with Basic Constraints extension "
                          "with CA set to true", meaning_first=True)
    return csr


def _common_name(ctx: AcmeContext, csr: x509.CertificateSigningRequest) -> str:
    """OpenBao's maybeAugmentReqDataWithSuitableCN: a role requiring a CN gets the first
    wildcard name, else the first DNS name, else the first IP of a CSR without one."""
    if not ctx.role.require_cn or csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        return ""
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ""
    names = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return next((n for n in names if "*" in n), names[0] if names else (ips[0] if ips else ""))


def issue(ctx: AcmeContext, csr: x509.CertificateSigningRequest,
          account_jwk: dict[str, str]) -> tuple[x509.Certificate, str]:
    """The signed certificate and the issuer id, stored under certs/<serial>."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if csr.public_key().public_bytes(*spki) == \
            jws.public_key_of(account_jwk).public_bytes(*spki):
        raise AcmeProblem("badCSR", "certificate public key must not match account key",
                          meaning_first=True)
    signing = generation.signing_for(ctx.view, ctx.issuer_id)
    if signing.leaf_not_after_behavior == "err":
        signing = signing._replace(leaf_not_after_behavior="truncate")
    # The issuer's URLs or config/urls, templated as for issue/<role> (OpenBao's
    # fetchCAInfoWithIssuer).
    try:
        aia = urls.templated(ctx.view, signing.issuer_id, signing.aia_urls)
    except VaultError as error:
        raise AcmeProblem("serverInternal", f"failed loading CA {signing.issuer_id}: unable "
                          f"to fetch AIA URL information: {error.message}", plain=True) from None
    data = FieldData(SIGN_FIELDS, {"common_name": _common_name(ctx, csr)})
    try:
        role = check_csr_key(ctx.role, csr)
        params, _ = creation_params(
            role, IssueRequest(data, generation.limits_of(ctx.request)), csr, signing)
    except VaultError as error:
        raise AcmeProblem("badCSR", f"refusing to sign CSR: {error.message}",
                          meaning_first=True) from None
    cap = validity.now() + timedelta(seconds=ctx.config.max_ttl)
    params = params._replace(not_after=min(params.not_after, cap), urls=aia)
    cert = build_certificate(params, csr.public_key(), signing.key,  # type: ignore[arg-type]
                             signing.certificate)
    certs.store_certificate(ctx.view, cert, signing.issuer_id)
    return cert, signing.issuer_id

"""`root/generate/<type>`, `root` (DELETE) and `root/sign-intermediate` (also as
`issuer/<ref>/sign-intermediate`), as OpenBao's path_root.go."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptography import x509

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import certs, generation, issuers, urls
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.issuance import Request as IssueRequest
from chalicelib.engines.pki.issuance import (
    Signing,
    check_csr_key,
    creation_params,
    csr_values,
    parse_csr,
)
from chalicelib.engines.pki.keytypes import key_type_of, signer_for
from chalicelib.engines.pki.x509build import (
    build_certificate,
    serial_text,
    subject_key_id,
    to_pem,
)
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

NO_SUBJECT = (
    "This issuer certificate was generated without a Subject; this makes it likely that "
    "issuing leaf certs with this certificate will cause TLS validation libraries to reject "
    "this certificate."
)
PATH_LENGTH_ZERO = (
    "Max path length of the generated certificate is zero. This certificate cannot be used "
    "to issue intermediate CA certificates."
)
SIGNED_PATH_LENGTH_ZERO = (
    "Max path length of the signed certificate is zero. This certificate cannot be used to "
    "issue intermediate CA certificates."
)
BEYOND_CA = (
    "The expiration time for the signed certificate is after the CA's expiration time. If the "
    "new certificate is not treated as a root, validation paths with the certificate past the "
    "issuing CA's expiration time will fail."
)
DELETE_ROOT = (
    "DELETE /root deletes all keys and issuers; prefer the new DELETE /key/:key_ref and "
    "DELETE /issuer/:issuer_ref for finer granularity, unless removal of all keys and issuers "
    "is desired."
)


def path_root_generate(request: Request, data: FieldData) -> Response:
    kind = generation.check_generation_type(data["exported"])
    fmt = certs.check_format(data["format"])
    requested = generation.requested_spec(data)
    view = view_of(request)
    issuer_name, key_name = generation.new_names(view, data)
    if request.relative_path.startswith("root/rotate/") and not issuer_name and \
            not st.name_taken(view, "issuer", "next"):
        issuer_name = "next"  # OpenBao's rotation alias names the new root "next" if free
    material = generation.generation_key(view, data, kind, requested)
    role = generation.ca_role(data, material.spec)
    params, warnings = creation_params(
        role, IssueRequest(data, generation.limits_of(request)), None, None, is_ca=True
    )
    aia, ignored = urls.for_root(view)
    warnings += ignored
    params = params._replace(
        max_path_length=data["max_path_length"],
        permitted_dns_domains=tuple(data["permitted_dns_domains"]),
        urls=aia,
    )
    cert = build_certificate(params, material.key.public_key(), material.key, None)
    stored = issuers.store(view, cert, material.key, issuer_name=issuer_name,
                           key_name=key_name, follow_latest=True, generated_root=True)
    assert stored.issuer is not None and stored.key is not None
    certs.store_certificate(view, cert, stored.issuer.id)
    body: dict[str, Any] = {
        "expiration": int(cert.not_valid_after_utc.timestamp()),
        "serial_number": serial_text(cert),
        "certificate": certs.encode(cert, fmt),
        "issuing_ca": certs.encode(cert, fmt),
    }
    if material.exported:
        body.update(certs.key_fields(material.key, fmt, data["private_key_format"]))
        if fmt == "pem_bundle":
            body["certificate"] = f"{body['private_key']}\n{to_pem(cert)}"
    body.update(issuer_id=stored.issuer.id, issuer_name=stored.issuer.name,
                key_id=stored.key.id, key_name=stored.key.name)
    if len(cert.subject) == 0:
        warnings.append(NO_SUBJECT)
    if not aia.any_in_certificate():
        warnings.append(generation.MISSING_AIA)
    if data["max_path_length"] == 0:
        warnings.append(PATH_LENGTH_ZERO)
    return Response(data=body, warnings=warnings)


def path_root_delete(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    for issuer in issuers.all_issuers(view):
        issuers.delete_issuer(view, issuer)
    for key in issuers.all_keys(view):
        issuers.delete_key(view, key)
    return Response(warnings=[DELETE_ROOT])


def path_sign_self_issued(request: Request, data: FieldData) -> Response:
    """Re-sign a self-issued CA certificate with an issuer's key, keeping its contents
    (OpenBao's pathIssuerSignSelfIssued)."""
    reference = data["issuer_ref"]
    if not reference:
        raise BadRequest("missing issuer reference")
    text = data["certificate"]
    blocks = text.count("-----BEGIN CERTIFICATE-----")
    try:
        cert = x509.load_pem_x509_certificate(text.strip().encode())
    except ValueError:
        raise BadRequest("certificate could not be PEM-decoded") from None
    if blocks != 1:
        raise BadRequest(f"{blocks} certificates found in PEM file, expected 1")
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise BadRequest("given certificate is not a CA certificate")
    if cert.issuer != cert.subject:
        raise BadRequest("given certificate is not self-issued")
    view = view_of(request)
    signing, aia = generation.signing_with_urls(view, reference)
    theirs, ours = key_type_of(cert.public_key()), key_type_of(signing.key)  # type: ignore[arg-type]
    if theirs != ours and data["require_matching_certificate_algorithms"]:
        # OpenBao: a 500, though the request asked for it.
        raise BadRequest(
            f"signing certificate's public key algorithm ({_GO_ALGORITHMS[ours]}) does not "
            f"match submitted certificate's ({_GO_ALGORITHMS[theirs]}), and "
            "require_matching_certificate_algorithms is true")
    resigned = resign(cert, signing, aia)
    return Response(data={"certificate": to_pem(resigned),
                          "issuing_ca": to_pem(signing.certificate)})


_GO_ALGORITHMS = {"rsa": "RSA", "ec": "ECDSA", "ed25519": "Ed25519"}


_REPLACED_ON_RESIGN = (x509.AuthorityKeyIdentifier, x509.AuthorityInformationAccess,
                       x509.CRLDistributionPoints)


def resign(cert: x509.Certificate, signing: Signing, aia: urls.Urls) -> x509.Certificate:
    """The certificate's contents signed by ``signing``, its AKID, AIA and CRL distribution
    points those of the signer (OpenBao sets the latter two from the signer's URLs, so a
    mount without config/urls drops them)."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(signing.certificate.subject)
        .public_key(cert.public_key())  # type: ignore[arg-type]
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for extension in cert.extensions:
        if not isinstance(extension.value, _REPLACED_ON_RESIGN):
            builder = builder.add_extension(extension.value, extension.critical)
    parent_skid = subject_key_id(signing.certificate)
    if parent_skid:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier(parent_skid, None, None), critical=False)
    builder = urls.add_extensions(builder, aia)
    signer = signer_for(signing.key)
    return builder.sign(signing.key, signer.algorithm,  # type: ignore[arg-type]
                        rsa_padding=signer.rsa_padding)


def _path_length(data: FieldData, signing: Signing) -> int:
    if data.is_set("max_path_length"):
        return int(data["max_path_length"])
    try:
        limit = signing.certificate.extensions.get_extension_for_class(
            x509.BasicConstraints).value.path_length
    except x509.ExtensionNotFound:
        limit = None
    if limit == 0:
        raise BadRequest("signing certificate has a max path length of zero, and cannot "
                         "issue further CA certificates")
    return -1 if limit is None else limit - 1


def path_sign_intermediate(request: Request, data: FieldData) -> Response:
    reference = data["issuer_ref"]
    if not reference:
        raise BadRequest("missing issuer reference")
    fmt = data["format"]
    if fmt not in ("pem", "der", "pem_bundle"):
        raise BadRequest('The "format" path parameter must be "pem" or "der"')
    view = view_of(request)
    signing, aia = generation.signing_with_urls(view, reference)
    csr = parse_csr(data["csr"])
    role = replace(
        generation.ca_role(data, generation.KeySpec("any", 0, data["signature_bits"])),
        use_csr_common_name=not data["common_name"], use_csr_sans=False,
        not_before=data["not_before"],
    )
    role = check_csr_key(role, csr)
    params, warnings = creation_params(
        role, IssueRequest(data, generation.limits_of(request)), csr, signing, is_ca=True
    )
    params = params._replace(
        max_path_length=_path_length(data, signing),
        permitted_dns_domains=tuple(data["permitted_dns_domains"]),
        signature_bits=data["signature_bits"],
        skid=_skid(data["skid"]),
        urls=aia,
    )
    if data["use_csr_values"]:
        params = csr_values(params, csr)
    cert = build_certificate(params, csr.public_key(), signing.key,  # type: ignore[arg-type]
                             signing.certificate)
    certs.store_certificate(view, cert, signing.issuer_id)
    # OpenBao's ca_chain here starts with the new certificate itself.
    chain = [certs.encode(cert, fmt), *(certs.encode_pem_text(p, fmt) for p in signing.chain)]
    body = {
        "expiration": int(cert.not_valid_after_utc.timestamp()),
        "serial_number": serial_text(cert),
        "certificate": "\n".join(chain) if fmt == "pem_bundle" else chain[0],
        "issuing_ca": certs.encode(signing.certificate, fmt),
        "ca_chain": chain,
    }
    notes = []
    if cert.not_valid_after_utc > signing.certificate.not_valid_after_utc:
        notes.append(BEYOND_CA)
    if len(cert.subject) == 0:
        notes.append(NO_SUBJECT)
    if not aia.any_in_certificate():
        notes.append(generation.MISSING_AIA)
    if params.max_path_length == 0:
        notes.append(SIGNED_PATH_LENGTH_ZERO)
    return Response(data=body, warnings=[*notes, *warnings])


def _skid(text: str) -> bytes:
    for separator in (":", "-", " "):
        text = text.replace(separator, "")
    try:
        return bytes.fromhex(text)
    except ValueError as error:
        raise BadRequest(f"cannot parse requested SKID value as hex: {error}") from None


SIGN_INTERMEDIATE_FIELDS: dict[str, Field] = {
    **generation.NAME_FIELDS,
    **generation.SUBJECT_FIELDS,
    "csr": Field(FieldType.STRING, "", "The PEM CSR to sign."),
    "issuer_ref": Field(FieldType.STRING, st.DEFAULT_REF, "The issuer that signs."),
    "use_csr_values": Field(FieldType.BOOL, False, "Take subject and SANs from the CSR."),
    "max_path_length": Field(FieldType.INT, -1, "Basic constraints path length."),
    "permitted_dns_domains": Field(FieldType.COMMA_STRING_LIST, list, "DNS name constraints."),
    "signature_bits": Field(FieldType.INT, 0, "Signature hash size."),
    "use_pss": Field(FieldType.BOOL, False, "Sign with RSASSA-PSS."),
    "not_before_duration": Field(FieldType.DURATION, 30, "Backdating of NotBefore."),
    "not_before": Field(FieldType.STRING, "", "An explicit NotBefore (RFC 3339)."),
    "skid": Field(FieldType.STRING, "", "An explicit Subject Key Identifier (hex)."),
}


_SELF_ISSUED_FIELDS = {
    "certificate": Field(FieldType.STRING, "", "The self-issued CA certificate (PEM)."),
    "issuer_ref": Field(FieldType.STRING, st.DEFAULT_REF, "The issuer that signs."),
    "require_matching_certificate_algorithms": Field(FieldType.BOOL, False, ""),
}


def paths() -> list[Path]:
    return [
        *(Path(pattern, {Operation.UPDATE: path_root_generate}, fields=generation.CA_FIELDS,
               synopsis="Generate a new CA certificate and key.")
          for pattern in ("root/generate/{exported}", "issuers/generate/root/{exported}")),
        Path("root/rotate/{exported}", {Operation.UPDATE: path_root_generate},
             fields=generation.CA_FIELDS, synopsis="Generate a new root (named next if free)."),
        Path("root/sign-self-issued", {Operation.UPDATE: path_sign_self_issued},
             fields=_SELF_ISSUED_FIELDS, synopsis="Sign a self-issued CA certificate."),
        Path("issuer/{issuer_ref}/sign-self-issued", {Operation.UPDATE: path_sign_self_issued},
             fields=_SELF_ISSUED_FIELDS, synopsis="Sign a self-issued CA certificate."),
        Path("root", {Operation.DELETE: path_root_delete},
             synopsis="Delete every issuer and key of this mount."),
        Path("root/sign-intermediate", {Operation.UPDATE: path_sign_intermediate},
             fields=SIGN_INTERMEDIATE_FIELDS, synopsis="Sign an intermediate CA's CSR."),
        Path("issuer/{issuer_ref}/sign-intermediate", {Operation.UPDATE: path_sign_intermediate},
             fields=SIGN_INTERMEDIATE_FIELDS, synopsis="Sign an intermediate CA's CSR."),
    ]

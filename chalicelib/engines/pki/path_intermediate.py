"""`intermediate/generate/<type>` (a CSR and its key), `intermediate/set-signed`,
`issuers/import/bundle`, `issuers/import/cert` and `config/ca`: PEM bundles of
certificates and keys, deduplicated against the mount's issuers and keys as OpenBao does."""

from __future__ import annotations

import base64
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import certs, generation, issuers, urls
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.issuance import Request as IssueRequest
from chalicelib.engines.pki.issuance import creation_params
from chalicelib.engines.pki.keytypes import PrivateKey, load_private_key
from chalicelib.engines.pki.pem import pem_blocks
from chalicelib.engines.pki.x509build import build_csr, general_names
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of

_INTERMEDIATE_AIA = (
    generation.MISSING_AIA + " Since this certificate is an intermediate, it might be useful "
    "to regenerate this certificate after fixing this problem for the root mount."
)
_DEFAULT_WITHOUT_KEY = (
    "The default issuer has no key associated with it. Some operations like issuing "
    "certificates and signing CRLs will be unavailable with the requested default issuer "
    "until a key is imported or the default issuer is changed."
)


def path_intermediate_generate(request: Request, data: FieldData) -> Response:
    # intermediate/cross-sign: a CSR for a key the mount holds (OpenBao forces "existing").
    cross_sign = request.relative_path == "intermediate/cross-sign"
    kind = generation.check_generation_type("existing" if cross_sign else data["exported"])
    fmt = certs.check_format(data["format"])
    requested = generation.requested_spec(data)
    view = view_of(request)
    _, key_name = generation.new_names(view, data)
    material = generation.generation_key(view, data, kind, requested)
    role = generation.ca_role(data, material.spec)
    params, warnings = creation_params(
        role, IssueRequest(data, generation.limits_of(request)), None, None, is_ca=True
    )
    csr = build_csr(
        params.subject, material.key, general_names(params),
        is_ca=data["add_basic_constraints"], signature_bits=material.spec.signature_bits,
        use_pss=data["use_pss"],
    )
    stored = issuers.store(view, None, material.key, key_name=key_name)
    assert stored.key is not None
    body: dict[str, Any] = {"csr": _csr_text(csr, fmt)}
    if material.exported:
        body.update(certs.key_fields(material.key, fmt, data["private_key_format"]))
        if fmt == "pem_bundle":
            body["csr"] = f"{body['private_key']}\n{body['csr']}"
    body["key_id"] = stored.key.id
    if not urls.configured(view):
        warnings.append(_INTERMEDIATE_AIA)
    return Response(data=body, warnings=warnings)


def _csr_text(csr: x509.CertificateSigningRequest, fmt: str) -> str:
    if fmt == "der":
        return base64.b64encode(csr.public_bytes(serialization.Encoding.DER)).decode()
    return csr.public_bytes(serialization.Encoding.PEM).decode().strip()


def import_bundle(request: Request, bundle: str, *, keys_allowed: bool) -> Response:
    if len(bundle) < 75:
        raise BadRequest("provided data for import was too short; perhaps a path was passed to "
                         "the API rather than the contents of a PEM file")
    cert_pems, key_pems = [], []
    for kind, text in pem_blocks(bundle):
        if kind in ("CERTIFICATE", "X509 CERTIFICATE"):
            cert_pems.append(text)
        elif kind not in ("CRL", "X509 CRL", "EC PARAMS", "EC PARAMETERS"):
            key_pems.append(text)
    if key_pems and not keys_allowed:
        raise BadRequest("private keys found in the PEM bundle but not allowed by the path; "
                         "use /issuers/import/bundle")
    view = view_of(request)
    created_keys, existing_keys = [], []
    for index, text in enumerate(key_pems):
        key = _parse_key(index, text)
        stored = issuers.store(view, None, key)
        assert stored.key is not None
        (existing_keys if stored.key_existed else created_keys).append(stored.key.id)
    created, existing, mapping = [], [], {}
    for index, text in enumerate(cert_pems):
        try:
            cert = x509.load_pem_x509_certificate(text.encode())
        except ValueError as error:
            raise BadRequest(f"Error parsing issuer {index}: {error}\n{text}\n") from None
        stored = issuers.store(view, cert, None)
        assert stored.issuer is not None
        mapping[stored.issuer.id] = stored.issuer.key_id
        (existing if stored.issuer_existed else created).append(stored.issuer.id)
    warnings = []
    default = st.issuers_config(view)["default"]
    if default and mapping.get(default) == "":
        warnings.append(_DEFAULT_WITHOUT_KEY)
    if not urls.configured(view):
        warnings.append(generation.MISSING_AIA)
    return Response(
        data={"mapping": mapping, "imported_keys": created_keys or None,
              "imported_issuers": created or None, "existing_keys": existing_keys or None,
              "existing_issuers": existing or None},
        warnings=warnings,
    )


def _parse_key(index: int, text: str) -> PrivateKey:
    try:
        return load_private_key(text)
    except (ValueError, TypeError, BadRequest) as error:
        detail = error.message if isinstance(error, BadRequest) else str(error)
        raise BadRequest(f"Error parsing key {index}: {detail}") from None


def path_import(request: Request, data: FieldData) -> Response:
    """OpenBao's pathImportIssuers behind every import path: set-signed takes
    ``certificate``, the others ``pem_bundle``; only issuers/import/bundle and config/ca
    accept keys."""
    bundle, certificate = data.get("pem_bundle", ""), data.get("certificate", "")
    if not bundle and not certificate:
        raise BadRequest("'pem_bundle' and 'certificate' parameters were empty")
    if bundle and certificate:
        raise BadRequest("'pem_bundle' and 'certificate' parameters were both provided")
    path = request.relative_path
    keys_allowed = not certificate and (path.endswith("bundle") or path == "config/ca")
    return import_bundle(request, certificate or bundle, keys_allowed=keys_allowed)


_BUNDLE_FIELDS = {"pem_bundle": Field(FieldType.STRING, "", "PEM certificates (and keys).")}
_GENERATE_FIELDS = {
    **generation.CA_FIELDS,
    "add_basic_constraints": Field(FieldType.BOOL, False, "Ask for CA basic constraints."),
}


def paths() -> list[Path]:
    return [
        *(Path(pattern, {Operation.UPDATE: path_intermediate_generate},
               fields=_GENERATE_FIELDS, synopsis="Generate an intermediate CA's key and CSR.")
          for pattern in ("intermediate/generate/{exported}",
                          "issuers/generate/intermediate/{exported}",
                          "intermediate/cross-sign")),
        Path("intermediate/set-signed", {Operation.UPDATE: path_import},
             fields={"certificate": Field(FieldType.STRING, "", "The signed certificate(s).")},
             synopsis="Import the signed intermediate certificate (and its chain)."),
        Path("issuers/import/bundle", {Operation.UPDATE: path_import},
             fields=_BUNDLE_FIELDS, synopsis="Import certificates and keys."),
        Path("issuers/import/cert", {Operation.UPDATE: path_import},
             fields=_BUNDLE_FIELDS, synopsis="Import certificates."),
        Path("config/ca", {Operation.UPDATE: path_import},
             fields=_BUNDLE_FIELDS, synopsis="Import certificates and keys."),
    ]

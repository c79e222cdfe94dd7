"""`issue/<role>`, `sign/<role>`, `sign-verbatim[/<role>]` and their `issuer/<ref>/…`
forms, as OpenBao's path_issue_sign.go: role checks, validity, the chosen issuer, and
one stored item per certificate unless the role says no_store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cryptography import x509

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import certs, counts, generation, secret, urls
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.cluster import CLUSTER_CONFIG
from chalicelib.engines.pki.issuance import Request as IssueRequest
from chalicelib.engines.pki.issuance import (
    Signing,
    check_csr_key,
    creation_params,
    csr_values,
    parse_csr,
)
from chalicelib.engines.pki.keytypes import generate, validate_key_spec
from chalicelib.engines.pki.names import Renderer
from chalicelib.engines.pki.role import Role, read_role
from chalicelib.engines.pki.validity import now
from chalicelib.engines.pki.x509build import build_certificate, load_pem, serial_text, to_pem
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.policy.errors import PolicyTextError
from chalicelib.policy.templates import render_identity_template

if TYPE_CHECKING:
    from chalicelib.engines.pki.keytypes import PrivateKey

_ANY_WITHOUT_TYPE = ('role key type "any" not allowed for issuing certificates without '
                     "providing key_type and/or key_bits request parameters")
_KEY_PARAMS_IGNORED = "parameters key_type and key_bits ignored as role had specific values"
_CSR_CN_IGNORED = ('the common_name field was provided but the role is set with '
                   '"use_csr_common_name" set to true')
_CSR_SANS_IGNORED = ('the alt_names field was provided but the role is set with '
                     '"use_csr_sans" set to true')
_BASIC_CONSTRAINTS_IGNORED = ("specified CSR contained a Basic Constraints extension that was "
                              "ignored during issuance")


def _role(request: Request, data: FieldData) -> Role:
    name = data["role"]
    role = read_role(view_of(request), name)
    if role is None:
        raise BadRequest(f"unknown role: {name}")
    return role


def _renderer(request: Request, role: Role) -> Renderer | None:
    """Renders allowed_domains / allowed_uri_sans templates for the caller's entity."""
    identity = request.identity
    if identity is None:
        return None
    blocked = [] if role.allow_globs_in_identity_templates else ["*"]

    def render(text: str) -> str | None:
        try:
            return render_identity_template(text, identity.context, blocked=blocked)
        except PolicyTextError:
            return None

    return render


def _issue_request(request: Request, data: FieldData, role: Role) -> IssueRequest:
    display = request.token.display_name if request.token is not None else ""
    return IssueRequest(data, generation.limits_of(request), display, _renderer(request, role))


def _issuer_ref(request: Request, data: FieldData, role: Role) -> str:
    """The issuer the path names (issuer/<ref>/…), else the role's."""
    if request.relative_path.startswith("issuer/"):
        return str(data["issuer_ref"])
    return role.issuer_ref or st.DEFAULT_REF


def path_issue(request: Request, data: FieldData) -> Response:
    role = _role(request, data)
    warnings: list[str] = []
    if role.key_type == "any":
        if not data.is_set("key_type"):
            raise BadRequest(_ANY_WITHOUT_TYPE)
        spec = validate_key_spec(data["key_type"], data["key_bits"], role.signature_bits)
        role = replace(role, key_type=spec.key_type, key_bits=spec.key_bits,
                       signature_bits=spec.signature_bits)
    elif data.is_set("key_type") or data.is_set("key_bits"):
        warnings.append(_KEY_PARAMS_IGNORED)
    signing, aia = generation.signing_with_urls(view_of(request),
                                                _issuer_ref(request, data, role))
    fmt = certs.check_format(data["format"])
    params, more = creation_params(role, _issue_request(request, data, role), None, signing)
    params = params._replace(urls=aia)
    key = generate(validate_key_spec(role.key_type, role.key_bits, role.signature_bits))
    cert = build_certificate(params, key.public_key(), signing.key, signing.certificate)
    return _respond(request, data, role, signing, cert, key, fmt, [*more, *warnings])


def path_sign(request: Request, data: FieldData) -> Response:
    return _sign(request, data, _role(request, data), verbatim=False)


def path_sign_verbatim(request: Request, data: FieldData) -> Response:
    name = data.get("role", "")
    stored = _role(request, data) if name else None
    return _sign(request, data, verbatim_role(data, stored), verbatim=True)


def verbatim_role(data: FieldData, role: Role | None) -> Role:
    """OpenBao's buildSignVerbatimRole: everything allowed, the request's usages, and the
    named role's TTLs, storage and issuer."""
    entry = Role(
        allow_any_name=True, enforce_hostnames=False, key_type="any", key_bits=0,
        allowed_other_sans=["*"], allowed_serial_numbers=["*"], allowed_uri_sans=["*"],
        allowed_user_ids=["*"], cn_validations=["disabled"], server_flag=False,
        client_flag=False, key_usage=data["key_usage"], ext_key_usage=data["ext_key_usage"],
        ext_key_usage_oids=data["ext_key_usage_oids"], signature_bits=data["signature_bits"],
        use_pss=data["use_pss"],
        basic_constraints_valid_for_non_ca=data["basic_constraints_valid_for_non_ca"],
        not_before_duration=30, not_before_bound="",
    )
    if role is None:
        return entry
    return replace(
        entry, ttl=role.ttl or entry.ttl, max_ttl=role.max_ttl or entry.max_ttl,
        generate_lease=role.generate_lease,
        not_before_duration=role.not_before_duration or entry.not_before_duration,
        no_store=role.no_store, issuer_ref=role.issuer_ref or st.DEFAULT_REF,
        basic_constraints_valid_for_non_ca=(
            data["basic_constraints_valid_for_non_ca"]
            if data.is_set("basic_constraints_valid_for_non_ca")
            else role.basic_constraints_valid_for_non_ca
        ),
    )


def _sign(request: Request, data: FieldData, role: Role, *, verbatim: bool) -> Response:
    signing, aia = generation.signing_with_urls(view_of(request),
                                                _issuer_ref(request, data, role))
    fmt = certs.check_format(data["format"])
    csr = parse_csr(data["csr"])
    role = check_csr_key(role, csr)
    params, created = creation_params(role, _issue_request(request, data, role), csr, signing)
    params = params._replace(urls=aia)
    if verbatim:
        params = csr_values(params, csr)
    if _has_basic_constraints(csr) and not role.basic_constraints_valid_for_non_ca:
        created.append(_BASIC_CONSTRAINTS_IGNORED)
    cert = build_certificate(params, csr.public_key(), signing.key,  # type: ignore[arg-type]
                             signing.certificate)
    # OpenBao's order: the CSR notes first, then what issuance itself noted.
    warnings = []
    if role.use_csr_common_name and data["common_name"]:
        warnings.append(_CSR_CN_IGNORED)
    if role.use_csr_sans and data["alt_names"]:
        warnings.append(_CSR_SANS_IGNORED)
    return _respond(request, data, role, signing, cert, None, fmt, [*warnings, *created])


def _has_basic_constraints(csr: x509.CertificateSigningRequest) -> bool:
    return any(isinstance(e.value, x509.BasicConstraints) for e in csr.extensions)


def _is_root(pem: str) -> bool:
    cert = load_pem(pem)
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except Exception:
        return False
    return True


def _respond(
    request: Request, data: FieldData, role: Role, signing: Signing, cert: x509.Certificate,
    key: PrivateKey | None, fmt: str, warnings: list[str],
) -> Response:
    chain = signing.chain
    if data["remove_roots_from_chain"]:
        chain = [pem for pem in chain if not _is_root(pem)]
    chain_out = [certs.encode_pem_text(pem, fmt) for pem in chain]
    body: dict[str, Any] = {
        "not_before": int(cert.not_valid_before_utc.timestamp()),
        "expiration": int(cert.not_valid_after_utc.timestamp()),
        "serial_number": serial_text(cert),
        "certificate": certs.encode(cert, fmt),
        "issuing_ca": certs.encode(signing.certificate, fmt),
    }
    if chain_out:
        body["ca_chain"] = chain_out
    if key is not None:
        body.update(certs.key_fields(key, fmt, data["private_key_format"]))
    if fmt == "pem_bundle":
        private = [body["private_key"]] if key is not None else []
        body["certificate"] = "\n".join([*private, to_pem(cert), *chain_out])
    if not role.no_store:
        certs.store_certificate(view_of(request), cert, signing.issuer_id)
    else:
        counts.count_unstored(view_of(request))
    lease = secret.lease_for(cert, now()) if role.generate_lease else None
    return Response(data=body, warnings=warnings, secret=lease)


_LIST = FieldType.COMMA_STRING_LIST
_COMMON: dict[str, Field] = {
    **generation.NAME_FIELDS,
    "role": Field(FieldType.STRING, "", "The role to issue against."),
    "issuer_ref": Field(FieldType.STRING, st.DEFAULT_REF, "The issuer (issuer/<ref>/ paths)."),
    "remove_roots_from_chain": Field(FieldType.BOOL, False, "Leave self-signed CAs out."),
    "not_before": Field(FieldType.STRING, "", "Requested NotBefore (RFC 3339)."),
    "user_ids": Field(FieldType.COMMA_STRING_LIST, list, "Subject user IDs (UID)."),
}
ISSUE_FIELDS = {
    **_COMMON,
    "key_type": Field(FieldType.STRING, "rsa", "Key type, when the role allows any."),
    "key_bits": Field(FieldType.INT, 0, "Key size, when the role allows any."),
}
SIGN_FIELDS = {**_COMMON, "csr": Field(FieldType.STRING, "", "The PEM CSR to sign.")}
VERBATIM_FIELDS = {
    **SIGN_FIELDS,
    "key_usage": Field(_LIST, lambda: ["DigitalSignature", "KeyAgreement", "KeyEncipherment"]),
    "ext_key_usage": Field(_LIST, list),
    "ext_key_usage_oids": Field(_LIST, list),
    "signature_bits": Field(FieldType.INT, 0),
    "use_pss": Field(FieldType.BOOL, False),
    "basic_constraints_valid_for_non_ca": Field(FieldType.BOOL, False),
}


def _prefetch(captures: Mapping[str, str]) -> list[str]:
    """The role, the default-issuer config, config/urls and config/cluster (which templated
    URLs need) ride in the request's first read."""
    role = captures.get("role", "")
    shared = [st.ISSUERS_CONFIG, urls.URLS_CONFIG, CLUSTER_CONFIG]
    return [st.ROLE_PREFIX + role, *shared] if role else shared


def paths() -> list[Path]:
    routes = [
        ("issue/{role}", path_issue, ISSUE_FIELDS),
        ("sign/{role}", path_sign, SIGN_FIELDS),
        ("sign-verbatim/{role}", path_sign_verbatim, VERBATIM_FIELDS),
        ("sign-verbatim", path_sign_verbatim, VERBATIM_FIELDS),
    ]
    return [
        Path(prefix + pattern, {Operation.UPDATE: handler}, fields=fields, prefetch=_prefetch,
             synopsis="Issue or sign a certificate.")
        for prefix in ("", "issuer/{issuer_ref}/")
        for pattern, handler, fields in routes
    ]

"""What `sign/` and `issue/` share (OpenBao's pathSignIssueCertificateHelper): the key
ID, certificate type, principals, TTL, critical options and extensions a role allows
for one request, then the signature by the role's CA.

Every refusal is a ``CAError`` with OpenBao's text; ``internal`` marks those OpenBao
reports as a server error on `sign/` in Go's multierror wording (answered here as 400s
with that wording: the request or the role caused them).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from chalicelib.core.errors import VaultError
from chalicelib.core.request import Request
from chalicelib.engines.ssh import ca, certificates
from chalicelib.engines.ssh.role import Role, go_text
from chalicelib.framework import FieldData
from chalicelib.framework.storage import view_of
from chalicelib.policy.errors import PolicyTextError
from chalicelib.policy.templates import render_identity_template
from chalicelib.system.mount_config import effective_ttls

_TEMPLATE = re.compile(r"{{.+?}}")
SKIPPED_EXTENSIONS_WARNING = (
    "default_extension templating enabled with at least one extension requiring identity "
    "templating. However, this request lacked identity entity information, causing one or "
    "more extensions to be skipped from the generated certificate."
)


def _render(text: str, request: Request, blocked: list[str]) -> str:
    """OpenBao's renderPrincipal: unchanged without an entity or a template."""
    if request.identity is None or not _TEMPLATE.search(text):
        return text
    try:
        return render_identity_template(text, request.identity.context, blocked=blocked)
    except PolicyTextError as error:
        raise ca.CAError(f"template '{text}' could not be rendered -> {error}") from None


def _blocked(role: Role) -> list[str]:
    blocked = [] if role.allow_commas_in_identity_templates else [","]
    return blocked if role.allow_wildcards_in_identity_templates else [*blocked, "*"]


def _names(text: str) -> list[str]:
    # strutil.ParseStringSlice then RemoveDuplicates: trimmed, no empties, sorted, unique.
    return sorted({item.strip() for item in text.split(",") if item.strip()})


def key_id(request: Request, data: FieldData, role: Role, key_blob: bytes) -> str:
    """OpenBao's calculateKeyID."""
    if data["key_id"]:
        if not role.allow_user_key_ids:
            raise ca.CAError("setting key_id is not allowed by role")
        return str(data["key_id"])
    display_name = request.token.display_name if request.token else ""
    template = "vault-{{token_display_name}}-{{public_key_hash}}" if display_name \
        else "vault-{{public_key_hash}}"
    template = role.key_id_format or template
    for name, value in (("token_display_name", display_name), ("role_name", data["role"]),
                        ("public_key_hash", hashlib.sha256(key_blob).hexdigest())):
        template = template.replace("{{" + name + "}}", value)
    return template


def cert_type(data: FieldData, role: Role) -> str:
    wanted = data["cert_type"]
    if wanted == certificates.USER_CERT:
        if not role.allow_user_certificates:
            raise ca.CAError("cert_type 'user' is not allowed by role")
    elif wanted == certificates.HOST_CERT:
        if not role.allow_host_certificates:
            raise ca.CAError("cert_type 'host' is not allowed by role")
    else:
        raise ca.CAError("cert_type must be either 'user' or 'host'")
    return str(wanted)


def _host_allowed(role: Role, allowed: list[str], principal: str) -> bool:
    return any(
        (principal == name and role.allow_bare_domains)
        or (role.allow_subdomains and principal.endswith("." + name))
        for name in allowed
    )


def principals(request: Request, data: FieldData, role: Role, kind: str) -> list[str]:
    """OpenBao's calculateValidPrincipals: users match exactly, hosts by domain."""
    if kind == certificates.HOST_CERT:
        default, allowed_text, templated = "", role.allowed_domains, role.allowed_domains_template
    else:
        default = role.default_user
        if role.default_user_template:
            try:
                default = _render(default, request, _blocked(role))
            except ca.CAError as error:
                raise ca.CAError(error.message, internal=True) from None
        allowed_text, templated = role.allowed_users, role.allowed_users_template
    wanted = _names(data["valid_principals"] if data.is_set("valid_principals") else default)
    allowed = _names(_render(allowed_text, request, _blocked(role)) if templated
                     else allowed_text)
    if not wanted:
        if not role.allow_empty_principals and allowed_text != "*":
            raise ca.CAError("refusing to issue unsafe, globally-valid certificate with no "
                             "principals specified; set valid_principals or default_user")
        return []
    if not allowed:
        raise ca.CAError("role is not configured to allow any principals")
    if allowed_text == "*":
        return wanted
    for principal in wanted:
        ok = (_host_allowed(role, allowed, principal) if kind == certificates.HOST_CERT
              else principal in allowed)
        if not ok:
            raise ca.CAError(f"{principal} is not a valid value for valid_principals")
    return wanted


def ttl(request: Request, data: FieldData, role: Role) -> int:
    """OpenBao's calculateTTL: the request's, the role's or the mount's default, capped
    by the role's or the mount's maximum (a requested TTL past it is refused)."""
    assert request.mount is not None
    mount_default, mount_max = effective_ttls(request.mount)
    specified = data.is_set("ttl")
    chosen = (data["ttl"] if specified else role.ttl) or mount_default
    maximum = role.max_ttl or mount_max
    if chosen > maximum:
        if specified:
            raise ca.CAError(f"ttl is larger than maximum allowed {maximum}")
        chosen = maximum
    return int(chosen)


def _as_text(values: dict[str, Any]) -> dict[str, str]:
    return {str(name): go_text(value) for name, value in values.items()}


def critical_options(data: FieldData, role: Role) -> dict[str, str]:
    requested = _as_text(data["critical_options"])
    if not requested:
        return dict(role.default_critical_options)
    if role.allowed_critical_options:
        allowed = role.allowed_critical_options.split(",")
        refused = sorted(name for name in requested if name not in allowed)
        if refused:
            raise ca.CAError(f"critical options not on allowed list: [{' '.join(refused)}]")
    return requested


def extensions(request: Request, data: FieldData, role: Role) -> tuple[dict[str, str], bool]:
    """The extensions and whether templated defaults were skipped for want of an entity."""
    requested = _as_text(data["extensions"])
    if requested:
        if role.allowed_extensions != "*":
            allowed = role.allowed_extensions.split(",")
            refused = sorted(name for name in requested if name not in allowed)
            if refused:
                raise ca.CAError(f"extensions [{' '.join(refused)}] are not on allowed list")
        return requested, False
    if not role.default_extensions_template:
        return dict(role.default_extensions), False
    rendered: dict[str, str] = {}
    skipped = False
    for name, value in role.default_extensions.items():
        if not _TEMPLATE.search(value):
            rendered[name] = value
        elif request.identity is None:
            skipped = True
        else:
            rendered[name] = _render(value, request, [])
    return rendered, skipped


def sign_certificate(request: Request, data: FieldData, role: Role,
                     public_key: ca.PublicKey, key_blob: bytes) -> tuple[dict[str, Any],
                                                                         list[str]]:
    """The response data of a signed certificate and its warnings."""
    identifier = key_id(request, data, role, key_blob)
    kind = cert_type(data, role)
    names = principals(request, data, role, kind)
    lifetime = ttl(request, data, role)
    options = critical_options(data, role)
    extension_map, skipped = extensions(request, data, role)
    issuer = ca.resolve_issuer(view_of(request), role.issuer_ref)
    try:
        signed_key, serial = certificates.sign(
            certificates.CertificateRequest(
                public_key=public_key, key_id=identifier, principals=names, cert_type=kind,
                ttl=lifetime, not_before=role.not_before_duration,
                algorithm_signer=role.algorithm_signer or certificates.DEFAULT_SIGNER,
                critical_options=options, extensions=extension_map,
            ),
            ca.load_private_key(issuer.private_key),
        )
    except certificates.SigningError as error:
        raise ca.CAError(f"failed to generate signed SSH key: sign error: {error}",
                         internal=True) from None
    except ca.CAError:
        # Storage holds a key this code did not write: a server fault, not the request's.
        raise VaultError("failed to parse stored CA private key") from None
    data_out = {"serial_number": format(serial, "x"), "signed_key": signed_key,
                "issuer_id": issuer.id}
    return data_out, [SKIPPED_EXTENSIONS_WARNING] if skipped else []

"""`roles/<name>` (read, write, delete) and `roles/` (list, paged), as OpenBao's pki.

A write replaces the whole role and answers with it; key type and sizes, TTLs, other
SANs, EKU OIDs, bounds and cn_validations are checked with OpenBao's texts.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import fields, replace
from typing import Any

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.pki import storage as st
from chalicelib.engines.pki.keytypes import validate_key_spec
from chalicelib.engines.pki.names import parse_other_sans
from chalicelib.engines.pki.policies import from_request, policies
from chalicelib.engines.pki.role import Role, read_role, write_role
from chalicelib.engines.pki.validity import check_not_after_bound
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of

_OID = re.compile(r"\d+(\.\d+)+\Z")
_TYPES = {bool: FieldType.BOOL, int: FieldType.INT, str: FieldType.STRING}
_DURATIONS = {"ttl", "max_ttl", "not_before_duration"}
_LEASE_AND_NO_STORE = (
    "mutually exclusive values no_store=true and generate_lease=true were both specified; "
    "no_store=true takes priority"
)
_LEASE_DISCOURAGED = (
    "it is encouraged to disable generate_lease and rely on PKI's native capabilities when "
    "possible; this option can cause instance-wide issues with large numbers of issued "
    "certificates"
)


def _field_for(name: str, default: Any) -> Field:
    if name in _DURATIONS:
        return Field(FieldType.DURATION, default)
    if isinstance(default, list):
        return Field(FieldType.COMMA_STRING_LIST, lambda d=tuple(default): list(d))
    return Field(_TYPES[type(default)], default)


_DEFAULTS = Role()
ROLE_FIELDS: dict[str, Field] = {
    "name": Field(FieldType.STRING, "", "Name of the role."),
    **{f.name: _field_for(f.name, getattr(_DEFAULTS, f.name)) for f in fields(Role)},
    # OpenBao's key_bits default is 0, then filled in by key type.
    "key_bits": Field(FieldType.INT, 0),
}


def path_roles_list(request: Request, data: FieldData) -> Response | None:
    keys = page(view_of(request).list(st.ROLE_PREFIX), data["after"], data["limit"])
    return Response(data={"keys": keys}) if keys else None


def path_roles_read(request: Request, data: FieldData) -> Response | None:
    role = read_role(view_of(request), data["name"])
    return None if role is None else Response(data=role.to_storage())


def path_roles_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(st.ROLE_PREFIX + data["name"])


def path_roles_write(request: Request, data: FieldData) -> Response:
    """A write replaces the role; a PATCH changes only the fields it names."""
    view = view_of(request)
    if request.operation is Operation.PATCH:
        stored = read_role(view, data["name"])
        if stored is None:
            raise BadRequest("Unable to fetch role entry to patch")
        role = replace(stored, **{f.name: data[f.name] for f in fields(Role)
                                  if data.is_set(f.name)})
    else:
        role = Role(**{f.name: data[f.name] for f in fields(Role)})
    if data.is_set("policy_identifiers"):
        role.policy_identifiers = from_request(data.raw.get("policy_identifiers"),
                                               role.policy_identifiers)
    warnings = _validate(role, data)
    issuer_ref = role.issuer_ref or st.DEFAULT_REF
    role.issuer_ref = issuer_ref
    try:
        st.resolve_issuer_id(view, issuer_ref)
    except st.RefNotFound:
        warnings.append(
            "Issuing Certificate was set to default, but no default issuing certificate "
            "(configurable at /config/issuers) is currently set" if issuer_ref == st.DEFAULT_REF
            else f"Issuing Certificate was set to {issuer_ref} but no issuing certificate "
            "currently has that name"
        )
    write_role(view, data["name"], role)
    return Response(data=role.to_storage(), warnings=warnings)


def _validate(role: Role, data: FieldData) -> list[str]:
    warnings: list[str] = []
    others = role.allowed_other_sans
    if others and others != ["*"]:
        try:
            parse_other_sans(others)
        except ValueError as error:
            raise BadRequest(f"error parsing allowed_other_sans: {error}") from None
    for cidr in role.allowed_ip_sans_cidr:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise BadRequest(
                f"error parsing allowed_ip_sans_cidr: invalid CIDR address: {cidr}"
            ) from None
    if role.no_store:
        if role.generate_lease:
            warnings.append(_LEASE_AND_NO_STORE)
        role.generate_lease = False
    elif role.generate_lease:
        warnings.append(_LEASE_DISCOURAGED)
    if data.is_set("not_after_bound"):
        check_not_after_bound(role.not_after_bound)
    if data.is_set("not_before_bound") and role.not_before_bound not in (
        "permit", "duration", "forbid"
    ):
        raise BadRequest("Unknown value for field `not_before_bound`. Possible values are "
                         "`permit` `duration` or `forbid`")
    if role.max_ttl > 0 and role.ttl > role.max_ttl:
        raise BadRequest('"ttl" value must be less than "max_ttl" value')
    role.key_bits = validate_key_spec(role.key_type, role.key_bits, role.signature_bits).key_bits
    for oid in role.ext_key_usage_oids:
        if not _OID.match(oid):
            raise BadRequest(f'"{oid}" could not be parsed as a valid oid for an extended key '
                             "usage")
    policies(role.policy_identifiers)
    role.cn_validations = check_cn_validations(role.cn_validations)
    return warnings


def check_cn_validations(values: list[str]) -> list[str]:
    """OpenBao's checkCNValidations: email and/or hostname, or disabled alone. OpenBao
    reports a refusal here as a server error (500, in a multierror); here it is a 400 in
    the same words."""
    try:
        return _cn_validations(values)
    except BadRequest as error:
        raise BadRequest(multierror(error.message)) from None


def _cn_validations(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        kind = value.strip().lower()
        if kind not in ("disabled", "email", "hostname"):
            raise BadRequest(f"cn_validations value incorrect: unknown type: `{value}`")
        if kind in seen:
            raise BadRequest(f"cn_validations value incorrect: `{kind}` specified multiple times")
        seen.append(kind)
    if not seen:
        raise BadRequest("cn_validations value incorrect: must specify a value (`email` "
                         "and/or `hostname`) or `disabled`")
    if "disabled" in seen and len(seen) > 1:
        raise BadRequest("cn_validations value incorrect: cannot specify `disabled` along "
                         "with `email` or `hostname`")
    return seen


def paths() -> list[Path]:
    synopsis = "Manage the roles that can be created with this backend."
    return [
        Path("roles/?", {Operation.LIST: path_roles_list}, fields=PAGE_FIELDS, synopsis=synopsis),
        Path(
            "roles/{name}",
            {**crud(path_roles_read, path_roles_write, path_roles_delete),
             Operation.PATCH: path_roles_write},
            fields=ROLE_FIELDS,
            exists=lambda request, data: read_role(view_of(request), data["name"]) is not None,
            synopsis=synopsis,
        ),
    ]

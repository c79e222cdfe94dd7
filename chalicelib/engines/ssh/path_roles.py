"""`roles/<role>` (read, write, delete) and `roles/` (list, paged, with key_info).

A write replaces the whole role, as OpenBao's pathRoleWrite: the CIDR lists are checked
first, then the key type decides which fields are kept (createCARole for "ca").
"""

from __future__ import annotations

import json

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.ssh import cidr, zeroaddress
from chalicelib.engines.ssh.role import (
    DEFAULT_ALGORITHM_SIGNER,
    DEFAULT_ISSUER_REF,
    DEFAULT_NOT_BEFORE,
    DEFAULT_PORT,
    KEY_TYPE_CA,
    KEY_TYPE_OTP,
    ROLE_PREFIX,
    Role,
    check_role_name,
    go_text,
    key_lengths,
    read_role,
    read_roles,
    write_role,
)
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of

RSA_SIGNERS = ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512")


def _check_cidrs(text: str, name: str) -> None:
    """cidrutil.ValidateCIDRListString; OpenBao reports its failure as a server error."""
    blocks = [item.strip() for item in text.split(",") if item.strip()]
    if not blocks:
        raise BadRequest(multierror(
            f"failed to validate {name}: missing CIDR blocks that needs validation"))
    for block in blocks:
        try:
            # The OTP mode's reading of net.ParseCIDR (one parser for both).
            cidr.parse_cidr(block)
        except cidr.CIDRError:
            raise BadRequest(multierror(
                f"failed to validate {name}: invalid CIDR address: {block}")) from None


def _ca_role(data: FieldData) -> Role:
    """OpenBao's createCARole."""
    signer = DEFAULT_ALGORITHM_SIGNER
    if data.is_set("algorithm_signer"):
        signer = data["algorithm_signer"] or DEFAULT_ALGORITHM_SIGNER
        if signer not in (*RSA_SIGNERS, DEFAULT_ALGORITHM_SIGNER):
            raise BadRequest(multierror(f"unknown algorithm signer {json.dumps(signer)}"))
    role = Role(
        key_type=KEY_TYPE_CA,
        default_user=data["default_user"],
        allowed_users=data["allowed_users"],
        port=0,
        **{name: data[name] for name in _CA_FIELDS},
        algorithm_signer=signer,
        issuer_ref=data["issuer_ref"] or DEFAULT_ISSUER_REF,
    )
    if not role.allow_user_certificates and not role.allow_host_certificates:
        raise BadRequest(
            "Either 'allow_user_certificates' or 'allow_host_certificates' must be set to 'true'"
        )
    role.default_critical_options = {k: go_text(v) for k, v in
                                     data["default_critical_options"].items()}
    role.default_extensions = {k: go_text(v) for k, v in data["default_extensions"].items()}
    role.allowed_user_key_lengths = key_lengths(data["allowed_user_key_lengths"])
    if role.ttl and role.max_ttl and role.ttl > role.max_ttl:
        raise BadRequest('"ttl" value must be less than "max_ttl" when both are specified')
    return role


def path_roles_write(request: Request, data: FieldData) -> None:
    check_role_name(data["role"])
    for name, label in (("cidr_list", "cidr_list"), ("exclude_cidr_list",
                                                     "exclude_cidr_list entry")):
        if data[name]:
            _check_cidrs(data[name], label)
    key_type = data["key_type"].lower()
    if not key_type:
        raise BadRequest("missing key type")
    if key_type == KEY_TYPE_OTP:
        if not data["default_user"]:
            raise BadRequest("missing default user")
        role = Role(
            key_type=KEY_TYPE_OTP, default_user=data["default_user"],
            allowed_users=data["allowed_users"], cidr_list=data["cidr_list"],
            exclude_cidr_list=data["exclude_cidr_list"], port=data["port"] or DEFAULT_PORT,
            not_before_duration=0, issuer_ref="", algorithm_signer="",
        )
    elif key_type == "dynamic":
        raise BadRequest("dynamic key type roles are no longer supported")
    elif key_type == KEY_TYPE_CA:
        role = _ca_role(data)
    else:
        raise BadRequest("invalid key type")
    write_role(view_of(request), data["role"], role)


def path_roles_read(request: Request, data: FieldData) -> Response | None:
    check_role_name(data["role"])
    role = read_role(view_of(request), data["role"])
    return None if role is None else Response(data=role.to_response())


def path_roles_delete(request: Request, data: FieldData) -> None:
    check_role_name(data["role"])
    view = view_of(request)
    zeroaddress.remove_role(view, data["role"])
    view.delete(ROLE_PREFIX + data["role"])


def path_roles_list(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    keys = page(view.list(ROLE_PREFIX), data["after"], data["limit"])
    if not keys:
        return None
    key_info: dict[str, dict[str, str]] = {}
    for name, role in read_roles(view, keys).items():
        if role.key_type not in (KEY_TYPE_OTP, KEY_TYPE_CA):
            continue
        info = {"key_type": role.key_type}
        if role.key_type == KEY_TYPE_CA:
            info["issuer_ref"] = role.issuer_ref
        key_info[name] = info
    return Response(data={"keys": keys, "key_info": key_info})


_BOOL_FIELDS = (
    "default_user_template", "allowed_users_template", "allowed_domains_template",
    "default_extensions_template", "allow_user_certificates", "allow_host_certificates",
    "allow_bare_domains", "allow_subdomains", "allow_user_key_ids",
    "allow_commas_in_identity_templates", "allow_wildcards_in_identity_templates",
    "allow_empty_principals",
)
# createCARole's fields taken as sent.
_CA_FIELDS = (
    *_BOOL_FIELDS, "allowed_domains", "ttl", "max_ttl", "allowed_critical_options",
    "allowed_extensions", "key_id_format", "not_before_duration",
)
_FIELDS = {
    "role": Field(FieldType.STRING, "", "Name of the role."),
    "key_type": Field(FieldType.STRING, "", "otp or ca."),
    "default_user": Field(FieldType.STRING, "", "Principal used when none is requested."),
    "allowed_users": Field(FieldType.STRING, "", "Comma list of allowed users, or *."),
    "cidr_list": Field(FieldType.STRING, "", "OTP: comma list of CIDR blocks served."),
    "exclude_cidr_list": Field(FieldType.STRING, "", "OTP: CIDR blocks left out."),
    "port": Field(FieldType.INT, 0, "OTP: the hosts' SSH port (22 when 0)."),
    "allowed_domains": Field(FieldType.STRING, "", "Host certificates: allowed domains."),
    "ttl": Field(FieldType.DURATION, 0, "Certificate TTL (0: the mount's default)."),
    "max_ttl": Field(FieldType.DURATION, 0, "Longest certificate TTL (0: the mount's)."),
    "allowed_critical_options": Field(FieldType.STRING, "", "Comma list of options."),
    "allowed_extensions": Field(FieldType.STRING, "", "Comma list of extensions, or *."),
    "default_critical_options": Field(FieldType.MAP, dict, "Options when none are sent."),
    "default_extensions": Field(FieldType.MAP, dict, "Extensions when none are sent."),
    "key_id_format": Field(FieldType.STRING, "", "Template of a certificate's key ID."),
    "allowed_user_key_lengths": Field(FieldType.MAP, dict, "Key type to allowed sizes."),
    "algorithm_signer": Field(FieldType.STRING, "", "RSA CA signature algorithm."),
    "not_before_duration": Field(
        FieldType.DURATION, DEFAULT_NOT_BEFORE, "How far valid_after is backdated."
    ),
    "issuer_ref": Field(FieldType.STRING, DEFAULT_ISSUER_REF, "The CA that signs."),
    **{name: Field(FieldType.BOOL, False, name.replace("_", " ") + ".")
       for name in _BOOL_FIELDS},
}


def paths() -> list[Path]:
    return [
        Path(
            "roles/?",
            {Operation.LIST: path_roles_list},
            fields=PAGE_FIELDS,
            synopsis="Manage the roles that can be created with this backend.",
        ),
        Path(
            "roles/{role}",
            crud(path_roles_read, path_roles_write, path_roles_delete),
            fields=_FIELDS,
            synopsis="Manage the roles that can be created with this backend.",
        ),
    ]

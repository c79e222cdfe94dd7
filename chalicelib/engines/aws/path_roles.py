"""`roles/<name>` (read, write, delete) and `roles/` (list), with Vault's validation.

A write updates only the fields it names (Vault's roles have no existence check: every
write is an update of what is there). The legacy ``policy`` and ``arn`` parameters build
the role Vault would upgrade them to, and cannot be mixed with the current ones.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.aws.role import (
    ROLE_PREFIX,
    Role,
    compact_json,
    legacy_role,
    read_role,
    write_role,
)
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.policy.errors import go_quote, multierror

LEGACY_WARNING = (
    "Detected use of legacy role or policy parameter. Please upgrade to use the new parameters."
)
# The current parameters that cannot be combined with a legacy one (in Vault's order).
_NOT_WITH_LEGACY = (
    "credential_type", "role_arns", "policy_arns", "policy_document", "default_sts_ttl",
    "max_sts_ttl", "user_path", "permissions_boundary_arn",
)


def path_roles_list(request: Request, data: FieldData) -> Response | None:
    keys = view_of(request).list(ROLE_PREFIX)
    return Response(data={"keys": keys}) if keys else None


def path_roles_read(request: Request, data: FieldData) -> Response | None:
    role = read_role(view_of(request), data["name"])
    return None if role is None else Response(data=role.to_api())


def path_roles_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(ROLE_PREFIX + data["name"])


def _legacy_value(data: FieldData) -> str:
    policy, arn = data["policy"], data["arn"]
    if policy and arn:
        raise BadRequest("only one of policy or arn should be provided")
    return policy or arn


def _apply(role: Role, data: FieldData) -> None:
    """Copy the parameters the request names onto `role`."""
    if data.is_set("credential_type"):
        role.credential_types = [data["credential_type"]]
    for name in ("role_arns", "policy_arns", "iam_groups"):
        if data.is_set(name):
            setattr(role, name, data[name])
    if data.is_set("policy_document"):
        document = data["policy_document"]
        try:
            role.policy_document = compact_json(document) if document else ""
        except ValueError:
            raise BadRequest(f"cannot parse policy document: {go_quote(document)}") from None
    for name in (
        "default_sts_ttl", "max_sts_ttl", "user_path", "permissions_boundary_arn", "iam_tags",
        "mfa_serial_number",
    ):
        if data.is_set(name):
            setattr(role, name, data[name])


def path_roles_write(request: Request, data: FieldData) -> Response | None:
    view = view_of(request)
    name = data["name"]
    role = read_role(view, name) or Role()
    warnings = []
    if role.invalid_data:
        warnings.append(f"Invalid data of {go_quote(role.invalid_data)} cleared out of role")
        role.invalid_data = ""
    legacy = _legacy_value(data)
    if legacy:
        for parameter in _NOT_WITH_LEGACY:
            if data.is_set(parameter):
                what = parameter
                if parameter == "credential_type":
                    what = "an explicit credential_type"
                raise BadRequest(f"cannot supply deprecated role or policy parameters with {what}")
    _apply(role, data)
    if legacy:
        role = legacy_role(legacy)
        if role.invalid_data:
            raise BadRequest(f"unable to parse supplied data: {go_quote(role.invalid_data)}")
        warnings.append(LEGACY_WARNING)
    else:
        role.prohibit_flexible_cred_path = False
    errors = role.validate()
    if errors:
        raise BadRequest(
            f"error(s) validating supplied role data: {go_quote(multierror(errors))}"
        )
    write_role(view, name, role)
    return Response(warnings=warnings) if warnings else None


_FIELDS = {
    "name": Field(FieldType.STRING, "", "Name of the role."),
    "credential_type": Field(
        FieldType.STRING, "",
        "iam_user, assumed_role, federation_token or session_token.",
    ),
    "role_arns": Field(FieldType.COMMA_STRING_LIST, description="Roles assumed_role may assume."),
    "policy_arns": Field(FieldType.COMMA_STRING_LIST, description="Managed policies to apply."),
    "policy_document": Field(FieldType.STRING, "", "An IAM policy document (JSON)."),
    "iam_groups": Field(FieldType.COMMA_STRING_LIST, description="Groups for generated users."),
    "iam_tags": Field(FieldType.KV_PAIRS, description="Tags for generated IAM users."),
    "default_sts_ttl": Field(FieldType.DURATION, 0, "Default TTL of STS credentials."),
    "max_sts_ttl": Field(FieldType.DURATION, 0, "Maximum TTL of STS credentials."),
    "permissions_boundary_arn": Field(FieldType.STRING, "", "Boundary for IAM users."),
    "user_path": Field(FieldType.STRING, "/", "Path of generated IAM users."),
    "mfa_serial_number": Field(FieldType.STRING, "", "MFA device for session_token."),
    "policy": Field(FieldType.STRING, "", "Deprecated: use policy_document."),
    "arn": Field(FieldType.STRING, "", "Deprecated: use role_arns or policy_arns."),
}


def paths() -> list[Path]:
    return [
        Path(
            "roles/?",
            {Operation.LIST: path_roles_list},
            synopsis="List the existing roles in this backend",
        ),
        Path(
            "roles/{name}",
            {
                Operation.READ: path_roles_read,
                Operation.UPDATE: path_roles_write,
                Operation.DELETE: path_roles_delete,
            },
            fields=_FIELDS,
            synopsis="Read, write and reference IAM policies that access keys can be made for.",
        ),
    ]

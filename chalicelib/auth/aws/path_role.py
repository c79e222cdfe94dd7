"""role/ and roles/ (list), role/:role (create, read, update, delete): iam roles only."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from chalicelib.auth.aws import iam
from chalicelib.auth.aws.arns import ArnError, is_wildcard, parse_arn
from chalicelib.auth.aws.config import ClientConfig, load_client
from chalicelib.auth.aws.roles import (
    IAM,
    LEGACY_FIELDS,
    Role,
    load,
    role_key,
    role_name,
    save,
)
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.fieldtypes import go_duration
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.framework.tokenfields import TOKEN_FIELDS
from chalicelib.policy.errors import go_quote
from chalicelib.system.mount_config import effective_ttls

EC2 = "ec2"
# ec2 role settings: refused with OpenBao's texts, since only the iam type is served.
_EC2_ONLY = (
    "bound_ami_id", "bound_account_id", "bound_region", "bound_vpc_id", "bound_subnet_id",
    "bound_iam_role_arn", "bound_iam_instance_profile_arn", "bound_ec2_instance_id",
    "role_tag", "disallow_reauthentication", "allow_instance_migration",
)  # fmt: skip
ROLE_FIELDS: Mapping[str, Field] = {
    **TOKEN_FIELDS,
    "auth_type": Field(FieldType.STRING, IAM),
    "bound_iam_principal_arn": Field(FieldType.COMMA_STRING_LIST, list),
    "resolve_aws_unique_ids": Field(FieldType.BOOL, True),
    "inferred_entity_type": Field(FieldType.STRING, ""),
    "inferred_aws_region": Field(FieldType.STRING, ""),
    "policies": Field(FieldType.COMMA_STRING_LIST, list),
    "ttl": Field(FieldType.DURATION, 0),
    "max_ttl": Field(FieldType.DURATION, 0),
    "period": Field(FieldType.DURATION, 0),
    **{name: Field(FieldType.ANY) for name in _EC2_ONLY},
}


def _exists(request: Request, data: FieldData) -> bool:
    return load(view_of(request), role_name(data)) is not None


def path_role_list(request: Request, data: FieldData) -> Response | None:
    names = page(view_of(request).list("role/"), data["after"], data["limit"])
    return Response(data={"keys": names}) if names else None  # none: 404, as every LIST


def path_role_read(request: Request, data: FieldData) -> Response | None:
    role = load(view_of(request), role_name(data))
    return None if role is None else Response(data=role.to_api())


def path_role_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(role_key(role_name(data)))


def path_role_write(request: Request, data: FieldData) -> Response | None:
    """OpenBao's pathRoleCreateUpdate for iam roles: only what the request sets changes."""
    assert request.mount is not None
    view = view_of(request)
    name = role_name(data)
    current = load(view, name)
    role = current or Role(role_id=str(uuid.uuid4()))
    role = _auth_type(role, data, creating=current is None)
    _refuse_ec2(data)
    resolve = _resolve_setting(role, data, creating=current is None)
    arns, ids = role.bound_iam_principal_arns, role.bound_iam_principal_ids
    if data.is_set("bound_iam_principal_arn"):
        arns, ids = tuple(data["bound_iam_principal_arn"]), ()
    if resolve and not ids:
        # Also when resolution is being turned on for the binds already there.
        ids = _unique_ids(load_client(view) or ClientConfig(), arns)
    if not arns:
        raise BadRequest("at least one bound parameter should be specified on the role")
    token = role.token.parsed(data, LEGACY_FIELDS)
    max_ttl = effective_ttls(request.mount)[1]
    if token.period > max_ttl:
        raise BadRequest(
            f"period of {go_quote(go_duration(token.period))} is greater than the backend's "
            f"maximum lease TTL of {go_quote(go_duration(max_ttl))}"
        )
    role = role._replace(
        bound_iam_principal_arns=arns, bound_iam_principal_ids=ids,
        resolve_aws_unique_ids=resolve, token=token,
    )  # fmt: skip
    save(view, name, role)
    if token.max_ttl > max_ttl:
        return Response(warnings=[
            f"Given max ttl of {token.max_ttl} seconds greater than current mount/system "
            f"default of {max_ttl} seconds; max ttl will be capped at login time"
        ])  # fmt: skip
    return None


def _auth_type(role: Role, data: FieldData, *, creating: bool) -> Role:
    if not data.is_set("auth_type"):
        return role
    wanted = data["auth_type"]
    if not creating and wanted != role.auth_type:
        raise BadRequest("changing auth_type on a role is not allowed")
    if wanted == EC2:
        raise BadRequest("auth_type ec2 is not supported here; only iam roles are")
    if wanted != IAM:
        raise BadRequest(f"unrecognized auth_type: {wanted}")
    return role


def _refuse_ec2(data: FieldData) -> None:
    if data["inferred_entity_type"] or data["inferred_aws_region"]:
        raise BadRequest("inferred_entity_type and inferred_aws_region are not supported here")
    for name in _EC2_ONLY:
        if data.is_set(name):
            raise BadRequest(
                f"specified {name} but not specifying ec2 auth_type or inferring ec2_instance"
            )


def _resolve_setting(role: Role, data: FieldData, *, creating: bool) -> bool:
    if not data.is_set("resolve_aws_unique_ids"):
        return role.resolve_aws_unique_ids
    wanted: bool = data["resolve_aws_unique_ids"]
    if not creating and role.resolve_aws_unique_ids and not wanted:
        raise BadRequest("changing resolve_aws_unique_ids from true to false is not allowed")
    return wanted


def _unique_ids(config: ClientConfig, arns: tuple[str, ...]) -> tuple[str, ...]:
    ids = []
    for arn in arns:
        if is_wildcard(arn):
            continue
        try:
            ids.append(iam.unique_id(config, parse_arn(arn)))
        except (ArnError, iam.IamError) as error:
            raise BadRequest(
                f"unable to resolve ARN {go_quote(arn)} to internal ID: {error}"
            ) from None
    return tuple(ids)


def _prefetch(captures: Mapping[str, str]) -> list[str]:
    return [role_key(captures["role"])]


def paths() -> list[Path]:
    op = Operation
    return [
        Path("role/?", {op.LIST: path_role_list}, PAGE_FIELDS),
        Path("roles/?", {op.LIST: path_role_list}, PAGE_FIELDS),
        Path(
            "role/{role}",
            crud(path_role_read, path_role_write, path_role_delete),
            ROLE_FIELDS,
            exists=_exists,
            prefetch=_prefetch,
        ),
    ]

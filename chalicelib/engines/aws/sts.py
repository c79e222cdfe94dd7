"""The STS credential types: assumed_role, federation_token and session_token.

STS credentials expire by themselves and cannot be revoked or renewed, but they are still
leased (Vault: clients rely on a non-zero lease_duration), for exactly their lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.request import Response
from chalicelib.engines.aws.clients import iam_client
from chalicelib.engines.aws.config import RootConfig
from chalicelib.engines.aws.errors import reported_as
from chalicelib.engines.aws.policies import combine, group_policies
from chalicelib.engines.aws.role import FEDERATION_TOKEN, Role
from chalicelib.engines.aws.secret import SECRET_TYPE
from chalicelib.leases.secret import Secret

if TYPE_CHECKING:
    from botocore.client import BaseClient

def scoped_policies(config: RootConfig, role: Role) -> tuple[str, list[str]]:
    """The session policy document and policy ARNs: the role's plus its groups'."""
    document, arns = role.policy_document, list(role.policy_arns or [])
    if not role.iam_groups:
        return document, arns  # no IAM client needed
    documents, group_arns = group_policies(iam_client(config), role.iam_groups)
    if documents:
        try:
            document = combine([*documents, document])
        except ValueError as error:
            raise BadRequest(str(error)) from None
    return document, arns + group_arns


def _session_policies(document: str, arns: Sequence[str]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if document:
        request["Policy"] = document
    if arns:
        request["PolicyArns"] = [{"arn": arn} for arn in arns]
    return request


def _leased(
    credentials: dict[str, Any], extra: dict[str, Any], internal: dict[str, Any]
) -> Response:
    expiration: datetime = credentials["Expiration"]
    # At least 1: a ttl of 0 would mean "the mount's default" to the lease manager.
    ttl = max(int(expiration.timestamp() - time.time()), 1)
    data = {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        **extra,
        "ttl": ttl,
    }
    secret = Secret(type=SECRET_TYPE, internal={**internal, "is_sts": True}, ttl=ttl,
                    renewable=False)
    return Response(data=data, secret=secret)


def assume_role(
    sts: BaseClient, *, role_arn: str, session_name: str, document: str, arns: Sequence[str],
    ttl: int,
) -> Response:
    with reported_as("Error assuming role"):
        answer = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=ttl,
            **_session_policies(document, arns),
        )
    token = answer["Credentials"]["SessionToken"]
    return _leased(
        answer["Credentials"],
        {"security_token": token, "session_token": token, "arn": answer["AssumedRoleUser"]["Arn"]},
        {"username": session_name, "policy": role_arn},
    )


def federation_token(
    sts: BaseClient, *, name: str, document: str, arns: Sequence[str], ttl: int
) -> Response:
    # Without a policy the token would carry all of this server's own permissions.
    if not document and not arns:
        raise BadRequest(
            "must specify at least one of policy_arns or policy_document with "
            f"{FEDERATION_TOKEN} credential_type"
        )
    with reported_as("Error generating STS keys"):
        answer = sts.get_federation_token(
            Name=name, DurationSeconds=ttl, **_session_policies(document, arns)
        )
    token = answer["Credentials"]["SessionToken"]
    return _leased(
        answer["Credentials"],
        {"security_token": token, "session_token": token},
        {"username": name, "policy": document},
    )


def session_token(sts: BaseClient, *, serial_number: str, mfa_code: str, ttl: int) -> Response:
    request: dict[str, Any] = {"DurationSeconds": ttl}
    if serial_number:
        request["SerialNumber"] = serial_number
    if mfa_code:
        request["TokenCode"] = mfa_code
    with reported_as("Error generating STS keys"):
        answer = sts.get_session_token(**request)
    return _leased(
        answer["Credentials"], {"session_token": answer["Credentials"]["SessionToken"]}, {}
    )

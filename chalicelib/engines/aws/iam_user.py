"""The iam_user credential: a new IAM user with the role's policies, groups, tags and one
access key; and its undoing on revocation.

Vault guards the window between creating the user and handing out its lease with a WAL
entry that a rollback job replays after five minutes. A Lambda has no such job, so a
failure after the user exists deletes it at once, before the error is returned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import VaultError
from chalicelib.engines.aws.errors import NO_SUCH_ENTITY, error_code, reported_as
from chalicelib.engines.aws.role import Role
from chalicelib.observability import logger

if TYPE_CHECKING:
    from botocore.client import BaseClient

# Right after CreateUser, IAM may still say the user does not exist (eventual
# consistency). A lease younger than this whose user seems gone is retried later rather
# than forgotten with a live user behind it (Vault's minAwsUserRollbackAge).
MIN_ROLLBACK_AGE = timedelta(minutes=5)


class RevocationError(VaultError):
    """An IAM user could not be removed (yet); the lease manager retries."""


def create_user(iam: BaseClient, username: str, role: Role, role_name: str) -> dict[str, Any]:
    """Create `username` as `role` describes and return its new access key."""
    request: dict[str, Any] = {"UserName": username, "Path": role.user_path or "/"}
    if role.permissions_boundary_arn:
        request["PermissionsBoundary"] = role.permissions_boundary_arn
    with reported_as("Error creating IAM user"):
        iam.create_user(**request)
    try:
        return _equip(iam, username, role, role_name)
    except Exception:
        _roll_back(iam, username)
        raise


def _equip(iam: BaseClient, username: str, role: Role, role_name: str) -> dict[str, Any]:
    for arn in role.policy_arns or []:
        with reported_as("Error attaching user policy"):
            iam.attach_user_policy(UserName=username, PolicyArn=arn)
    if role.policy_document:
        with reported_as("Error putting user policy"):
            iam.put_user_policy(
                UserName=username, PolicyName=role_name, PolicyDocument=role.policy_document
            )
    for group in role.iam_groups or []:
        with reported_as("Error adding user to group"):
            iam.add_user_to_group(UserName=username, GroupName=group)
    if role.iam_tags:
        tags = [{"Key": key, "Value": value} for key, value in role.iam_tags.items()]
        with reported_as("Error adding tags to user"):
            iam.tag_user(UserName=username, Tags=tags)
    with reported_as("Error creating access keys"):
        return iam.create_access_key(UserName=username)["AccessKey"]


def _roll_back(iam: BaseClient, username: str) -> None:
    try:
        delete_user(iam, username, issued=datetime.now(UTC))
    except VaultError:
        # The name is not secret; an operator needs it to remove the user by hand.
        logger.exception("could not roll back an IAM user", extra={"iam_user": username})


def delete_user(iam: BaseClient, username: str, *, issued: datetime) -> None:
    """Remove the user's keys, policies and group memberships, then the user (Vault's
    order: IAM refuses to delete a user that still has any). Idempotent: a user already
    gone is success once IAM can be trusted to know it (see MIN_ROLLBACK_AGE)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _delete_user(iam, username)
    except (ClientError, BotoCoreError) as error:
        code = error_code(error)
        if code != NO_SUCH_ENTITY:
            reason = code or type(error).__name__
            raise RevocationError(f"failed to revoke IAM user {username}: {reason}") from None
        if datetime.now(UTC) - issued < MIN_ROLLBACK_AGE:
            raise RevocationError(
                f"IAM user {username} not found yet; retrying after IAM catches up"
            ) from None


def _delete_user(iam: BaseClient, username: str) -> None:
    user = {"UserName": username}
    groups = _listed(iam, "list_groups_for_user", "Groups", user)
    inline = _listed(iam, "list_user_policies", "PolicyNames", user)
    managed = _listed(iam, "list_attached_user_policies", "AttachedPolicies", user)
    keys = _listed(iam, "list_access_keys", "AccessKeyMetadata", user)
    for key in keys:
        _gone_is_fine(iam.delete_access_key, UserName=username, AccessKeyId=key["AccessKeyId"])
    for policy in managed:
        _gone_is_fine(iam.detach_user_policy, UserName=username, PolicyArn=policy["PolicyArn"])
    for name in inline:
        _gone_is_fine(iam.delete_user_policy, UserName=username, PolicyName=name)
    for group in groups:
        _gone_is_fine(iam.remove_user_from_group, UserName=username, GroupName=group["GroupName"])
    _gone_is_fine(iam.delete_user, UserName=username)


def _listed(iam: BaseClient, operation: str, key: str, params: dict[str, str]) -> list[Any]:
    return [item for page in iam.get_paginator(operation).paginate(**params) for item in page[key]]


def _gone_is_fine(call: Any, **params: str) -> None:
    """One removal step; already removed (an overlapping or earlier revoke) is done."""
    from botocore.exceptions import ClientError

    try:
        call(**params)
    except ClientError as error:
        if error_code(error) != NO_SUCH_ENTITY:
            raise

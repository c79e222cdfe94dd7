"""IAM lookups: a bound ARN's unique ID (resolve_aws_unique_ids) and a caller's full ARN
(for ``*`` binds), through the mount's config/client credentials or, without keys, the
function's own role (iam:GetUser, iam:GetRole, iam:GetInstanceProfile).

Clients are built once per container for each configuration; full ARNs are remembered
by unique ID (a unique ID never names another principal) in a small bounded memo.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from chalicelib.auth.aws.arns import IamEntity
from chalicelib.auth.aws.config import ClientConfig
from chalicelib.core.awsclient import ClientSpec, client_for
from chalicelib.settings import settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

# IAM is global per partition: any region of the partition finds its endpoint.
_PARTITION_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
_MEMO_SIZE = 256
_MEMO_SECONDS = 3600.0


class IamError(Exception):
    """An IAM lookup failed; the message names the AWS error code, never a credential."""


def unique_id(config: ClientConfig, entity: IamEntity) -> str:
    """The principal's unique ID (AIDA… for a user, AROA… for a role). A session ARN has
    none of its own: binding it by its role's ID would admit every session of the role."""
    if entity.type == "assumed-role":
        raise IamError(f'unrecognized error type "{entity.type}"')  # OpenBao's words
    iam = _client(config, entity.partition)
    try:
        if entity.type == "user":
            return str(iam.get_user(UserName=entity.friendly_name)["User"]["UserId"])
        if entity.type == "role":
            return str(iam.get_role(RoleName=entity.friendly_name)["Role"]["RoleId"])
        profile = iam.get_instance_profile(InstanceProfileName=entity.friendly_name)
        return str(profile["InstanceProfile"]["InstanceProfileId"])
    except Exception as error:  # botocore's ClientError and BotoCoreError alike
        raise IamError(_describe(error)) from None


def full_arn(config: ClientConfig, entity: IamEntity, caller_unique_id: str) -> str:
    """The caller's ARN as IAM knows it (with its path), for matching ``*`` binds."""
    remembered = _memo.get(caller_unique_id)
    if remembered:
        return remembered
    iam = _client(config, entity.partition)
    try:
        if entity.type == "user":
            arn = str(iam.get_user(UserName=entity.friendly_name)["User"]["Arn"])
        elif entity.type in ("role", "assumed-role"):
            arn = str(iam.get_role(RoleName=entity.friendly_name)["Role"]["Arn"])
        else:
            raise IamError(f"unrecognized entity type: {entity.type}")
    except IamError:
        raise
    except Exception as error:
        raise IamError(_describe(error)) from None
    if caller_unique_id:
        _memo.put(caller_unique_id, arn)
    return arn


def _describe(error: Exception) -> str:
    details = getattr(error, "response", {}).get("Error", {})
    if details.get("Code"):
        return f"{details['Code']}: {details.get('Message', '')}".rstrip(": ")
    return f"IAM is unreachable ({type(error).__name__})"


def _client(config: ClientConfig, partition: str) -> BaseClient:
    region = _PARTITION_REGIONS.get(partition)
    if region is None:
        raise IamError(f'unable to resolve partition "{partition}" to a region')
    keys = (config.access_key, config.secret_key) if config.access_key else ("", "")
    spec = ClientSpec(
        "iam", region, config.iam_endpoint or settings().endpoint_url, config.max_retries,
        *keys, connect_timeout=2, read_timeout=4,
    )  # fmt: skip
    return client_for(spec)


class _Memo:
    """A bounded, time-limited map, safe across the dev server's threads."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str:
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] < time.monotonic():
                return ""
            return found[1]

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + _MEMO_SECONDS, value)
            self._items.move_to_end(key)
            while len(self._items) > _MEMO_SIZE:
                self._items.popitem(last=False)


_memo = _Memo()

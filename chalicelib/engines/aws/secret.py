"""The "access_keys" secret type: what the lease manager calls to renew or revoke.

Revoking an IAM user's lease deletes the user (and all it holds); STS leases need
nothing, their credentials expire by themselves. Renewing an IAM user's lease takes
config/lease as it is now; STS leases are not renewable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest
from chalicelib.engines.aws import config as stored
from chalicelib.engines.aws.clients import iam_client
from chalicelib.engines.aws.iam_user import RevocationError, delete_user
from chalicelib.leases.secret import LeaseInfo, Secret, SecretType

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# Vault's name for every credential this engine leases, IAM user or STS.
SECRET_TYPE = "access_keys"  # noqa: S105 - a type name, not a secret


def _is_sts(lease: LeaseInfo) -> bool:
    # Leases without the flag predate STS support in Vault and are IAM users.
    flag = lease.internal.get("is_sts", False)
    if not isinstance(flag, bool):
        raise RevocationError("secret has is_sts but value could not be understood")
    return flag


def revoke_access_keys(view: StorageView, lease: LeaseInfo) -> None:
    if _is_sts(lease):
        return
    username = lease.internal.get("username")
    if not isinstance(username, str) or not username:
        raise RevocationError("secret is missing username internal data")
    delete_user(iam_client(stored.read_root(view)), username, issued=lease.issue_time)


def renew_access_keys(view: StorageView, lease: LeaseInfo) -> Secret:
    if _is_sts(lease):
        raise BadRequest("lease is not renewable")
    config = stored.read_lease(view) or stored.LeaseConfig()
    return Secret(
        type=SECRET_TYPE,
        internal=lease.internal,
        ttl=config.lease,
        max_ttl=config.lease_max,
        renewable=True,
    )


ACCESS_KEYS = SecretType(name=SECRET_TYPE, revoke=revoke_access_keys, renew=renew_access_keys)

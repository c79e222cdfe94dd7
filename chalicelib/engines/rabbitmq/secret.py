"""The "creds" secret type: what the lease manager calls to renew or revoke a user.

Revoking deletes the RabbitMQ user (one that is gone already counts as revoked);
renewing takes config/lease as it is now, as Vault's secretCredsRenew.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest
from chalicelib.engines.rabbitmq import config as stored
from chalicelib.engines.rabbitmq.management import Management, ManagementError
from chalicelib.leases.secret import LeaseInfo, Secret, SecretType

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# Vault's name for the secret type (kept with every lease).
SECRET_TYPE = "creds"  # noqa: S105 - a type name, not a secret


def revoke_creds(view: StorageView, lease: LeaseInfo) -> None:
    username = lease.internal.get("username")
    if not isinstance(username, str) or not username:
        raise BadRequest("secret is missing username internal data")
    try:
        Management(stored.read_connection(view)).delete_user(username)
    except ManagementError as error:
        raise BadRequest(f"could not delete user: {error}") from None


def renew_creds(view: StorageView, lease: LeaseInfo) -> Secret:
    config = stored.read_lease(view) or stored.LeaseConfig()
    return Secret(type=SECRET_TYPE, internal=lease.internal, ttl=config.ttl,
                  max_ttl=config.max_ttl)


CREDS = SecretType(name=SECRET_TYPE, revoke=revoke_creds, renew=renew_creds)

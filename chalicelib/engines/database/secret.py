"""The "creds" secret type: renewing moves the user's expiry in the database, revoking
drops the user (Vault's secretCreds). Both use the config as it is now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from chalicelib.core.errors import BadRequest
from chalicelib.engines.database import config as stored
from chalicelib.engines.database.plugins import plugin_for
from chalicelib.engines.database.role import read_role
from chalicelib.leases.secret import LeaseInfo, Secret, SecretType

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

SECRET_TYPE = "creds"  # noqa: S105 - Vault's secret type name


def _internal(lease: LeaseInfo, key: str) -> str:
    value = lease.internal.get(key)
    if not isinstance(value, str) or not value:
        raise BadRequest(f'secret is missing "{key}" field in internal data')
    return value


def renew_creds(view: StorageView, lease: LeaseInfo) -> Secret:
    role_name = _internal(lease, "role")
    role = read_role(view, role_name)
    if role is None:
        raise BadRequest(f'error during renew: could not find role with name "{role_name}"')
    # The lease manager bounds the result by the mount too; the database is told the
    # role's bound, which is never earlier than the lease's own end.
    ttl = lease.increment or role.default_ttl or int(
        (lease.expire_time - lease.issue_time).total_seconds()
    )
    expiration = datetime.now(UTC) + timedelta(seconds=ttl)
    if role.max_ttl:
        expiration = min(expiration, lease.issue_time + timedelta(seconds=role.max_ttl))
    config = stored.require_config(view, role.db_name)
    plugin_for(config.plugin_name).update_expiration(
        config.connection(role.db_name), _internal(lease, "username"), expiration,
        tuple(role.renew_statements),
    )
    return Secret(type=SECRET_TYPE, internal=lease.internal, ttl=ttl, max_ttl=role.max_ttl)


def revoke_creds(view: StorageView, lease: LeaseInfo) -> None:
    db_name = _internal(lease, "db_name")
    role = read_role(view, _internal(lease, "role"))
    statements = role.revocation_statements if role is not None else list(
        lease.internal.get("revocation_statements") or []
    )
    config = stored.require_config(view, db_name)
    plugin_for(config.plugin_name).delete_user(
        config.connection(db_name), _internal(lease, "username"), tuple(statements)
    )


CREDS = SecretType(name=SECRET_TYPE, revoke=revoke_creds, renew=renew_creds)

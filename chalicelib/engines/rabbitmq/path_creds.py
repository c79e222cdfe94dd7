"""`creds/<name>` (read): a new RabbitMQ user with the role's tags and permissions,
leased for config/lease's TTL (0: the mount's) and renewable.

Nothing is left half-made: if a permission cannot be set, the user is deleted again and
no lease exists; if the lease cannot be stored, the lease manager revokes the user.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.core.errors import BadRequest, multierror
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.rabbitmq import config as stored
from chalicelib.engines.rabbitmq.management import (
    CLEANUP_BUDGET,
    Management,
    ManagementError,
)
from chalicelib.engines.rabbitmq.role import ROLE_PREFIX, Role, read_role
from chalicelib.engines.rabbitmq.secret import SECRET_TYPE
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.generators.generator import LOWERCASE, NUMERIC, UPPERCASE, random_string
from chalicelib.generators.passwords import generate_password
from chalicelib.generators.usernames import render_username
from chalicelib.leases.secret import Secret
from chalicelib.observability import logger

# Vault's rabbitmq passwords when no policy is named: base62.Random(36).
DEFAULT_PASSWORD_LENGTH = 36
BASE62 = NUMERIC + UPPERCASE + LOWERCASE


def prefetch_creds(captures: Mapping[str, str]) -> Sequence[str]:
    """Everything a credential read looks up, for the pipeline's first round trip."""
    return [ROLE_PREFIX + captures["name"], stored.CONNECTION_KEY, stored.LEASE_KEY]


def _password(policy: str) -> str:
    if not policy:
        return random_string(BASE62, DEFAULT_PASSWORD_LENGTH)
    try:
        return generate_password(policy)
    except BadRequest as error:
        raise BadRequest(multierror(error.message)) from None


def _username(config: stored.ConnectionConfig, request: Request, role_name: str) -> str:
    display_name = request.token.display_name if request.token else ""
    try:
        return render_username(config.template, display_name=display_name, role_name=role_name)
    except BadRequest as error:
        raise BadRequest(multierror(error.message)) from None


def _grant(api: Management, username: str, role: Role) -> None:
    """The role's vhost permissions, then its topic permissions (Vault's order)."""
    for vhost, permission in role.vhosts.items():
        api.put_permissions(vhost, username, permission)
    for vhost, exchanges in role.vhost_topics.items():
        for exchange, permission in exchanges.items():
            api.put_topic_permissions(vhost, username, exchange, permission)


def _delete_quietly(config: stored.ConnectionConfig, username: str) -> None:
    try:
        Management(config, CLEANUP_BUDGET).delete_user(username)
    except ManagementError:
        # Vault logs it too; the user is left for an operator (no lease names it).
        logger.error("deleting a user whose permissions are in an unknown state failed")


def path_creds_read(request: Request, data: FieldData) -> Response:
    view = view_of(request)
    name = data["name"]
    role = read_role(view, name)
    if role is None:
        raise BadRequest(f"unknown role: {name}")
    config = stored.read_connection(view)
    username = _username(config, request, name)
    password = _password(config.password_policy)
    # Read before the user exists: a failure after PutUser would leave it to be rolled back.
    lease = stored.read_lease(view) or stored.LeaseConfig()
    api = Management(config)
    try:
        api.put_user(username, password, role.tags)
    except ManagementError as error:
        if error.uncertain:
            _delete_quietly(config, username)
        # Vault's words, without the cause.
        raise BadRequest(
            multierror("failed to create a new user with the generated credentials")
        ) from None
    try:
        _grant(api, username, role)
    except ManagementError as error:
        _delete_quietly(config, username)
        raise BadRequest(multierror(str(error))) from None
    secret = Secret(type=SECRET_TYPE, internal={"username": username}, ttl=lease.ttl,
                    max_ttl=lease.max_ttl)
    return Response(data={"username": username, "password": password}, secret=secret)


def paths() -> list[Path]:
    return [
        Path(
            "creds/{name}",
            {Operation.READ: path_creds_read},
            fields={"name": Field(FieldType.STRING, "", "Name of the role.")},
            prefetch=prefetch_creds,
            side_effects=True,
            synopsis="Request RabbitMQ credentials for a certain role.",
        )
    ]

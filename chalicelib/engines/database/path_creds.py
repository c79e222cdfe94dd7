"""`creds/:name` and `static-creds/:name`: a new leased user, or a static role's current
password.

A new user expires in the database when its lease does (VALID UNTIL = now + the lease's
TTL, worked out here as the lease manager will: the role's TTLs bounded by the mount's).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.database import config as stored
from chalicelib.engines.database.plugin import NewUser
from chalicelib.engines.database.plugins import plugin_for
from chalicelib.engines.database.role import ROLE_PREFIX, read_role
from chalicelib.engines.database.secret import CREDS
from chalicelib.engines.database.static import read_static, rfc3339
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.storage import view_of
from chalicelib.generators.passwords import generate_password
from chalicelib.leases.secret import Secret
from chalicelib.system.mount_config import effective_ttls


def prefetch_creds(captures: Mapping[str, str]) -> Sequence[str]:
    return [ROLE_PREFIX + captures["name"]]


def path_creds_read(request: Request, data: FieldData) -> Response:
    view, name = view_of(request), data["name"]
    role = read_role(view, name)
    if role is None:
        raise BadRequest(f"unknown role: {name}")
    config = stored.require_config(view, role.db_name)
    config.check_allowed(name)
    assert request.mount is not None
    mount_default, mount_max = effective_ttls(request.mount)
    max_ttl = min(role.max_ttl, mount_max) if role.max_ttl else mount_max
    ttl = min(role.default_ttl or mount_default, max_ttl)
    password = generate_password(config.password_policy)
    username = plugin_for(config.plugin_name).new_user(
        config.connection(role.db_name),
        NewUser(
            display_name=request.token.display_name if request.token else "",
            role_name=name,
            username_template=config.username_template,
            password=password,
            expiration=datetime.now(UTC) + timedelta(seconds=ttl),
            creation_statements=tuple(role.creation_statements),
            rollback_statements=tuple(role.rollback_statements),
        ),
    )
    secret = Secret(
        type=CREDS.name,
        # The revocation details travel with the lease: a role deleted later can still
        # have its users dropped (Vault's db_name/revocation_statements internal data).
        internal={
            "username": username, "role": name, "db_name": role.db_name,
            "revocation_statements": role.revocation_statements,
        },
        ttl=ttl,
        max_ttl=role.max_ttl,
    )
    return Response(data={"username": username, "password": password}, secret=secret)


def path_static_creds_read(request: Request, data: FieldData) -> Response:
    view, name = view_of(request), data["name"]
    role = read_static(view, name)
    if role is None:
        raise BadRequest(f"unknown role: {name}")
    stored.require_config(view, role.db_name).check_allowed(name)
    now = time.time()
    return Response(data={
        "username": role.username,
        "password": role.password,
        "last_vault_rotation": rfc3339(role.last_vault_rotation),
        "ttl": role.ttl(now),
        **role.schedule_api(),
    })


def paths() -> list[Path]:
    name = {"name": Field(FieldType.STRING, "", "Name of the role.")}
    return [
        Path("creds/{name}", {Operation.READ: path_creds_read}, fields=name,
             prefetch=prefetch_creds, side_effects=True,
             synopsis="Request database credentials for a certain role."),
        Path("static-creds/{name}", {Operation.READ: path_static_creds_read}, fields=name,
             synopsis="Request database credentials for a certain static role."),
    ]

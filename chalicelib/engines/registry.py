"""Which backend serves each mount type; backends are imported only when first used."""

from __future__ import annotations

import importlib
from functools import cache

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import MountEntry
from chalicelib.framework import Backend

# type name -> "module:factory". Adding an engine is one line here.
SECRETS_ENGINES: dict[str, str] = {
    "system": "chalicelib.system.backend:backend",
    "kv": "chalicelib.engines.kv.backend:backend",
    "cubbyhole": "chalicelib.engines.cubbyhole.backend:backend",
    "transit": "chalicelib.engines.transit.backend:backend",
    "aws": "chalicelib.engines.aws.backend:backend",
    "identity": "chalicelib.engines.identity.backend:backend",
    "database": "chalicelib.engines.database.backend:backend",
    "rabbitmq": "chalicelib.engines.rabbitmq.backend:backend",
    "ssh": "chalicelib.engines.ssh.backend:backend",
    "pki": "chalicelib.engines.pki.backend:backend",
}
AUTH_METHODS: dict[str, str] = {
    "token": "chalicelib.auth.token.backend:backend",
    "userpass": "chalicelib.auth.userpass.backend:backend",
    "approle": "chalicelib.auth.approle.backend:backend",
    "aws": "chalicelib.auth.aws.backend:backend",
    "jwt": "chalicelib.auth.jwt.backend:backend",
    "oidc": "chalicelib.auth.jwt.backend:backend",
    "ldap": "chalicelib.auth.ldap.backend:backend",
}
# Types that exist exactly once, created at init, and cannot be enabled again.
SINGLETONS = frozenset({"system", "cubbyhole", "token", "identity"})


def backend_of(mount: MountEntry) -> Backend:
    """The backend serving ``mount`` (a type name such as "aws" may be both a secrets
    engine and an auth method: the mount's table says which)."""
    return backend_for(mount.type, auth=mount.table == "auth").for_mount(mount)


@cache
def backend_for(type_name: str, *, auth: bool = False) -> Backend:
    target = (AUTH_METHODS if auth else SECRETS_ENGINES).get(type_name)
    if target is None:
        raise BadRequest(f"plugin not found in the catalog: {type_name}")
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)()


def check_mountable(type_name: str, *, auth: bool) -> None:
    """What sys/mounts and sys/auth accept: a known type of the right kind, not a singleton."""
    if auth and type_name == "token":
        raise BadRequest("token credential backend cannot be instantiated")
    if type_name in SINGLETONS:
        raise BadRequest(f'mount type of "{type_name}" is not mountable')
    if type_name not in (AUTH_METHODS if auth else SECRETS_ENGINES):
        raise BadRequest(f"plugin not found in the catalog: {type_name}")

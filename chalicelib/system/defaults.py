"""The mount tables a freshly initialised cluster starts with (as Vault: sys, identity, cubbyhole,
token)."""

from __future__ import annotations

from chalicelib.core.mounts import SYSTEM_MOUNT, MountEntry, MountTable


def default_tables() -> dict[str, MountTable]:
    cubbyhole = MountEntry.new(
        "cubbyhole/", "cubbyhole", description="per-token private secret storage", local=True
    )
    token = MountEntry.new("token/", "token", description="token based credentials", table="auth")
    system = MountEntry.new(
        SYSTEM_MOUNT.path, "system", description=SYSTEM_MOUNT.description, seal_wrap=True
    )
    identity = MountEntry.new("identity/", "identity", description="identity store")
    return {"mounts": MountTable((system, identity, cubbyhole)), "auth": MountTable((token,))}

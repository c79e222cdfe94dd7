"""What `lambdavault server -dev` does after creating its AWS resources: init, unseal, mount."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from chalicelib.core.mounts import MountEntry, MountTable
from chalicelib.core.runtime import runtime
from chalicelib.engines.registry import SECRETS_ENGINES
from chalicelib.seal import lifecycle
from chalicelib.system.defaults import default_tables


@dataclass(frozen=True, slots=True)
class DevBootstrap:
    root_token: str
    recovery_key: str  # base64, the single share of a 1-of-1 split
    mounted: list[str]


def bootstrap_dev(root_token_id: str | None = None) -> DevBootstrap:
    """Initialise with one recovery share, as ``bao server -dev`` does with one unseal key."""
    rt = runtime()
    rt.ensure_loaded()
    tables = default_tables()
    if "kv" in SECRETS_ENGINES:
        kv = MountEntry.new(
            "secret/", "kv", description="key/value secret storage", options={"version": "2"}
        )
        tables["mounts"] = MountTable((*tables["mounts"].entries, kv))
    result = lifecycle.initialize(rt, 1, 1, tables, root_token_id=root_token_id)
    mounted = [entry.router_path for name in ("mounts", "auth") for entry in tables[name].entries]
    return DevBootstrap(
        root_token=result.root_token,
        recovery_key=base64.b64encode(result.recovery_keys[0]).decode(),
        mounted=mounted,
    )

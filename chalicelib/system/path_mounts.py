"""sys/mounts and sys/auth: enable, list, read, tune and disable mounts.

The two tables behave the same, so every handler here is built for a table name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import RESERVED_PREFIXES, MountConfig, MountEntry, MountTable
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.engines.registry import SINGLETONS, check_mountable
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.framework.path import Handler
from chalicelib.leases import manager as leases
from chalicelib.storage.view import StorageView
from chalicelib.system.mount_config import (
    KV_TYPE,
    VersionChange,
    apply_config,
    check_enable_version,
    merged_options,
    normalize_mount_path,
    resolve_kv_alias,
    tune_changes,
    tune_view,
    tuned_options,
    version_change,
)

_ENABLE_FIELDS = {
    "type": Field(FieldType.STRING, ""),
    "description": Field(FieldType.STRING, ""),
    "config": Field(FieldType.MAP, dict),
    "options": Field(FieldType.MAP),
    "local": Field(FieldType.BOOL, False),
    "seal_wrap": Field(FieldType.BOOL, False),
    "external_entropy_access": Field(FieldType.BOOL, False),
    "plugin_name": Field(FieldType.STRING, ""),
    "plugin_version": Field(FieldType.STRING, ""),
}
_TUNE_FIELDS = {
    "default_lease_ttl": Field(FieldType.ANY),
    "max_lease_ttl": Field(FieldType.ANY),
    "description": Field(FieldType.STRING),
    "options": Field(FieldType.MAP),
    "listing_visibility": Field(FieldType.STRING),
    "force_no_cache": Field(FieldType.BOOL),
    "passthrough_request_headers": Field(FieldType.COMMA_STRING_LIST),
    "allowed_response_headers": Field(FieldType.COMMA_STRING_LIST),
    "audit_non_hmac_request_keys": Field(FieldType.COMMA_STRING_LIST),
    "audit_non_hmac_response_keys": Field(FieldType.COMMA_STRING_LIST),
    "token_type": Field(FieldType.STRING),
    "user_lockout_config": Field(FieldType.MAP),
    "plugin_version": Field(FieldType.STRING),
}


_MISSING = {"auth": "No auth engine at {path}", "mounts": "No secret engine mount at {path}"}


def find_mount(table: str, path: str, failure: str) -> MountEntry:
    """The entry at ``path``; ``failure`` is Vault's message, formatted with the full path."""
    normalized = normalize_mount_path(path)
    entry = runtime().tables[table].find(normalized)
    if entry is None:
        shown = f"auth/{normalized}" if table == "auth" else normalized
        raise BadRequest(failure.format(path=shown))
    return entry


def table_listing(table: str) -> dict[str, Any]:
    return {entry.path: entry.to_api() for entry in runtime().tables[table].entries}


def _list(table: str) -> Handler:
    def handler(request: Request, data: FieldData) -> Response:
        return Response(data=table_listing(table), legacy_top_level=True)

    return handler


def _read(table: str) -> Handler:
    def handler(request: Request, data: FieldData) -> Response:
        failure = _MISSING[table]
        entry = find_mount(table, data["path"], failure)
        return Response(data=entry.to_api(), legacy_top_level=True)

    return handler


def _enable(table: str) -> Handler:
    auth = table == "auth"

    def handler(request: Request, data: FieldData) -> None:
        path = normalize_mount_path(data["path"])
        type_name = data["type"] or data["plugin_name"]
        if not type_name:
            raise BadRequest("backend type must be specified as a string")
        if not auth and path.startswith(RESERVED_PREFIXES):
            raise BadRequest(f'cannot mount "{path}"')
        sent_options = data["options"] or None
        if not auth:
            type_name, sent_options = resolve_kv_alias(type_name, sent_options)
        options = merged_options(None, sent_options)
        check_enable_version(type_name, options, auth=auth)
        check_mountable(type_name, auth=auth)
        entry = MountEntry.new(
            path,
            type_name,
            description=data["description"],
            options=options,
            local=data["local"],
            seal_wrap=data["seal_wrap"],
            table=table,
        )
        entry = entry.tuned(
            config=apply_config(MountConfig(), data["config"], enabling=True, entry=entry)
        )

        def add(current: MountTable) -> MountTable:
            clash = current.conflicts(path)
            if clash is not None:
                raise BadRequest(f"path is already in use at {clash.path}")
            return current.with_entry(entry)

        runtime().update_table(table, add)

    return handler


def _disable(table: str) -> Handler:
    def handler(request: Request, data: FieldData) -> None:
        path = normalize_mount_path(data["path"])
        rt = runtime()
        entry = rt.tables[table].find(path)
        if entry is None:
            return  # Vault answers 204 for a mount that is already gone
        if entry.type == "token":
            raise BadRequest("token credential backend cannot be disabled")
        if entry.type in SINGLETONS:
            raise BadRequest(f'cannot unmount "{path}"')
        # As Vault: its secrets are revoked first, and a failure there keeps the mount.
        leases.revoke_prefix(rt, entry.router_path)
        # Unroute first: once the table no longer names it, nothing can read a half-deleted mount.
        rt.update_table(table, lambda current: current.without(entry))
        rt.barrier.delete_prefix(entry.storage_prefix)

    return handler


def _tune_target(table: str, path: str) -> tuple[str, str]:
    """The CLI tunes auth methods at sys/mounts/auth/<path>/tune, so that spelling is accepted."""
    if table == "mounts" and path.strip("/").startswith("auth/"):
        return "auth", path.strip("/")[len("auth/"):]
    return table, path


def _tune_read(table: str) -> Handler:
    def handler(request: Request, data: FieldData) -> Response:
        target_table, path = _tune_target(table, data["path"])
        entry = find_mount(target_table, path, 'cannot fetch sysview for path "{path}"')
        return Response(data=tune_view(entry), legacy_top_level=True)

    return handler


def _tune_write(table: str) -> Handler:
    def handler(request: Request, data: FieldData) -> Response | None:
        failure = 'tune of path "{path}" failed: no mount entry found'
        target_table, path = _tune_target(table, data["path"])
        target = find_mount(target_table, path, failure)
        changes = tune_changes(data)
        change = version_change(target, changes.get("options"))
        # Before the commit: no container may see version 2 without the pending upgrade.
        finish = _start_kv_upgrade(target) if _upgrades_kv(target, change) else None

        def tune(current: MountTable) -> MountTable:
            entry = current.find(target.path)
            if entry is None:
                raise BadRequest(failure.format(path=target.router_path))
            # Again on what is stored now: a concurrent tune may have changed the version.
            checked = version_change(entry, changes.get("options"))
            updated = entry.tuned(
                config=apply_config(entry.config, changes, entry=entry),
                description=changes.get("description", entry.description),
                options=tuned_options(entry.options, changes.get("options"), checked),
            )
            return current.with_entry(updated)

        runtime().update_table(target_table, tune)
        if finish is not None:
            finish()
        # Vault answers an upgrade with a warning (200), even one to version 1.
        return Response(warnings=[change.warning()]) if change and change.upgrades else None

    return handler


def _upgrades_kv(entry: MountEntry, change: VersionChange | None) -> bool:
    """Only a kv mount moving to version 2 has data to upgrade (Vault's other reloads: no-op)."""
    if change is None or not change.upgrades:
        return False
    return entry.type == KV_TYPE and change.requested == 2


def _start_kv_upgrade(entry: MountEntry) -> Callable[[], object]:
    """Record the pending upgrade now; returns the pass to run once the table says 2.

    The engine is imported here, not at the top: only an upgrade needs it.
    """
    from chalicelib.engines.kv.upgrade import prepare_upgrade, run_upgrade

    view = StorageView(runtime().barrier, entry.storage_prefix)
    prepare_upgrade(view)
    return lambda: run_upgrade(view)


_MOUNT_HELP = """\
A write enables a new mount at the path: "type" names the engine or method,
"config" its lease TTLs and tuning, "options" what the type takes (kv's version).
A read shows the mount as sys/mounts lists it.

A delete disables the mount: its leases are revoked first, then its data is removed
for good. Disabling a path where nothing is mounted succeeds.
"""


def table_paths(table: str, prefix: str) -> list[Path]:
    """The paths of one mount table under ``prefix`` ("mounts" or "auth")."""
    op = Operation
    handlers: dict[str, Callable[[str], Handler]] = {
        "list": _list, "read": _read, "enable": _enable, "disable": _disable,
        "tune_read": _tune_read, "tune_write": _tune_write,
    }
    h = {name: factory(table) for name, factory in handlers.items()}
    kind = "auth method" if table == "auth" else "secrets engine"
    return [
        # No "/?": OpenBao answers sys/mounts/ 404.
        Path(prefix, {op.READ: h["list"]}, synopsis=f"List the mounted {kind}s."),
        Path(
            f"{prefix}/{{path:path}}/tune",
            {op.READ: h["tune_read"], op.UPDATE: h["tune_write"]},
            _TUNE_FIELDS,
            synopsis=f"Read or tune the configuration of a mounted {kind}.",
        ),
        Path(
            f"{prefix}/{{path:path}}",
            {op.READ: h["read"], op.UPDATE: h["enable"], op.DELETE: h["disable"]},
            _ENABLE_FIELDS,
            synopsis=f"Read, enable or disable the {kind} mounted at a path.",
            description=_MOUNT_HELP,
        ),
    ]



def paths() -> list[Path]:
    return [*table_paths("mounts", "mounts"), *table_paths("auth", "auth")]

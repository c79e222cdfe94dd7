"""sys/remount: move a mount to a new path, and report the move's status.

A mount's data is stored under its UUID, not its path, so moving it rewrites only the
mount table; the move completes before the response and its record stays readable.
"""

from __future__ import annotations

import uuid

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.mounts import RESERVED_PREFIXES, MountTable
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.engines.registry import SINGLETONS
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.leases import manager as leases
from chalicelib.system.mount_config import normalize_mount_path


def _split(path: str) -> tuple[str, str]:
    """("auth", "userpass/") for "auth/userpass", ("mounts", "kv/") for "kv"."""
    normalized = normalize_mount_path(path)
    if normalized.startswith("auth/"):
        return "auth", normalize_mount_path(normalized[len("auth/"):])
    return "mounts", normalized


def _remount(request: Request, data: FieldData) -> Response:
    if not data["from"] or not data["to"]:
        raise BadRequest("both 'from' and 'to' path must be specified as a string")
    table, source = _split(data["from"])
    target_table, target = _split(data["to"])
    shown_target = ("auth/" if target_table == "auth" else "") + target
    if table != target_table or (table == "mounts" and target.startswith(RESERVED_PREFIXES)):
        raise BadRequest(f"cannot remount to destination {shown_target}")

    def move(current: MountTable) -> MountTable:
        entry = current.find(source)
        if entry is None:
            raise BadRequest(f'no matching mount at "{source}"')
        if entry.type in SINGLETONS:
            raise BadRequest(f'cannot remount "{source}"')
        clash = current.conflicts(target)
        if clash is not None:
            raise BadRequest(f'path already in use at "{clash.path}"')
        return current.with_entry(entry.tuned(path=target))

    rt = runtime()
    move(rt.tables[table])  # refuse before revoking anything, as OpenBao checks first
    prefix = "auth/" if table == "auth" else ""
    # As OpenBao: the mount's leases (their ids name the old path) are revoked before the
    # move, and a failed revocation keeps the mount where it is.
    leases.revoke_prefix(rt, prefix + source)
    rt.update_table(table, move)
    migration_id = str(uuid.uuid4())
    record = {
        "source_mount": prefix + source,
        "target_mount": prefix + target,
        "status": "success",
    }
    assert request.storage is not None
    request.storage.put(f"remount/{migration_id}", jsonio.dumpb(record))
    return Response(
        data={"migration_id": migration_id},
        warnings=["Mount move has completed; its status stays readable at sys/remount/status"],
        legacy_top_level=True,
    )


def _remount_status(request: Request, data: FieldData) -> Response | None:
    assert request.storage is not None
    raw = request.storage.get(f"remount/{data['migration_id']}")
    if raw is None:
        return None
    info = jsonio.loads(raw.value)
    return Response(data={"migration_id": data["migration_id"], "migration_info": info})


def paths() -> list[Path]:
    return [
        Path(
            "remount",
            {Operation.UPDATE: _remount},
            {"from": Field(FieldType.STRING, ""), "to": Field(FieldType.STRING, "")},
            synopsis="Move a mount to another path.",
        ),
        Path(
            "remount/status/{migration_id}",
            {Operation.READ: _remount_status},
            synopsis="Read the status of a mount's move.",
        ),
    ]

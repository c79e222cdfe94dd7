"""sys/locked-users and sys/locked-users/:mount_accessor/unlock/:alias_identifier.

The aliases locked out of each lockout-capable auth mount now (chalicelib.core.lockout),
in OpenBao's shape (one root namespace), and the operator's unlock.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import lockout
from chalicelib.core.mounts import MountEntry
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.core.runtime import runtime
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.storage.view import StorageView
from chalicelib.system.mount_config import LOCKOUT_TYPES


def _lockout_mounts(accessor: str = "") -> list[MountEntry]:
    return [
        entry for entry in runtime().auth.entries
        if entry.type in LOCKOUT_TYPES and (not accessor or entry.accessor == accessor)
    ]  # fmt: skip


def _view(entry: MountEntry) -> StorageView:
    return StorageView(runtime().barrier, entry.storage_prefix)


def _mount_summary(accessor: str, aliases: list[str] | None) -> dict[str, Any]:
    return {"mount_accessor": accessor, "counts": len(aliases or ()), "alias_identifiers": aliases}


def _list(request: Request, data: FieldData) -> Response:
    wanted = data["mount_accessor"]
    summaries = []
    for entry in _lockout_mounts(wanted):
        aliases = sorted(alias for alias, _ in lockout.locked_aliases(_view(entry), entry))
        if aliases:
            summaries.append(_mount_summary(entry.accessor, aliases))
    if wanted and not summaries:
        summaries.append(_mount_summary(wanted, None))  # OpenBao names the accessor asked for
    total = sum(summary["counts"] for summary in summaries)
    namespace = {"namespace_id": "root", "namespace_path": "", "counts": total,
                 "mount_accessors": summaries}
    return Response(data={"by_namespace": [namespace], "total": total})


def _unlock(request: Request, data: FieldData) -> None:
    """Unknown accessors and aliases that are not locked are no error (OpenBao: 204)."""
    for entry in _lockout_mounts(data["mount_accessor"]):
        lockout.unlock(_view(entry), data["alias_identifier"])


def paths() -> list[Path]:
    return [
        Path(
            "locked-users/{mount_accessor}/unlock/{alias_identifier}",
            {Operation.UPDATE: _unlock},
            synopsis="Unlock a user locked out after failed logins.",
        ),
        Path(
            "locked-users",
            {Operation.READ: _list},
            {"mount_accessor": Field(FieldType.STRING, "")},
            synopsis="List the users locked out after failed logins.",
        ),
    ]

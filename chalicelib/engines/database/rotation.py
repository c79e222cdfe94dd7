"""Scheduled static-role rotation on every database mount (Vault's rotation queue, as a
job: ``chalicelib.engines.database.rotation:rotate_due_roles``, every minute).

Each due role is claimed by a conditional write (static.rotate), so overlapping runs and
containers rotate it once; a failed rotation is retried by the next run. A run costs one
Query and one BatchGetItem per 100 static roles and mount, plus the writes of a rotation.
"""

from __future__ import annotations

import time

from chalicelib.core.errors import BadRequest
from chalicelib.core.runtime import runtime
from chalicelib.engines.database.static import read_all_static, rotate
from chalicelib.observability import logger
from chalicelib.storage.view import StorageView

DATABASE_TYPE = "database"


def rotate_due_roles() -> int:
    """Rotate the static roles that are due; returns how many were rotated."""
    rt = runtime()
    rt.begin([])
    if rt.sealed:
        return 0
    rotated = 0
    now = time.time()
    for mount in rt.mounts.entries:
        if mount.type != DATABASE_TYPE:
            continue
        view = StorageView(rt.barrier, mount.storage_prefix)
        for name, role in sorted(read_all_static(view).items()):
            if not role.due(now):
                continue
            try:
                if rotate(view, name, role, now):
                    rotated += 1
                    logger.info("static role rotated", extra={"mount": mount.path, "role": name})
            except BadRequest as error:
                # Retried by the next run; the message names no password.
                logger.warning("static role rotation failed",
                               extra={"mount": mount.path, "role": name, "error": str(error)})
    return rotated

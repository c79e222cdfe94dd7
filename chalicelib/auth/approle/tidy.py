"""Tidy of secret IDs: expired ones are deleted with their accessors, as are those of a
folder whose role is gone and accessors whose secret ID is gone. Run by tidy/secret-id
and, for every approle mount, by the scheduled job (OpenBao runs it each minute from its
periodic function; a login never accepts an expired secret ID meanwhile, so the schedule
only bounds storage).
"""

from __future__ import annotations

from collections import Counter

from chalicelib.auth.approle.hashing import ACCESSOR_PREFIX, SECRET_ID_PREFIX, mount_keys
from chalicelib.auth.approle.roles import all_roles
from chalicelib.auth.approle.secret_ids import destroy, in_folder
from chalicelib.core import jsonio
from chalicelib.core.runtime import runtime
from chalicelib.observability import logger
from chalicelib.storage.view import StorageView
from chalicelib.tokens.clock import now_ns

APPROLE_TYPE = "approle"


def tidy_secret_ids(view: StorageView) -> Counter[str]:
    """One pass over a mount's secret IDs; returns what it deleted, by kind.

    Listed in this order so that no live entry looks orphaned: accessors, then folders,
    then roles. An accessor written after its listing has its secret ID listed later; a
    folder's role exists before the folder does, so it is in the later role listing unless
    it was deleted.
    """
    keys = mount_keys(view)
    counts: Counter[str] = Counter()
    accessor_keys = [ACCESSOR_PREFIX + name for name in view.list(ACCESSOR_PREFIX)]
    accessors = {
        key: str(jsonio.loads(entry.value)["secret_key"])
        for key, entry in view.get_many(accessor_keys).items()
    }
    folders = [name[:-1] for name in view.list(SECRET_ID_PREFIX) if name.endswith("/")]
    live_folders = {role.secrets_folder for role in all_roles(view)}
    seen: set[str] = set()
    now = now_ns()
    for folder_id in folders:
        orphaned = folder_id not in live_folders
        for found in in_folder(view, folder_id):
            seen.add(found.key)
            if orphaned or found.secret.expired(now):
                destroy(view, keys, found)
                counts["orphaned" if orphaned else "expired"] += 1
    for accessor_key, target in accessors.items():
        if target not in seen:
            view.delete(accessor_key)
            counts["dangling accessors"] += 1
    logger.info("approle tidy finished", extra={"prefix": view.prefix, "deleted": dict(counts)})
    return counts


def tidy_all_mounts() -> None:
    """The scheduled job: tidy every approle mount of the auth table."""
    rt = runtime()
    for mount in rt.auth.entries:
        if mount.type == APPROLE_TYPE:
            tidy_secret_ids(StorageView(rt.barrier, mount.storage_prefix))

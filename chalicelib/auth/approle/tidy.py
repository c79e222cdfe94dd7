"""Tidy of secret IDs: expired ones are deleted with their accessors, and accessors whose
secret ID is gone are deleted too. Run by tidy/secret-id and, for every approle mount, by
the scheduled job (OpenBao runs it each minute from its periodic function; a login never
accepts an expired secret ID meanwhile, so the schedule only bounds storage).
"""

from __future__ import annotations

from collections import Counter

from chalicelib.auth.approle.hashing import ACCESSOR_PREFIX, SECRET_ID_PREFIX, mount_keys
from chalicelib.auth.approle.secret_ids import Located, SecretID, destroy
from chalicelib.core import jsonio
from chalicelib.core.runtime import runtime
from chalicelib.observability import logger
from chalicelib.storage.view import StorageView
from chalicelib.tokens.clock import now_ns

APPROLE_TYPE = "approle"


def _leaves(view: StorageView, folder: str) -> list[str]:
    return [folder + name for name in view.list(folder) if not name.endswith("/")]


def tidy_secret_ids(view: StorageView) -> Counter[str]:
    """One pass over a mount's secret IDs; returns what it deleted, by kind."""
    keys = mount_keys(view)
    counts: Counter[str] = Counter()
    # Accessors first: one written after this listing has its secret ID listed below.
    accessors = {
        key: str(jsonio.loads(entry.value)["secret_key"])
        for key, entry in view.get_many(_leaves(view, ACCESSOR_PREFIX)).items()
    }
    seen: set[str] = set()
    now = now_ns()
    for folder in view.list(SECRET_ID_PREFIX):
        if not folder.endswith("/"):
            continue
        for key, entry in view.get_many(_leaves(view, SECRET_ID_PREFIX + folder)).items():
            seen.add(key)
            secret = SecretID.from_storage(jsonio.loads(entry.value))
            if secret.expired(now):
                destroy(view, keys, Located(key, entry.version, secret))
                counts["expired secret IDs deleted"] += 1
    for accessor_key, target in accessors.items():
        if target not in seen:
            view.delete(accessor_key)
            counts["dangling accessors deleted"] += 1
    logger.info("approle tidy finished", extra={"prefix": view.prefix, "tidy": dict(counts)})
    return counts


def tidy_all_mounts() -> None:
    """The scheduled job: tidy every approle mount of the auth table."""
    rt = runtime()
    for mount in rt.auth.entries:
        if mount.type == APPROLE_TYPE:
            tidy_secret_ids(StorageView(rt.barrier, mount.storage_prefix))

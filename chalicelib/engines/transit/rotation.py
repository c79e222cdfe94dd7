"""Scheduled auto-rotation: every key of every transit mount whose period has elapsed.

Wired as ``chalicelib.engines.transit.rotation:rotate_due_keys`` (hourly schedule and
the dev server's background tasks). Vault checks the same rule: the latest version is
older than the key's auto_rotate_period.
"""

from __future__ import annotations

from chalicelib.core.runtime import runtime
from chalicelib.engines.transit.policy import KeyPolicy
from chalicelib.engines.transit.store import KeyStore
from chalicelib.observability import logger
from chalicelib.storage.view import StorageView

TRANSIT_TYPE = "transit"


def _rotate_if_due(policy: KeyPolicy) -> None:
    if policy.rotation_due():
        policy.rotate()


def rotate_due_keys() -> int:
    """Rotate the keys that are due; returns how many were rotated."""
    rt = runtime()
    rt.begin([])  # current cluster state: sealed flag, mount table, transit generation
    if rt.sealed:
        return 0
    rotated = 0
    for mount in rt.mounts.entries:
        if mount.type != TRANSIT_TYPE:
            continue
        store = KeyStore(StorageView(rt.barrier, mount.storage_prefix), mount.uuid)
        for name in store.names():
            policy = store.load(name)
            if policy is None or not policy.rotation_due():
                continue
            updated = store.update(name, _rotate_if_due)
            if updated is not None and updated.latest_version > policy.latest_version:
                rotated += 1
                logger.info("transit key rotated", extra={"mount": mount.path, "key": name})
    return rotated

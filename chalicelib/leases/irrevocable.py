"""The irrevocable-lease report (sys/leases/count and sys/leases?type=irrevocable).

OpenBao keeps irrevocable leases in memory; here they are the index items of one bucket
of the `lease-due` index (layout.IRREVOCABLE_BUCKET), sorted by expiry. Counting reads
only those keys (a lease id names its mount, so no lease is opened); listing also reads
the leases it returns, 100 per BatchGetItem. Neither ever reads a live lease. The index
is eventually consistent: a lease given up on a moment ago may be missing for a moment.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from chalicelib.leases import layout
from chalicelib.leases.store import LeaseStore

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime

# OpenBao's cap on a listing when no limit is given, and what it says when it is reached.
DEFAULT_LIMIT = 10_000
LIMIT_WARNING = (
    "Command halted because many irrevocable leases were found. To emit the entire list, "
    "re-run the command with force set true."
)
_NO_MOUNT = "mount-accessor-not-found"
_END_OF_TIME = 2**62  # past any expiry second: the index is read up to here
_ALL = 2**31  # "no limit" (the index is read in pages of 1,000 keys)


def _lease_ids(rt: Runtime, limit: int | None) -> list[str]:
    """Irrevocable lease ids, soonest expiry first; all of them when `limit` is None."""
    bucket = layout.IRREVOCABLE_BUCKET
    keys, _ = rt.physical.due_keys(bucket, _END_OF_TIME, _ALL if limit is None else limit)
    return [key.removeprefix(layout.ENTRY_PREFIX) for key in keys]


def _mount_accessor(rt: Runtime, lease_id: str) -> str:
    mount = rt.auth.longest_prefix(lease_id) or rt.mounts.longest_prefix(lease_id)
    return mount.accessor if mount else _NO_MOUNT


def counts(rt: Runtime) -> dict[str, Any]:
    """sys/leases/count's data: the total and the count per mount accessor."""
    per_mount = Counter(_mount_accessor(rt, lease_id) for lease_id in _lease_ids(rt, None))
    return {"counts": dict(per_mount), "lease_count": sum(per_mount.values())}


def listing(rt: Runtime, limit: int | None) -> tuple[dict[str, Any], list[str]]:
    """sys/leases?type=irrevocable's data and warnings: at most `limit` leases (None: all),
    sorted by expiry then lease id, with a warning when more were left out."""
    ids = _lease_ids(rt, None if limit is None else limit + 1)
    warnings = [LIMIT_WARNING] if limit is not None and len(ids) > limit else []
    if limit is not None:
        ids = ids[:limit]
    leases = LeaseStore(rt.barrier).load_ids(ids)
    leases.sort(key=lambda lease: (lease.expires_ns, lease.lease_id))
    rows = [
        {
            "lease_id": lease.lease_id,
            "mount_id": _mount_accessor(rt, lease.lease_id),
            "error": lease.revoke_error,
        }
        for lease in leases
    ]
    return {"lease_count": len(rows), "leases": rows}, warnings

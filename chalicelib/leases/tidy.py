"""sys/leases/tidy: revoke leases whose creating token no longer exists.

Token revocation normally takes its leases with it; this catches what a crash between
the two left behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.leases import manager
from chalicelib.tokens import ids

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime


def tidy_leases(rt: Runtime) -> int:
    """Returns how many orphaned leases were revoked (or queued, when revocation failed)."""
    leases = manager.store(rt)
    revoked = 0
    token_alive: dict[str, bool] = {}
    for lease in leases.load_ids(list(leases.walk(""))):
        if not lease.token:
            continue
        if lease.token not in token_alive:
            token_alive[lease.token] = rt.barrier.get(ids.salted_key(lease.token)) is not None
        if not token_alive[lease.token]:
            revoked += manager.attempt(rt, lease)
    return revoked

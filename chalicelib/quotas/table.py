"""The quota rules and config, one barrier entry at ``core/quotas``, cached per container.

Every change bumps the cluster's ``quotas`` generation; each container rereads the entry
when its per-request cluster-state read shows a new generation, so the quota lookup on
the request path costs no storage call (as the audit and mount tables).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.quotas import QUOTAS_GENERATION
from chalicelib.quotas.model import EMPTY, QuotaSet

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime

QUOTAS_KEY = "core/quotas"


# (runtime, generation, set) this container last loaded: one tuple, replaced whole, so a
# concurrent reader (the threaded dev server) never sees half an update.
_CACHE: list[tuple[Runtime | None, int, QuotaSet]] = [(None, -1, EMPTY)]


def current(rt: Runtime) -> QuotaSet:
    """The set in force: from memory while the generation stands (generation 0: none yet)."""
    generation = rt.state.generation(QUOTAS_GENERATION)
    cached_rt, cached_generation, quotas = _CACHE[0]
    if cached_generation != generation or cached_rt is not rt:
        quotas = _load(rt) if generation else EMPTY
        _CACHE[0] = (rt, generation, quotas)
    return quotas


def _load(rt: Runtime) -> QuotaSet:
    entry = rt.barrier.get(QUOTAS_KEY)
    return QuotaSet.from_storage(jsonio.loads(entry.value)) if entry else EMPTY


def update(rt: Runtime, change: Callable[[QuotaSet], QuotaSet]) -> QuotaSet:
    """Read-modify-write with a version check, committed with the generation bump."""
    updated = rt.update_entry(
        QUOTAS_KEY, QUOTAS_GENERATION,
        lambda raw: QuotaSet.from_storage(raw) if raw is not None else EMPTY,
        QuotaSet.to_storage, change,
    )
    if updated is None:
        raise PreconditionFailed("the quota rules are being changed concurrently; retry")
    return updated

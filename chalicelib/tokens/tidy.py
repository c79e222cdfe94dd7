"""Listing accessors, and tidy: repair the token store's indexes, revoke expired tokens.

Vault's expiration manager revokes a token (and its subtree) the moment its lease ends. A
Lambda holds no timers, so an expired token is refused at once but its entry and subtree
are revoked here, by ``auth/token/tidy`` or a scheduled run of :func:`tidy`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from chalicelib.observability import logger
from chalicelib.tokens import ids
from chalicelib.tokens.clock import now_ns
from chalicelib.tokens.entry import TokenEntry
from chalicelib.tokens.revoke import revoke_tree
from chalicelib.tokens.store import AccessorRecord, TokenStore, open_entry


def accessor_records(store: TokenStore) -> list[AccessorRecord]:
    names = [n for n in store.barrier.list(ids.ACCESSOR_PREFIX) if not n.endswith("/")]
    found = store.barrier.get_many([ids.ACCESSOR_PREFIX + name for name in names])
    return [AccessorRecord.from_bytes(entry.value) for entry in found.values()]


def list_accessors(store: TokenStore) -> list[str]:
    return sorted(record.accessor for record in accessor_records(store) if record.salted_id)


def _entries(store: TokenStore, salted: Sequence[str]) -> dict[str, TokenEntry]:
    found = store.barrier.get_many([ids.salted_key(s) for s in salted])
    return {entry.key.rpartition("/")[2]: open_entry(entry) for entry in found.values()}


def tidy(store: TokenStore) -> set[str]:
    """One pass over the indexes; returns the cubbyhole IDs of the tokens still alive."""
    counts: Counter[str] = Counter()
    _tidy_parent_index(store, counts)
    records = accessor_records(store)
    entries = _entries(store, [r.salted_id for r in records if r.salted_id])
    now = now_ns()
    alive: set[str] = set()
    for record in records:
        entry = entries.get(record.salted_id)
        if entry is None:
            store.barrier.delete(ids.accessor_key(store.salt, record.accessor))
            counts["dangling accessors deleted"] += 1
        elif entry.expired(now) or entry.num_uses < 0:
            revoke_tree(store, record.salted_id)
            counts["expired or spent tokens revoked"] += 1
        else:
            alive.add(entry.cubbyhole_id)
    logger.info("token tidy finished", extra={"tidy": dict(counts)})
    return alive


def _tidy_parent_index(store: TokenStore, counts: Counter[str]) -> None:
    """Children of a missing parent become orphans; index rows of missing children go."""
    for folder in store.barrier.list(ids.PARENT_PREFIX):
        if not folder.endswith("/"):
            continue
        parent = folder[:-1]
        children = store.barrier.list(ids.children_prefix(parent))
        known = _entries(store, [parent, *children])
        for child in children:
            entry = known.get(child)
            if entry is not None and parent not in known:
                store.update(entry, lambda current: current.evolve(parent=""))
                counts["children orphaned"] += 1
            if entry is None or parent not in known:
                store.barrier.delete(ids.parent_key(parent, child))
                counts["index entries deleted"] += 1

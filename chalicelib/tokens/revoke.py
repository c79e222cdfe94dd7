"""Revocation: a token with its whole subtree, or alone with its children orphaned.

Each token is first marked REVOCATION_PENDING (it stops working at once, and a child being
created under it concurrently fails its parent check), then its children are handled,
then its entry and indexes are deleted in one transaction. A crash part-way leaves only
tokens that are already unusable; running the revocation (or tidy) again finishes it.
"""

from __future__ import annotations

from chalicelib.storage.physical import Delete
from chalicelib.tokens import ids
from chalicelib.tokens.entry import REVOCATION_PENDING, TokenEntry
from chalicelib.tokens.store import TokenStore, open_entry


def revoke_tree(store: TokenStore, salted: str) -> None:
    """Revoke a token and all its descendants, children before parents (Vault's DFS)."""
    stack, seen = [salted], set()
    marked: dict[str, TokenEntry | None] = {}
    parent_of: dict[str, str] = {}
    while stack:
        node = stack[-1]
        if node not in seen:
            seen.add(node)
            marked[node] = _mark_pending(store, node)
            children = [c for c in _children(store, node) if c not in seen]
            if children:
                parent_of.update(dict.fromkeys(children, node))
                stack.extend(children)
                continue
        stack.pop()
        entry = marked.pop(node, None)
        if entry is None and node in parent_of:
            # Already gone: only its dangling index entry under the parent is left.
            store.barrier.delete(ids.parent_key(parent_of[node], node))
        _delete(store, node, entry)


def revoke_orphan(store: TokenStore, salted: str) -> None:
    """Revoke one token; its children lose their parent and live on as orphans."""
    entry = _mark_pending(store, salted)
    for child in _children(store, salted):
        found = store.barrier.get(ids.salted_key(child))
        if found is not None:
            store.update(open_entry(found), lambda current: current.evolve(parent=""))
        store.barrier.delete(ids.parent_key(salted, child))
    _delete(store, salted, entry)


def _children(store: TokenStore, salted: str) -> list[str]:
    return [name for name in store.barrier.list(ids.children_prefix(salted)) if "/" not in name]


def _mark_pending(store: TokenStore, salted: str) -> TokenEntry | None:
    found = store.barrier.get(ids.salted_key(salted))
    if found is None:
        return None

    def mark(current: TokenEntry) -> TokenEntry | None:
        if current.num_uses == REVOCATION_PENDING:
            return None
        return current.evolve(num_uses=REVOCATION_PENDING)

    return store.update(open_entry(found), mark)


def _delete(store: TokenStore, salted: str, entry: TokenEntry | None) -> None:
    if entry is None:
        return
    for hook in store.revoke_hooks:  # the cubbyhole first: the most sensitive part
        hook(entry)
    ops = [Delete(ids.salted_key(salted), listed=False)]  # see service_token_writes
    if entry.accessor:
        ops.append(Delete(ids.accessor_key(store.salt, entry.accessor)))
    if entry.parent:
        ops.append(Delete(ids.parent_key(entry.parent, salted)))
    store.barrier.transact(ops)

"""What a token's entity grants at request time, kept cheap for the warm path.

Identity policies are evaluated per request, so a change to an entity or a group applies
to existing tokens on their very next request, in every container:

* the entity is read on every request, in the same BatchGetItem as the token: the
  container remembers which entity each token it has seen belongs to (a token's entity
  never changes) and prefetches it, so a warm request stays one round trip;
* the group graph changes rarely: any group write bumps the cluster's ``identity``
  generation (read with every request), and each container rebuilds the graph once, on
  the first request after the bump, then compiles what each entity inherits once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from chalicelib.identity.model import Entity, Group
from chalicelib.identity.store import (
    ENTITY_ALIAS,
    IDENTITY_GENERATION,
    IDENTITY_PREFIX,
    IdentityStore,
    alias_index_key,
    entity_key,
    open_entity,
)
from chalicelib.storage.physical import Entry

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime
    from chalicelib.policy.templates import IdentityContext

_MAX_ENTITIES = 4096  # compiled entities and token hints kept per container


class ResolvedIdentity(NamedTuple):
    """One entity as a request sees it."""

    entity_id: str
    disabled: bool
    # Policies from the entity and every group it is in, directly or through nesting.
    policies: tuple[str, ...]
    context: IdentityContext
    # Changes whenever anything above may have: the ACL cache keys templated ACLs on it.
    version: tuple[str, int, int]


class GroupGraph:
    """The groups of one identity generation, indexed for membership questions."""

    def __init__(self, groups: Iterable[Group]) -> None:
        self.by_id = {group.id: group for group in groups}
        self.direct: dict[str, set[str]] = {}
        self.parents: dict[str, set[str]] = {}
        for group in self.by_id.values():
            for entity_id in group.member_entity_ids:
                self.direct.setdefault(entity_id, set()).add(group.id)
            for child in group.member_group_ids:
                self.parents.setdefault(child, set()).add(group.id)

    def groups_of(self, entity_id: str) -> list[Group]:
        """The entity's groups and every group they are members of (cycles are harmless)."""
        seen: set[str] = set()
        pending = list(self.direct.get(entity_id, ()))
        while pending:
            group_id = pending.pop()
            if group_id in seen or group_id not in self.by_id:
                continue
            seen.add(group_id)
            pending.extend(self.parents.get(group_id, ()))
        return [self.by_id[group_id] for group_id in sorted(seen)]

    def direct_groups(self, entity_id: str) -> list[str]:
        return sorted(self.direct.get(entity_id, ()))


def compile_identity(entity: Entity, graph: GroupGraph, generation: int) -> ResolvedIdentity:
    # Imported here: the policy engine loads on first use, not at cold start.
    from chalicelib.policy.templates import IdentityAlias, IdentityContext, IdentityGroup
    from chalicelib.tokens.policies import unique_sorted

    groups = graph.groups_of(entity.id)
    policies = unique_sorted(
        [*entity.policies, *(p for group in groups for p in group.policies)]
    )
    context = IdentityContext(
        entity_id=entity.id,
        entity_name=entity.name,
        metadata=dict(entity.metadata or {}),
        aliases=tuple(
            IdentityAlias(
                mount_accessor=alias.mount_accessor,
                id=alias.id,
                name=alias.name,
                metadata=dict(alias.metadata or {}),
                custom_metadata=dict(alias.custom_metadata or {}),
            )
            for alias in entity.aliases
        ),
        groups=tuple(
            IdentityGroup(id=group.id, name=group.name, metadata=dict(group.metadata or {}))
            for group in groups
        ),
    )
    version = (entity.id, entity.version, generation)
    return ResolvedIdentity(entity.id, entity.disabled, tuple(policies), context, version)


K = TypeVar("K")
V = TypeVar("V")


def _bounded_put(memo: OrderedDict[K, V], key: K, value: V, lock: threading.RLock) -> None:
    """Keep ``value`` under ``key``, dropping the oldest entry past the container's bound
    (an empty value, or the one already kept, changes nothing)."""
    if not value or memo.get(key) == value:
        return
    with lock:
        memo[key] = value
        if len(memo) > _MAX_ENTITIES:
            memo.popitem(last=False)


class IdentityCache:
    """Per container: token -> entity hints, the group graph, compiled entities."""

    def __init__(self) -> None:
        self._generation = -1
        self._graph: GroupGraph | None = None
        self._compiled: OrderedDict[tuple[str, int, bytes], ResolvedIdentity] = OrderedDict()
        self._hints: OrderedDict[str, str] = OrderedDict()
        # (mount accessor, alias name) -> entity id, from this container's logins.
        self._alias_hints: OrderedDict[tuple[str, str], str] = OrderedDict()
        # The dev server is threaded; a Lambda container never contends for it.
        self._lock = threading.RLock()

    def remember(self, token_key: str, entity_id: str) -> None:
        """Note a token's entity, so the next request of that token prefetches it."""
        _bounded_put(self._hints, token_key, entity_id, self._lock)

    def remember_alias(self, mount_accessor: str, alias: str, entity_id: str) -> None:
        """Note an alias's entity, so the alias's next login prefetches it."""
        _bounded_put(self._alias_hints, (mount_accessor, alias), entity_id, self._lock)

    def login_prefetch(self, mount_accessor: str, alias: str) -> list[str]:
        """What a login of ``alias`` will read of the identity store: the alias's index
        entry and, when this container has seen the alias log in, its entity."""
        keys = [IDENTITY_PREFIX + alias_index_key(ENTITY_ALIAS, mount_accessor, alias)]
        entity_id = self._alias_hints.get((mount_accessor, alias))
        return [*keys, entity_key(entity_id)] if entity_id else keys

    def prefetch(self, token_key: str | None, entity_id: str = "") -> list[str]:
        """The entity key to read with the token: known from the token (a batch token
        carries it) or from an earlier request of the same token."""
        wanted = entity_id or (self._hints.get(token_key, "") if token_key else "")
        return [entity_key(wanted)] if wanted else []

    def graph(self, rt: Runtime) -> GroupGraph:
        generation = rt.state.generation(IDENTITY_GENERATION)
        with self._lock:
            if self._graph is None or generation != self._generation:
                self._graph = GroupGraph(IdentityStore(rt.barrier).all_groups())
                self._generation = generation
                self._compiled.clear()
            return self._graph

    def of_entity(self, rt: Runtime, entity: Entity) -> ResolvedIdentity:
        """The grants of an entity just read or written (a login's), without reading it again."""
        graph = self.graph(rt)
        return compile_identity(entity, graph, self._generation)

    def resolve(
        self, rt: Runtime, entity_id: str, values: Mapping[str, Entry], prefetched: bool
    ) -> ResolvedIdentity | None:
        """The entity's current grants, or None once it no longer exists.

        ``values``: what the request's first read found (sealed); ``prefetched``: whether
        that read asked for the entity, else it is read now.
        """
        key = entity_key(entity_id)
        sealed = values.get(key)
        if sealed is None and not prefetched:
            sealed = rt.physical.get(key)
        if sealed is None:
            return None
        graph = self.graph(rt)
        memo_key = (key, sealed.version, sealed.value)
        with self._lock:
            found = self._compiled.get(memo_key)
            if found is not None:
                self._compiled.move_to_end(memo_key)
                return found
        entity = open_entity(rt.barrier.open(sealed))
        resolved = compile_identity(entity, graph, self._generation)
        _bounded_put(self._compiled, memo_key, resolved, self._lock)
        return resolved

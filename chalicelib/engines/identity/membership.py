"""Who is in which group, as writes change it: entities leaving groups when deleted or
merged away, and the cycle check on nested groups."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from chalicelib.engines.identity.common import groups_changed
from chalicelib.identity.model import Entity, Group
from chalicelib.identity.resolve import GroupGraph
from chalicelib.identity.store import IdentityStore

GroupChange = tuple[Group, Group]


def move_members(
    groups: Iterable[Group], entity_ids: Collection[str], successor: str = ""
) -> list[GroupChange]:
    """The groups holding any of ``entity_ids``, rewritten without them and, when given,
    with ``successor`` in their place (a merge's target)."""
    changes = []
    for group in groups:
        members = [m for m in group.member_entity_ids if m not in entity_ids]
        if len(members) == len(group.member_entity_ids):
            continue
        if successor and successor not in members:
            members.append(successor)
        changes.append((group, group._replace(member_entity_ids=tuple(members))))
    return changes


def delete_entities(store: IdentityStore, entities: Sequence[Entity]) -> None:
    """Delete each entity with its aliases and take it out of every group (OpenBao's
    handleEntityDeleteCommon): one transaction per entity, so any number can go."""
    if not entities:
        return
    groups = {group.id: group for group in store.all_groups()}
    touched = False
    for entity in entities:
        changes = move_members(groups.values(), {entity.id})
        store.commit(entities=[(entity, None)], groups=changes)
        for previous, new in changes:  # the next transaction checks the versions just written
            groups[new.id] = new._replace(version=previous.version + 1)
        touched = touched or bool(changes)
    if touched:
        groups_changed()


def reaches(graph: GroupGraph, start: str, target: str) -> bool:
    """Whether ``target`` is ``start`` or nested somewhere below it: making ``start`` a
    member of ``target`` would then close a cycle (OpenBao's detectCycleDFS)."""
    seen: set[str] = set()
    pending = [start]
    while pending:
        group_id = pending.pop()
        if group_id == target:
            return True
        if group_id in seen or group_id not in graph.by_id:
            continue
        seen.add(group_id)
        pending.extend(graph.by_id[group_id].member_group_ids)
    return False

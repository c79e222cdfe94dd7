"""External group memberships: what a login proves (LDAP groups, JWT group claims).

An auth method reports the group alias names the login proved; the entity is made a
member of each external group with such an alias on that mount, and is removed from the
mount's external groups it no longer proves (OpenBao's
refreshExternalGroupMembershipsByEntityID). Groups are found in the container's compiled
group graph, so a login whose memberships did not change reads and writes nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.core.errors import PreconditionFailed
from chalicelib.identity.model import EXTERNAL, Group
from chalicelib.identity.resolve import GroupGraph
from chalicelib.identity.store import IdentityStore, now_text

_RETRIES = 3


def membership_changes(
    graph: GroupGraph, entity_id: str, mount_accessor: str, alias_names: Iterable[str]
) -> tuple[set[str], set[str]]:
    """(group ids to join, group ids to leave) for the entity on this mount."""
    proved = {name.lower() for name in alias_names}
    wanted: set[str] = set()
    held: set[str] = set()
    for group in graph.by_id.values():
        alias = group.alias
        if group.type != EXTERNAL or alias is None or alias.mount_accessor != mount_accessor:
            continue
        if alias.name.lower() in proved:
            wanted.add(group.id)
        if entity_id in group.member_entity_ids:
            held.add(group.id)
    return wanted - held, held - wanted


def sync_external_groups(
    store: IdentityStore, graph: GroupGraph, entity_id: str, mount_accessor: str,
    alias_names: Iterable[str],
) -> bool:  # fmt: skip
    """Bring the entity's external groups of this mount in line with the login; True
    when a group changed (its commit bumped the identity generation)."""
    join, leave = membership_changes(graph, entity_id, mount_accessor, alias_names)
    if not join and not leave:
        return False
    for _ in range(_RETRIES):
        changes = [
            pair
            for group_id in sorted(join | leave)
            if (pair := _changed(store.group(group_id), entity_id, group_id in join))
        ]
        try:
            store.commit(groups=changes)
            return bool(changes)
        except PreconditionFailed:
            continue  # a group changed meanwhile: read it again
    raise PreconditionFailed("external groups changed concurrently during login; retry")


def _changed(group: Group | None, entity_id: str, join: bool) -> tuple[Group, Group] | None:
    if group is None or (entity_id in group.member_entity_ids) == join:
        return None
    members = [m for m in group.member_entity_ids if m != entity_id]
    if join:
        members.append(entity_id)
    return group, group._replace(member_entity_ids=tuple(members), last_update_time=now_text())

"""Entities, groups and aliases as OpenBao's identity API shows them (reads, lookups and
the key_info of listings). Mount type and path are those of the alias's mount now, and
absent once it is gone, as OpenBao's router answers them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.core.mounts import MountEntry
from chalicelib.core.request import Response
from chalicelib.engines.identity.common import NAMESPACE
from chalicelib.identity.model import Alias, Entity, Group
from chalicelib.identity.resolve import GroupGraph

Mounts = Mapping[str, MountEntry]


def _mount_fields(accessor: str, mounts: Mounts) -> dict[str, str]:
    mount = mounts.get(accessor)
    return {} if mount is None else {"mount_type": mount.type, "mount_path": mount.router_path}


def _alias_base(alias: Alias, mounts: Mounts) -> dict[str, Any]:
    return {
        "id": alias.id,
        "canonical_id": alias.canonical_id,
        "mount_accessor": alias.mount_accessor,
        "metadata": alias.metadata,
        "name": alias.name,
        "merged_from_canonical_ids": list(alias.merged_from_canonical_ids) or None,
        "creation_time": alias.creation_time,
        "last_update_time": alias.last_update_time,
        **_mount_fields(alias.mount_accessor, mounts),
    }


def _entity_alias(alias: Alias, mounts: Mounts) -> dict[str, Any]:
    # Local aliases (of local mounts) are not kept apart here: every alias is shared.
    return {**_alias_base(alias, mounts), "local": False, "custom_metadata": alias.custom_metadata}


def alias_view(alias: Alias, mounts: Mounts) -> dict[str, Any]:
    """entity-alias/id/:id and group-alias/id/:id."""
    return {**_entity_alias(alias, mounts), "namespace_id": NAMESPACE}


def entity_view(entity: Entity, graph: GroupGraph, mounts: Mounts) -> dict[str, Any]:
    direct = graph.direct_groups(entity.id)
    inherited = [g.id for g in graph.groups_of(entity.id) if g.id not in direct]
    return {
        "id": entity.id,
        "name": entity.name,
        "metadata": entity.metadata,
        "merged_entity_ids": list(entity.merged_entity_ids) or None,
        "policies": list(entity.policies),
        "disabled": entity.disabled,
        "namespace_id": NAMESPACE,
        "creation_time": entity.creation_time,
        "last_update_time": entity.last_update_time,
        "aliases": [_entity_alias(alias, mounts) for alias in entity.aliases],
        "direct_group_ids": direct,
        "inherited_group_ids": inherited,
        "group_ids": [*direct, *inherited],
    }


def group_view(group: Group, graph: GroupGraph, mounts: Mounts) -> dict[str, Any]:
    # Members that were deleted since drop out, as OpenBao derives them from live groups.
    members = [g for g in group.member_group_ids if g in graph.by_id]
    return {
        "id": group.id,
        "name": group.name,
        "type": group.type,
        "policies": list(group.policies) or None,
        "member_entity_ids": list(group.member_entity_ids) or None,
        "member_group_ids": members or None,
        "parent_group_ids": sorted(graph.parents.get(group.id, ())) or None,
        "metadata": group.metadata,
        "alias": {} if group.alias is None else _alias_base(group.alias, mounts),
        "creation_time": group.creation_time,
        "last_update_time": group.last_update_time,
        "modify_index": group.version,
        "namespace_id": NAMESPACE,
    }


def _alias_summary(alias: Alias, mounts: Mounts) -> dict[str, Any]:
    return {
        "id": alias.id,
        "name": alias.name,
        "mount_accessor": alias.mount_accessor,
        **_mount_fields(alias.mount_accessor, mounts),
    }


def entity_info(entity: Entity, mounts: Mounts) -> dict[str, Any]:
    info: dict[str, Any] = {"name": entity.name}
    if entity.aliases:
        info["aliases"] = [_alias_summary(alias, mounts) for alias in entity.aliases]
    return info


def group_info(group: Group, graph: GroupGraph, mounts: Mounts) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": group.name,
        "num_member_entities": len(group.member_entity_ids),
        "num_parent_groups": len(graph.parents.get(group.id, ())),
    }
    if group.alias is not None:
        info["alias"] = _alias_summary(group.alias, mounts)
    return info


def alias_info(alias: Alias, mounts: Mounts) -> dict[str, Any]:
    return {
        "name": alias.name,
        "canonical_id": alias.canonical_id,
        "mount_accessor": alias.mount_accessor,
        "custom_metadata": alias.custom_metadata,
        "metadata": alias.metadata,
        "local": False,
        **_mount_fields(alias.mount_accessor, mounts),
    }


def listing(keys: list[str], info: dict[str, Any] | None = None) -> Response | None:
    """A LIST answer: 404 when empty (as Vault), key_info only where keys are IDs (OpenBao
    keys it by ID, so a listing by name shows none)."""
    if not keys:
        return None
    data: dict[str, Any] = {"keys": keys}
    if info is not None:
        data["key_info"] = info
    return Response(data=data)


def alias_listing(aliases: Iterable[Alias], mounts: Mounts) -> Response | None:
    ordered = sorted(aliases, key=lambda alias: alias.id)
    return listing(
        [alias.id for alias in ordered], {alias.id: alias_info(alias, mounts) for alias in ordered}
    )

"""entity/merge: entities folded into one (OpenBao's mergeEntity).

The target takes the aliases of the merged entities (conflicts on a mount settled by
conflicting_alias_ids_to_keep), their group memberships, and their IDs in
merged_entity_ids; the merged entities are deleted. All of it is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.core.errors import BadRequest, multierrors
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.engines.identity.common import (
    auth_mounts,
    groups_changed,
    identity_store,
)
from chalicelib.engines.identity.membership import move_members
from chalicelib.engines.identity.views import Mounts
from chalicelib.framework import Field, FieldData, FieldType, Path
from chalicelib.identity.model import Alias, Entity
from chalicelib.identity.store import IdentityStore

MERGE_FIELDS = {
    "from_entity_ids": Field(FieldType.COMMA_STRING_LIST, list, "Entities to merge."),
    "to_entity_id": Field(FieldType.STRING, "", "The entity they are merged into."),
    "conflicting_alias_ids_to_keep": Field(
        FieldType.COMMA_STRING_LIST,
        list,
        "Where both sides have an alias on one mount, the alias to keep (one from-entity).",
    ),
    # Accepted as OpenBao does; it settles MFA secrets, which entities here do not hold.
    "force": Field(FieldType.BOOL, False, "Unused: there are no MFA secrets to merge."),
}
_CLASH = (
    "toEntity and at least one fromEntity have aliases with the same mount accessor, "
    "repeat the merge request specifying exactly one fromEntity, clashes: "
)


def path_entity_merge(request: Request, data: FieldData) -> Response | None:
    if not data["to_entity_id"]:
        raise BadRequest("missing entity id to merge to")
    if not data["from_entity_ids"]:
        raise BadRequest("missing entity ids to merge from")
    keep = data["conflicting_alias_ids_to_keep"]
    store = identity_store()
    target = store.entity(data["to_entity_id"])
    if target is None:
        raise BadRequest("entity id to merge to is invalid")
    if len(data["from_entity_ids"]) > 1 and len(keep) > 1:
        raise BadRequest(
            "aliases conflicts cannot be resolved with multiple from entity ids - merge one "
            "entity at a time"
        )
    sources = _sources(store, target, sorted(set(data["from_entity_ids"])))
    if not keep:
        clashes = _clashes(target, sources, auth_mounts())
        if clashes is not None:
            return clashes
    merged = _merged(target, sources, set(keep))
    groups = move_members(store.all_groups(), {source.id for source in sources}, target.id)
    store.commit(
        entities=[(target, merged), *((source, None) for source in sources)], groups=groups
    )
    if groups:
        groups_changed()
    return None


def _sources(store: IdentityStore, target: Entity, ids: Sequence[str]) -> list[Entity]:
    sources = []
    for entity_id in ids:
        if entity_id == target.id:
            raise BadRequest("to_entity_id should not be present in from_entity_ids")
        source = store.entity(entity_id)
        if source is None:
            raise BadRequest("entity id to merge from is invalid")
        sources.append(source)
    return sources


def _several_sources(accessor: str) -> BadRequest:
    return BadRequest(
        f"mount accessor {accessor} found in multiple fromEntities, merge should be done "
        "with one fromEntity at a time"
    )


def _clashes(target: Entity, sources: Sequence[Entity], mounts: Mounts) -> Response | None:
    """Without conflicting_alias_ids_to_keep, aliases on a mount both sides use are refused:
    400, every clash listed, and (for OpenBao's UI) who holds what under ``data``."""
    owners: dict[str, str] = {}
    for source in sources:
        for alias in source.aliases:
            if owners.setdefault(alias.mount_accessor, source.id) != source.id:
                raise _several_sources(alias.mount_accessor)
    messages: list[str] = []
    holders: list[dict[str, str]] = []
    for source in sources:
        for mine in target.aliases:
            theirs = source.alias_for(mine.mount_accessor)
            if theirs is None:
                continue
            messages.append(
                f"mountAccessor: {mine.mount_accessor}, toEntity ID: {target.id}, fromEntity "
                f"ID: {source.id}, conflicting toEntity alias ID: {mine.id}, conflicting "
                f"fromEntity alias ID: {theirs.id}"
            )
            holders += [_holder(target, mine, mounts), _holder(source, theirs, mounts)]
    if not messages:
        return None
    return Response(raw={"errors": [multierrors([_CLASH, *messages])], "data": holders}, status=400)


def _holder(entity: Entity, alias: Alias, mounts: Mounts) -> dict[str, Any]:
    mount = mounts.get(alias.mount_accessor)
    return {
        "alias": alias.name,
        "entity": entity.name,
        "entity_id": entity.id,
        "mount": mount.type if mount else "",
        "mount_path": mount.router_path if mount else "",
    }


def _merged(target: Entity, sources: Sequence[Entity], keep: set[str]) -> Entity:
    """The target holding the sources' aliases and IDs. Where both hold an alias on one
    mount, the one in ``keep`` stays and the other is deleted (OpenBao left the target's
    in place beside the kept one; one alias per mount holds here)."""
    own = {alias.mount_accessor: alias for alias in target.aliases}
    merged = target
    for source in sources:
        for alias in source.aliases:
            mine = own.get(alias.mount_accessor)
            if mine is not None and mine.id in keep:
                continue
            if mine is not None and alias.id not in keep:
                raise BadRequest(
                    "conflicting mount accessors in following alias IDs and neither were "
                    f"present in conflicting_alias_ids_to_keep: {alias.id}, {mine.id}"
                )
            if mine is not None:
                merged = merged.without_alias(mine.id)
            elif merged.alias_for(alias.mount_accessor) is not None:
                raise _several_sources(alias.mount_accessor)
            moved = alias._replace(
                canonical_id=target.id,
                merged_from_canonical_ids=(*alias.merged_from_canonical_ids, source.id),
            )
            merged = merged.with_alias(moved)
        merged = merged._replace(
            merged_entity_ids=(*merged.merged_entity_ids, *source.merged_entity_ids, source.id)
        )
    return merged


def paths() -> list[Path]:
    return [
        Path(
            "entity/merge/?", {Operation.UPDATE: path_entity_merge}, MERGE_FIELDS,
            synopsis="Merge entities into one.",
        ),
    ]  # fmt: skip

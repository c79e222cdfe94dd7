"""The identity store over the barrier: entities, aliases, groups and their name indexes.

Layout (under ``identity/``; names are hashed in keys, since any character may appear in
one and a key must not carry a stray "/"):
  identity/entity/<id>                         Entity (its aliases inside)
  identity/entity-name/<sha256(name)>          {"id": entity id}
  identity/entity-alias/<accessor>/<sha256(name)>  {"id": alias id, "canonical_id": entity}
  identity/entity-alias-id/<alias id>          {"canonical_id": entity id}
  identity/group/<id>                          Group
  identity/group-name/<sha256(name)>           {"id": group id}
  identity/group-alias/<accessor>/<sha256(name)>   {"id": alias id, "canonical_id": group}
  identity/group-alias-id/<alias id>           {"canonical_id": group id}

Every write that changes what an existing entity inherits from groups (any group write,
an entity deleted from groups) bumps the cluster's ``identity`` generation, so each
container rebuilds its group graph once on its next request (chalicelib.identity.resolve).
Entities themselves are read with the token on every request, so their changes need no bump.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.identity.model import Alias, Entity, Group
from chalicelib.storage.barrier import Barrier
from chalicelib.storage.physical import ConditionFailed, Delete, Entry, Put, WriteOp
from chalicelib.storage.view import StorageView

IDENTITY_PREFIX = "identity/"
IDENTITY_GENERATION = "identity"
ENTITY = "entity/"
ENTITY_NAME = "entity-name/"
ENTITY_ALIAS = "entity-alias/"
ENTITY_ALIAS_ID = "entity-alias-id/"
GROUP = "group/"
GROUP_NAME = "group-name/"
GROUP_ALIAS = "group-alias/"
GROUP_ALIAS_ID = "group-alias-id/"
_RETRIES = 5


def name_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def entity_key(entity_id: str) -> str:
    """The absolute storage key of an entity (what a request prefetches with its token)."""
    return IDENTITY_PREFIX + ENTITY + entity_id


def alias_index_key(kind: str, mount_accessor: str, name: str) -> str:
    return f"{kind}{mount_accessor}/{name_hash(name)}"


def now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def open_entity(entry: Entry) -> Entity:
    return Entity.from_storage(jsonio.loads(entry.value), entry.version)


def open_group(entry: Entry) -> Group:
    return Group.from_storage(jsonio.loads(entry.value), entry.version)


def _put(key: str, value: Any, expected_version: int | None = 0) -> Put:
    return Put(key, jsonio.dumpb(value), expected_version)


class IdentityStore:
    """Reads and conditional writes of identity records; no caching (see resolve.py)."""

    def __init__(self, barrier: Barrier) -> None:
        self.barrier = barrier
        self.view = StorageView(barrier, IDENTITY_PREFIX)

    # -- entities ------------------------------------------------------------------------

    def entity(self, entity_id: str) -> Entity | None:
        if not entity_id or "/" in entity_id:
            return None
        found = self.view.get(ENTITY + entity_id)
        return None if found is None else open_entity(found)

    def _pointer(self, key: str) -> dict[str, str] | None:
        found = self.view.get_json(key)
        return found if isinstance(found, dict) else None

    def entity_by_name(self, name: str) -> Entity | None:
        pointer = self._pointer(ENTITY_NAME + name_hash(name))
        return None if pointer is None else self.entity(pointer["id"])

    def entity_by_alias(self, mount_accessor: str, name: str) -> Entity | None:
        pointer = self._pointer(alias_index_key(ENTITY_ALIAS, mount_accessor, name))
        return None if pointer is None else self.entity(pointer["canonical_id"])

    def entity_by_alias_id(self, alias_id: str) -> Entity | None:
        if not alias_id or "/" in alias_id:
            return None
        pointer = self._pointer(ENTITY_ALIAS_ID + alias_id)
        return None if pointer is None else self.entity(pointer["canonical_id"])

    def entity_ids(self) -> list[str]:
        return self.view.list(ENTITY)

    def entities(self, ids: Sequence[str]) -> list[Entity]:
        found = self.view.get_many([ENTITY + i for i in ids if i and "/" not in i])
        return [open_entity(entry) for entry in found.values()]

    def write_entity(self, entity: Entity, previous: Entity | None) -> Entity:
        """Create or replace ``entity`` and its indexes in one transaction.

        ``previous`` is the stored entity this write replaces (None: a new one); the
        write fails with 412 if it changed meanwhile, and with 400 if a name or alias it
        claims is taken.
        """
        ops: list[WriteOp] = [
            _put(ENTITY + entity.id, entity.to_storage(), previous.version if previous else 0)
        ]
        ops += _index_changes(
            ENTITY_NAME, [entity.name], [previous.name] if previous else [], entity.id
        )
        old_aliases = previous.aliases if previous else ()
        ops += _alias_changes(ENTITY_ALIAS, ENTITY_ALIAS_ID, entity.aliases, old_aliases)
        try:
            self.view.transact(ops)
        except ConditionFailed:
            raise PreconditionFailed(
                "the entity, its name or one of its aliases changed concurrently; retry"
            ) from None
        return entity._replace(version=(previous.version if previous else 0) + 1)

    def delete_entity(self, entity: Entity) -> None:
        ops: list[WriteOp] = [
            Delete(ENTITY + entity.id), Delete(ENTITY_NAME + name_hash(entity.name))
        ]
        ops += _alias_changes(ENTITY_ALIAS, ENTITY_ALIAS_ID, (), entity.aliases)
        self.view.transact(ops)

    def find_or_create_for_alias(
        self,
        mount_accessor: str,
        mount_type: str,
        mount_path: str,
        name: str,
        metadata: dict[str, str] | None = None,
    ) -> Entity:
        """The entity of (mount, alias name), created with its alias on first login
        (Vault's ``CreateOrFetchEntity``). Two logins racing to create it get one entity."""
        for _ in range(_RETRIES):
            found = self.entity_by_alias(mount_accessor, name)
            if found is not None:
                return self._refresh_alias_metadata(found, mount_accessor, metadata)
            now = now_text()
            entity_id = new_id()
            alias = Alias(
                id=new_id(), name=name, mount_accessor=mount_accessor, mount_type=mount_type,
                mount_path=mount_path, metadata=metadata or None, canonical_id=entity_id,
                creation_time=now, last_update_time=now,
            )  # fmt: skip
            entity = Entity(
                id=entity_id, name=f"entity_{entity_id[:8]}", aliases=(alias,),
                creation_time=now, last_update_time=now,
            )  # fmt: skip
            try:
                return self.write_entity(entity, None)
            except PreconditionFailed:
                continue  # another login created it (or the generated name clashed)
        raise PreconditionFailed("the entity of this alias is being created concurrently; retry")

    def _refresh_alias_metadata(
        self, entity: Entity, mount_accessor: str, metadata: dict[str, str] | None
    ) -> Entity:
        """A login brings the alias's current metadata (Vault updates it on login)."""
        alias = entity.alias_for(mount_accessor)
        if alias is None or (alias.metadata or None) == (metadata or None):
            return entity
        updated = alias._replace(metadata=metadata or None, last_update_time=now_text())
        aliases = tuple(updated if a.id == alias.id else a for a in entity.aliases)
        try:
            return self.write_entity(entity._replace(aliases=aliases), entity)
        except PreconditionFailed:
            return entity  # someone else just wrote it: the metadata will follow next login

    # -- groups --------------------------------------------------------------------------

    def group(self, group_id: str) -> Group | None:
        if not group_id or "/" in group_id:
            return None
        found = self.view.get(GROUP + group_id)
        return None if found is None else open_group(found)

    def group_by_name(self, name: str) -> Group | None:
        pointer = self._pointer(GROUP_NAME + name_hash(name))
        return None if pointer is None else self.group(pointer["id"])

    def group_by_alias(self, mount_accessor: str, name: str) -> Group | None:
        pointer = self._pointer(alias_index_key(GROUP_ALIAS, mount_accessor, name))
        return None if pointer is None else self.group(pointer["canonical_id"])

    def group_by_alias_id(self, alias_id: str) -> Group | None:
        if not alias_id or "/" in alias_id:
            return None
        pointer = self._pointer(GROUP_ALIAS_ID + alias_id)
        return None if pointer is None else self.group(pointer["canonical_id"])

    def group_ids(self) -> list[str]:
        return self.view.list(GROUP)

    def all_groups(self) -> list[Group]:
        """Every group (the graph a container compiles once per identity generation)."""
        ids = self.group_ids()
        found: dict[str, Entry] = {}
        for start in range(0, len(ids), 100):
            found.update(self.view.get_many([GROUP + i for i in ids[start : start + 100]]))
        return [open_group(entry) for entry in found.values()]

    def write_group(self, group: Group, previous: Group | None) -> Group:
        """Create or replace a group and its indexes in one transaction (as write_entity);
        the caller bumps the identity generation."""
        ops: list[WriteOp] = [
            _put(GROUP + group.id, group.to_storage(), previous.version if previous else 0)
        ]
        old_names = [previous.name] if previous else []
        ops += _index_changes(GROUP_NAME, [group.name], old_names, group.id)
        new_alias = (group.alias,) if group.alias else ()
        old_alias = (previous.alias,) if previous and previous.alias else ()
        ops += _alias_changes(GROUP_ALIAS, GROUP_ALIAS_ID, new_alias, old_alias)
        try:
            self.view.transact(ops)
        except ConditionFailed:
            raise PreconditionFailed(
                "the group, its name or its alias changed concurrently; retry"
            ) from None
        return group._replace(version=(previous.version if previous else 0) + 1)

    def delete_group(self, group: Group) -> None:
        ops: list[WriteOp] = [
            Delete(GROUP + group.id), Delete(GROUP_NAME + name_hash(group.name))
        ]
        old_alias = (group.alias,) if group.alias else ()
        ops += _alias_changes(GROUP_ALIAS, GROUP_ALIAS_ID, (), old_alias)
        self.view.transact(ops)


def _index_changes(
    kind: str, names: Sequence[str], old_names: Sequence[str], target: str
) -> list[WriteOp]:
    """Name index entries to claim (must be free) and to release."""
    ops: list[WriteOp] = []
    for name in names:
        if name not in old_names:
            ops.append(_put(kind + name_hash(name), {"id": target}))
    ops += [Delete(kind + name_hash(name)) for name in old_names if name not in names]
    return ops


def _alias_changes(
    by_name: str, by_id: str, aliases: Sequence[Alias], old: Sequence[Alias]
) -> list[WriteOp]:
    """Index entries of aliases added (each claimed, so one alias names one holder) and
    of aliases removed."""
    old_ids = {alias.id: alias for alias in old}
    new_ids = {alias.id for alias in aliases}
    ops: list[WriteOp] = []
    for alias in aliases:
        before = old_ids.get(alias.id)
        if before is not None and (before.mount_accessor, before.name) == (
            alias.mount_accessor, alias.name
        ):
            continue
        if before is not None:
            ops.append(Delete(alias_index_key(by_name, before.mount_accessor, before.name)))
        pointer = {"id": alias.id, "canonical_id": alias.canonical_id}
        ops.append(_put(alias_index_key(by_name, alias.mount_accessor, alias.name), pointer))
        if before is None:
            ops.append(_put(by_id + alias.id, {"canonical_id": alias.canonical_id}))
    for alias in old:
        if alias.id not in new_ids:
            ops.append(Delete(alias_index_key(by_name, alias.mount_accessor, alias.name)))
            ops.append(Delete(by_id + alias.id))
    return ops


"""The identity store over the barrier: entities, aliases, groups and their name indexes.

Layout (under ``identity/``; names are hashed in keys, since any character may appear in
one and a key must not carry a stray "/"; they are hashed lowercased, so names and alias
names are unique regardless of case, as OpenBao's identity store keeps them):
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
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

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
R = TypeVar("R", Entity, Group)


def name_hash(name: str) -> str:
    return hashlib.sha256(name.lower().encode()).hexdigest()


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

    def __init__(self, barrier: Barrier, view: StorageView | None = None) -> None:
        """``view``: the ``identity/`` view to read through (one that serves what a
        request prefetched), else a plain one."""
        self.barrier = barrier
        self.view = view if view is not None else StorageView(barrier, IDENTITY_PREFIX)

    def _follow(self, key: str, field: str, load: Callable[[str], R | None]) -> R | None:
        """The record the index entry at ``key`` points to (through its ``field``)."""
        pointer = self.view.get_json(key)
        return load(pointer[field]) if isinstance(pointer, dict) else None

    def _all(self, prefix: str) -> list[Entry]:
        ids = self.view.list(prefix)
        found: dict[str, Entry] = {}
        for start in range(0, len(ids), 100):
            found.update(self.view.get_many([prefix + i for i in ids[start : start + 100]]))
        return [found[key] for key in sorted(found)]

    # -- entities ------------------------------------------------------------------------

    def entity(self, entity_id: str) -> Entity | None:
        if not _is_segment(entity_id):
            return None
        found = self.view.get(ENTITY + entity_id)
        return None if found is None else open_entity(found)

    def entity_by_name(self, name: str) -> Entity | None:
        return self._follow(ENTITY_NAME + name_hash(name), "id", self.entity)

    def entity_by_alias(self, mount_accessor: str, name: str) -> Entity | None:
        if not _is_segment(mount_accessor):
            return None
        key = alias_index_key(ENTITY_ALIAS, mount_accessor, name)
        return self._follow(key, "canonical_id", self.entity)

    def entity_by_alias_id(self, alias_id: str) -> Entity | None:
        if not _is_segment(alias_id):
            return None
        return self._follow(ENTITY_ALIAS_ID + alias_id, "canonical_id", self.entity)

    def entity_ids(self) -> list[str]:
        return self.view.list(ENTITY)

    def entities(self, ids: Sequence[str]) -> list[Entity]:
        found = self.view.get_many([ENTITY + i for i in ids if _is_segment(i)])
        return [open_entity(entry) for entry in found.values()]

    def all_entities(self) -> list[Entity]:
        """Every entity, in ID order (listings; OpenBao walks its memdb the same way)."""
        return [open_entity(entry) for entry in self._all(ENTITY)]

    def write_entity(self, entity: Entity, previous: Entity | None) -> Entity:
        """Create or replace ``entity`` and its indexes in one transaction.

        ``previous`` is the stored entity this write replaces (None: a new one); the
        write fails with 412 if it changed meanwhile, or if a name or alias it claims is
        taken (callers check names first, to answer with OpenBao's 400).
        """
        self.commit(entities=[(previous, entity)])
        return entity._replace(version=_next_version(previous))

    def delete_entity(self, entity: Entity) -> None:
        self.commit(entities=[(entity, None)])

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
                id=entity_id, name=generated_name("entity"), aliases=(alias,),
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
        if not _is_segment(group_id):
            return None
        found = self.view.get(GROUP + group_id)
        return None if found is None else open_group(found)

    def group_by_name(self, name: str) -> Group | None:
        return self._follow(GROUP_NAME + name_hash(name), "id", self.group)

    def group_by_alias(self, mount_accessor: str, name: str) -> Group | None:
        if not _is_segment(mount_accessor):
            return None
        key = alias_index_key(GROUP_ALIAS, mount_accessor, name)
        return self._follow(key, "canonical_id", self.group)

    def group_by_alias_id(self, alias_id: str) -> Group | None:
        if not _is_segment(alias_id):
            return None
        return self._follow(GROUP_ALIAS_ID + alias_id, "canonical_id", self.group)

    def group_ids(self) -> list[str]:
        return self.view.list(GROUP)

    def all_groups(self) -> list[Group]:
        """Every group (the graph a container compiles once per identity generation)."""
        return [open_group(entry) for entry in self._all(GROUP)]

    def write_group(self, group: Group, previous: Group | None) -> Group:
        """Create or replace a group and its indexes in one transaction (as write_entity),
        which bumps the identity generation (see `commit`)."""
        self.commit(groups=[(previous, group)])
        return group._replace(version=_next_version(previous))

    def delete_group(self, group: Group) -> None:
        self.commit(groups=[(group, None)])

    # -- several records at once ---------------------------------------------------------

    def commit(
        self,
        entities: Sequence[tuple[Entity | None, Entity | None]] = (),
        groups: Sequence[tuple[Group | None, Group | None]] = (),
    ) -> None:
        """Write (previous, new) pairs in one transaction: previous None creates, new None
        deletes. Each record is checked against the version it was read at, and the index
        entries follow: a name or alias claimed anew must be free (412 if not), one that
        moves between records of this transaction (a merge, an alias moved to another
        entity) is rewritten, one no longer held is released. A commit that changes a
        group bumps the identity generation in the same transaction (the caller then
        tells its runtime: `Runtime.after_commit`)."""
        ops: list[WriteOp] = []
        before: dict[str, dict[str, str]] = {}
        after: dict[str, dict[str, str]] = {}
        for entity_pair in entities:
            ops.append(_record_op(ENTITY, *entity_pair))
            for record, indexes in zip(entity_pair, (before, after), strict=True):
                if record is not None:
                    indexes.update(_entity_indexes(record))
        for group_pair in groups:
            ops.append(_record_op(GROUP, *group_pair))
            for record, indexes in zip(group_pair, (before, after), strict=True):
                if record is not None:
                    indexes.update(_group_indexes(record))
        for key, value in after.items():
            if key not in before:
                ops.append(_put(key, value))
            elif before[key] != value:
                ops.append(_put(key, value, None))
        ops += [Delete(key) for key in before.keys() - after.keys()]
        try:
            self.view.transact(ops, bump=[IDENTITY_GENERATION] if groups else ())
        except ConditionFailed:
            raise PreconditionFailed(
                "an identity record, a name or an alias changed concurrently; retry"
            ) from None


def generated_name(kind: str) -> str:
    """OpenBao's name for an entity or group created without one ("entity_1a2b3c4d.root":
    the suffix is the namespace, always root here)."""
    return f"{kind}_{secrets.token_hex(4)}.root"


def _is_segment(value: str) -> bool:
    """Whether a client-given ID can name one key segment (anything else names nothing)."""
    return bool(value) and "/" not in value


def _next_version(previous: Entity | Group | None) -> int:
    return (previous.version if previous else 0) + 1


def _record_op(prefix: str, previous: Entity | Group | None, new: Entity | Group | None) -> WriteOp:
    expected = previous.version if previous else 0
    if new is None:
        assert previous is not None
        return Delete(prefix + previous.id, expected)
    return _put(prefix + new.id, new.to_storage(), expected)


def _alias_indexes(by_name: str, by_id: str, alias: Alias) -> dict[str, dict[str, str]]:
    return {
        alias_index_key(by_name, alias.mount_accessor, alias.name): {
            "id": alias.id, "canonical_id": alias.canonical_id,
        },
        by_id + alias.id: {"canonical_id": alias.canonical_id},
    }  # fmt: skip


def _entity_indexes(entity: Entity) -> dict[str, dict[str, str]]:
    indexes = {ENTITY_NAME + name_hash(entity.name): {"id": entity.id}}
    for alias in entity.aliases:
        indexes.update(_alias_indexes(ENTITY_ALIAS, ENTITY_ALIAS_ID, alias))
    return indexes


def _group_indexes(group: Group) -> dict[str, dict[str, str]]:
    indexes = {GROUP_NAME + name_hash(group.name): {"id": group.id}}
    if group.alias is not None:
        indexes.update(_alias_indexes(GROUP_ALIAS, GROUP_ALIAS_ID, group.alias))
    return indexes

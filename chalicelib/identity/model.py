"""Entities, their aliases, and groups: the records of the identity store.

Aliases live inside their entity (as in Vault's storage), so one read of an entity gives
everything a request needs of it; index entries map names and alias keys to IDs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.core.records import build

INTERNAL = "internal"
EXTERNAL = "external"


# NamedTuples: defined on every cold start, where a frozen dataclass costs ~7x more.
class Alias(NamedTuple):
    """An entity alias or a group alias: a name as one auth mount knows it."""

    id: str
    name: str
    mount_accessor: str
    mount_type: str = ""
    mount_path: str = ""
    metadata: dict[str, str] | None = None
    custom_metadata: dict[str, str] | None = None
    canonical_id: str = ""  # the entity (or group) it belongs to
    creation_time: str = ""
    last_update_time: str = ""
    # The entities it belonged to before merges moved it here.
    merged_from_canonical_ids: tuple[str, ...] = ()

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Alias:
        merged = raw.get("merged_from_canonical_ids")
        return build(cls, raw, merged_from_canonical_ids=tuple(merged) if merged else ())


class Entity(NamedTuple):
    id: str
    name: str
    policies: tuple[str, ...] = ()
    metadata: dict[str, str] | None = None
    disabled: bool = False
    aliases: tuple[Alias, ...] = ()
    merged_entity_ids: tuple[str, ...] = ()
    creation_time: str = ""
    last_update_time: str = ""
    # Where and at which version it was read: never stored, used for conditional writes.
    version: int = 0

    def to_storage(self) -> dict[str, Any]:
        stored = self._asdict()
        stored["aliases"] = [alias._asdict() for alias in self.aliases]
        del stored["version"]
        return stored

    @classmethod
    def from_storage(cls, raw: dict[str, Any], version: int = 0) -> Entity:
        return build(
            cls, raw, version=version,
            policies=tuple(raw.get("policies") or ()),
            aliases=tuple(Alias.from_storage(a) for a in raw.get("aliases") or ()),
            merged_entity_ids=tuple(raw.get("merged_entity_ids") or ()),
        )  # fmt: skip

    def alias_for(self, mount_accessor: str) -> Alias | None:
        return next((a for a in self.aliases if a.mount_accessor == mount_accessor), None)

    def alias_by_id(self, alias_id: str) -> Alias | None:
        return next((a for a in self.aliases if a.id == alias_id), None)

    def with_alias(self, alias: Alias) -> Entity:
        """This entity holding ``alias``: replaced in place if it holds it already."""
        if self.alias_by_id(alias.id) is None:
            return self._replace(aliases=(*self.aliases, alias))
        return self._replace(aliases=tuple(alias if a.id == alias.id else a for a in self.aliases))

    def without_alias(self, alias_id: str) -> Entity:
        return self._replace(aliases=tuple(a for a in self.aliases if a.id != alias_id))


class Group(NamedTuple):
    id: str
    name: str
    type: str = INTERNAL
    policies: tuple[str, ...] = ()
    member_entity_ids: tuple[str, ...] = ()
    # Groups that are members of this one: they (and their entities) inherit its policies.
    member_group_ids: tuple[str, ...] = ()
    metadata: dict[str, str] | None = None
    alias: Alias | None = None  # external groups only
    creation_time: str = ""
    last_update_time: str = ""
    version: int = 0

    def to_storage(self) -> dict[str, Any]:
        stored = self._asdict()
        stored["alias"] = None if self.alias is None else self.alias._asdict()
        del stored["version"]
        return stored

    @classmethod
    def from_storage(cls, raw: dict[str, Any], version: int = 0) -> Group:
        alias = raw.get("alias")
        return build(
            cls, raw, version=version,
            policies=tuple(raw.get("policies") or ()),
            member_entity_ids=tuple(raw.get("member_entity_ids") or ()),
            member_group_ids=tuple(raw.get("member_group_ids") or ()),
            alias=None if not alias else Alias.from_storage(alias),
        )  # fmt: skip

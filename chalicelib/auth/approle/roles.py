"""Approle roles: the stored entry, its role ID index, and conditional updates.

A role lives at ``role/<lowercase name>``; ``role_id/<hmac>`` maps its role ID back to the
name for logins. Both are written in one transaction, the index only if absent, so two
roles can never claim one role ID, even when two containers race.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, NamedTuple

from chalicelib.auth.approle.hashing import (
    MAX_HMAC_INPUT,
    ROLE_PREFIX,
    MountKeys,
    role_key,
    storable,
)
from chalicelib.auth.approle.secret_ids import destroy, in_folder
from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest, NotFound, PreconditionFailed, multierror
from chalicelib.framework import FieldData
from chalicelib.framework.fieldtypes import go_duration
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.policy.errors import go_quote
from chalicelib.storage.physical import ConditionFailed, Delete, Put, WriteOp
from chalicelib.storage.view import StorageView

# The approle spellings OpenBao still accepts for token_* fields (bound_cidr_list is one
# too, but for secret_id_bound_cidrs, which is not a token setting).
LEGACY_FIELDS = {"policies": "token_policies", "period": "token_period"}
# OpenBao's GenericNameRegex: a name of word characters, with - . @ inside.
_NAME = re.compile(r"\w(?:[\w\-.@]*\w)?", re.ASCII)
_RETRIES = 5


def role_name(data: FieldData) -> str:
    """The role named by the path, lowercased; a name OpenBao's router would not match
    is an unsupported path there too."""
    name: str = data["role_name"]
    if not _NAME.fullmatch(name):
        raise NotFound(multierror("unsupported path"))
    return name.lower()


def new_id() -> str:
    """A role ID, secret ID or accessor: a random UUID, as OpenBao generates them."""
    return str(uuid.uuid4())


class Role(NamedTuple):
    name: str
    role_id: str
    # Names the role's secret ID folder (see secret_ids); never shown.
    secrets_folder: str
    bind_secret_id: bool = True
    secret_id_bound_cidrs: tuple[str, ...] = ()
    secret_id_num_uses: int = 0
    secret_id_ttl: int = 0
    local_secret_ids: bool = False
    token: TokenSettings = TokenSettings()

    def to_storage(self) -> dict[str, Any]:
        return {**self._asdict(), "token": self.token.to_storage()}

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        return cls(**{
            **raw,
            "secret_id_bound_cidrs": tuple(raw.get("secret_id_bound_cidrs") or ()),
            "token": TokenSettings.from_storage(raw.get("token")),
        })  # fmt: skip

    def to_api(self) -> dict[str, Any]:
        """A role read, as OpenBao shows it (unset secret ID CIDRs are null there)."""
        return {
            "bind_secret_id": self.bind_secret_id,
            "secret_id_bound_cidrs": list(self.secret_id_bound_cidrs) or None,
            "secret_id_num_uses": self.secret_id_num_uses,
            "secret_id_ttl": self.secret_id_ttl,
            "local_secret_ids": self.local_secret_ids,
            **self.token.to_api(LEGACY_FIELDS),
        }

    @property
    def constrained(self) -> bool:
        """OpenBao refuses a role that anyone knowing its role ID could log in with."""
        return bool(self.bind_secret_id or self.secret_id_bound_cidrs or self.token.bound_cidrs)


class StoredRole(NamedTuple):
    role: Role
    version: int


def load(view: StorageView, name: str) -> StoredRole | None:
    if not storable(name):
        return None  # update refuses such a name, so it is not looked for either
    entry = view.get(role_key(name))
    if entry is None:
        return None
    return StoredRole(Role.from_storage(jsonio.loads(entry.value)), entry.version)


def all_roles(view: StorageView) -> list[Role]:
    keys = [ROLE_PREFIX + name for name in view.list(ROLE_PREFIX) if not name.endswith("/")]
    return [Role.from_storage(jsonio.loads(e.value)) for e in view.get_many(keys).values()]


def find_by_role_id(view: StorageView, keys: MountKeys, role_id: str) -> Role | None:
    index = view.get_json(keys.role_id(role_id))
    if index is None:
        return None
    stored = load(view, index["name"])
    return stored.role if stored is not None else None


def update(
    view: StorageView,
    keys: MountKeys,
    name: str,
    change: Callable[[Role | None], Role | None],
) -> Role | None:
    """Apply ``change`` to the stored role (None: there is none) and store the result
    (None: nothing to store), conditional on nothing having changed meanwhile; re-run on
    a lost race."""
    if not storable(name):
        raise BadRequest(f"role_name is longer than maximum of {MAX_HMAC_INPUT} bytes")
    for _ in range(_RETRIES):
        current = load(view, name)
        role = change(current.role if current else None)
        if role is None:
            return None
        try:
            view.transact(_save_ops(view, keys, role, current))
            return role
        except ConditionFailed:
            continue
    raise PreconditionFailed(f"role {go_quote(name)} is being changed concurrently; try again")


def _save_ops(
    view: StorageView, keys: MountKeys, role: Role, current: StoredRole | None
) -> list[WriteOp]:
    if not role.constrained:
        raise BadRequest("at least one constraint should be enabled on the role")
    ops: list[WriteOp] = [
        Put(role_key(role.name), jsonio.dumpb(role.to_storage()), current.version if current else 0)
    ]
    previous = current.role.role_id if current else ""
    if role.role_id != previous:
        index_key = keys.role_id(role.role_id)
        index = view.get_json(index_key)
        if index is None:
            ops.append(Put(index_key, jsonio.dumpb({"name": role.name}), 0))
        elif index["name"] != role.name:
            raise BadRequest("role_id already in use")
        if previous:
            ops.append(Delete(keys.role_id(previous)))
    return ops


def update_existing(
    view: StorageView, keys: MountKeys, name: str, change: Callable[[Role], Role]
) -> None:
    """``update`` of a role that must exist: OpenBao's 404 "unsupported path" if not."""

    def changed(role: Role | None) -> Role:
        if role is None:
            raise NotFound(multierror("unsupported path"))
        return change(role)

    update(view, keys, name, changed)


def delete(view: StorageView, keys: MountKeys, role: Role) -> None:
    """The role, its secret IDs (first, as OpenBao) and its role ID index."""
    for found in in_folder(view, role.secrets_folder):
        destroy(view, keys, found)
    view.delete(keys.role_id(role.role_id))
    view.delete(role_key(role.name))


def check_period(period: int, max_ttl: int) -> None:
    """A periodic token cannot renew past the mount's max TTL: OpenBao refuses the role."""
    if period > max_ttl:
        raise BadRequest(
            f"period of {go_quote(go_duration(period))} is greater than the backend's maximum "
            f"lease TTL of {go_quote(go_duration(max_ttl))}"
        )

"""Token roles: stored presets that shape the tokens created against them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from chalicelib.storage.barrier import Barrier
from chalicelib.tokens.entry import BATCH, SERVICE
from chalicelib.tokens.ids import ROLES_PREFIX

# Role token types: "default-*" lets the create call choose, the others impose.
DEFAULT_SERVICE = "default-service"
DEFAULT_BATCH = "default-batch"
ROLE_TOKEN_TYPES = (DEFAULT_SERVICE, DEFAULT_BATCH, SERVICE, BATCH)


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    allowed_policies: tuple[str, ...] = ()
    disallowed_policies: tuple[str, ...] = ()
    allowed_policies_glob: tuple[str, ...] = ()
    disallowed_policies_glob: tuple[str, ...] = ()
    allowed_entity_aliases: tuple[str, ...] | None = None
    orphan: bool = False
    renewable: bool = True
    path_suffix: str = ""
    # The deprecated spellings are kept so a read shows what was written (as Vault).
    period: int = 0
    explicit_max_ttl: int = 0
    bound_cidrs: tuple[str, ...] = ()
    token_period: int = 0
    token_explicit_max_ttl: int = 0
    token_bound_cidrs: tuple[str, ...] = ()
    token_no_default_policy: bool = False
    token_num_uses: int = 0
    token_type: str = DEFAULT_SERVICE

    @property
    def restricts_policies(self) -> bool:
        return bool(
            self.allowed_policies
            or self.disallowed_policies
            or self.allowed_policies_glob
            or self.disallowed_policies_glob
        )

    @property
    def effective_period(self) -> int:
        return self.token_period or self.period

    @property
    def effective_explicit_max_ttl(self) -> int:
        return self.token_explicit_max_ttl or self.explicit_max_ttl

    @property
    def effective_bound_cidrs(self) -> tuple[str, ...]:
        return self.token_bound_cidrs or self.bound_cidrs

    def evolve(self, **changes: Any) -> Role:
        return replace(self, **changes)

    def to_api(self) -> dict[str, Any]:
        """What ``auth/token/roles/:name`` reads back (Vault's field set and quirks)."""
        view: dict[str, Any] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in asdict(self).items()
            if name not in ("bound_cidrs", "token_bound_cidrs", "token_num_uses")
        }
        for name in ("token_bound_cidrs", "bound_cidrs"):
            if getattr(self, name):
                view[name] = list(getattr(self, name))
        if self.token_num_uses > 0:
            view["token_num_uses"] = self.token_num_uses
        return view

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known}
        return cls(**values)


class RoleStore:
    """Roles under ``sys/token/roles/`` behind the barrier."""

    def __init__(self, barrier: Barrier) -> None:
        self._barrier = barrier

    def get(self, name: str) -> Role | None:
        entry = self._barrier.get(ROLES_PREFIX + name)
        return None if entry is None else Role.from_storage(json.loads(entry.value))

    def put(self, role: Role) -> None:
        body = json.dumps(role.to_storage(), separators=(",", ":")).encode()
        self._barrier.put(ROLES_PREFIX + role.name, body)

    def delete(self, name: str) -> None:
        self._barrier.delete(ROLES_PREFIX + name)

    def names(self) -> list[str]:
        return [name for name in self._barrier.list(ROLES_PREFIX) if not name.endswith("/")]

"""The stored form of a token (Vault's TokenEntry); the token ID itself is never stored."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenEntry:
    accessor: str
    policies: tuple[str, ...]
    path: str = "auth/token/create"
    display_name: str = "token"
    meta: dict[str, str] | None = None
    parent_accessor: str = ""
    creation_time: int = 0
    ttl: int = 0
    explicit_max_ttl: int = 0
    period: int = 0
    num_uses: int = 0
    renewable: bool = False
    orphan: bool = False
    type: str = "service"
    role: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        return "root" in self.policies

    def expires_at(self) -> int:
        """Unix seconds after which the token is invalid; 0 means never (root tokens)."""
        return self.creation_time + self.ttl if self.ttl else 0

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> TokenEntry:
        return cls(**{**raw, "policies": tuple(raw.get("policies", ()))})

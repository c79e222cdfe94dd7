"""roles/:name: how dynamic users of one database are made, renewed and dropped."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import BadRequest

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ROLE_PREFIX = "role/"
PASSWORD = "password"  # noqa: S105 - Vault's credential type name


@dataclass(frozen=True, slots=True)
class Role:
    db_name: str
    creation_statements: list[str] = field(default_factory=list)
    revocation_statements: list[str] = field(default_factory=list)
    rollback_statements: list[str] = field(default_factory=list)
    renew_statements: list[str] = field(default_factory=list)
    default_ttl: int = 0  # seconds; 0: the mount's
    max_ttl: int = 0
    credential_type: str = PASSWORD

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        return cls(**raw)

    def to_api(self) -> dict[str, Any]:
        return asdict(self)


def read_role(view: StorageView, name: str) -> Role | None:
    raw = view.get_json(ROLE_PREFIX + name)
    return None if raw is None else Role.from_storage(raw)


def write_role(view: StorageView, name: str, role: Role) -> None:
    view.put_json(ROLE_PREFIX + name, asdict(role))


def statement_list(name: str, value: Any) -> list[str]:
    """Vault's TypeStringSlice: a string is one statement (commas are SQL, not
    separators), a list is several."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item for item in value if item.strip()]
    raise BadRequest(f"error converting input for field {name!r}: expected a list of strings")

"""The audit table: enabled devices, stored through the barrier at ``core/audit``.

As OpenBao's audit table, but each entry also holds its device's HMAC salt (OpenBao keeps
that in the device's own storage view; here one read brings both). Every change bumps the
cluster's ``audit`` generation, so each container reloads the table on its next request.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.audit.hashing import new_salt
from chalicelib.core import jsonio
from chalicelib.core.errors import PreconditionFailed
from chalicelib.storage.physical import ConditionFailed, Put

if TYPE_CHECKING:
    from chalicelib.core.runtime import Runtime
    from chalicelib.storage.barrier import Barrier

AUDIT_KEY = "core/audit"
AUDIT_GENERATION = "audit"
_RETRIES = 5


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class AuditEntry(NamedTuple):
    """One enabled device: where, what type, its options, and its salt (never shown)."""

    path: str
    type: str
    uuid: str
    accessor: str
    salt: str
    description: str = ""
    options: Mapping[str, str] = MappingProxyType({})
    local: bool = False

    @classmethod
    def new(cls, path: str, type_name: str, **kwargs: Any) -> AuditEntry:
        accessor = f"audit_{type_name}_{secrets.token_hex(4)}"
        return cls(path, type_name, str(uuid.uuid4()), accessor, new_salt(), **kwargs)

    def to_api(self) -> dict[str, Any]:
        """The entry as sys/audit lists it (keys sorted, as Go encodes its map)."""
        return {
            "description": self.description,
            "local": self.local,
            "options": dict(self.options),
            "path": self.path,
            "type": self.type,
        }


Table = tuple[AuditEntry, ...]


def _decode(raw: bytes | None) -> Table:
    return tuple(AuditEntry(**item) for item in jsonio.loads(raw)) if raw else ()


def load(barrier: Barrier) -> Table:
    entry = barrier.get(AUDIT_KEY)
    return _decode(entry.value if entry else None)


def update(rt: Runtime, change: Callable[[Table], Table]) -> tuple[Table, int]:
    """Read-modify-write of the table with a version check, committed with the generation
    bump.

    Returns the new table and the generation that names it.
    """
    for _ in range(_RETRIES):
        current = rt.barrier.get(AUDIT_KEY)
        updated = change(_decode(current.value if current else None))
        stored = [{**e._asdict(), "options": dict(e.options)} for e in updated]
        put = Put(AUDIT_KEY, jsonio.dumpb(stored), current.version if current else 0)
        try:
            state = rt.commit(rt.barrier, [put], [AUDIT_GENERATION])
        except ConditionFailed:
            continue
        return updated, state.generation(AUDIT_GENERATION)
    raise PreconditionFailed("the audit table is being changed concurrently; retry")


def find(table: Sequence[AuditEntry], path: str) -> AuditEntry | None:
    return next((entry for entry in table if entry.path == path), None)


def normalize_path(path: str) -> str:
    """Vault's device paths end with one slash: "file" and "file/" are the same device."""
    return path.strip("/") + "/"

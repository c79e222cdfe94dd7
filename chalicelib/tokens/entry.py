"""The stored form of a token (Vault's TokenEntry plus its lease times).

The token ID itself is never stored. Vault keeps a token's expiry in the expiration
manager's lease; a Lambda has no such memory, so the lease times live in the entry.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.core.records import build
from chalicelib.tokens.clock import NANOS, now_ns
from chalicelib.tokens.ids import new_accessor, random_base62

SERVICE = "service"
BATCH = "batch"
# num_uses of a token on its last use: invalid for every later request (Vault's value).
REVOCATION_PENDING = -1


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class TokenEntry(NamedTuple):
    accessor: str
    policies: tuple[str, ...]
    path: str = "auth/token/create"
    display_name: str = "token"
    meta: dict[str, str] | None = None
    parent: str = ""  # the parent's salted ID; "" for an orphan
    creation_time: int = 0  # Unix seconds
    ttl: int = 0  # the TTL at creation (lookup's creation_ttl)
    explicit_max_ttl: int = 0
    period: int = 0
    num_uses: int = 0
    renewable: bool = False
    type: str = SERVICE
    role: str = ""
    entity_id: str = ""
    bound_cidrs: tuple[str, ...] = ()
    cubbyhole_id: str = ""
    # What the auth method that issued a login token keeps for its renewal (never shown).
    internal: dict[str, str] | None = None
    # The lease: when it was issued, when it ends (0: never), the TTL of the last grant.
    issued_ns: int = 0
    expires_ns: int = 0
    lease_ttl: int = 0
    last_renewal_ns: int = 0
    # Where and at which version this entry was read: never stored, used for conditional
    # writes ("" and 0 for batch tokens, which have no storage).
    key: str = ""
    version: int = 0

    @property
    def is_root(self) -> bool:
        return "root" in self.policies

    @property
    def orphan(self) -> bool:
        return not self.parent

    @property
    def salted_id(self) -> str:
        return self.key.rpartition("/")[2]

    def expired(self, now_ns: int) -> bool:
        return bool(self.expires_ns) and self.expires_ns <= now_ns

    def live(self, now_ns: int, *, tainted: bool = False) -> bool:
        """Usable now; ``tainted`` also accepts a token on its last use (as Vault's lookups)."""
        if self.num_uses < 0 and not tainted:
            return False
        return not self.expired(now_ns)

    def lease_renewable(self, now_ns: int) -> bool:
        """Whether the lease may be renewed (Vault's ``leaseEntry.renewable``)."""
        if not self.expires_ns or self.type == BATCH or self.expired(now_ns):
            return False
        return self.renewable

    def evolve(self, **changes: Any) -> TokenEntry:
        return self._replace(**changes)

    def to_storage(self) -> dict[str, Any]:
        stored = self._asdict()
        del stored["key"], stored["version"]
        return stored

    @classmethod
    def from_storage(cls, raw: dict[str, Any], *, key: str = "", version: int = 0) -> TokenEntry:
        return build(
            cls, raw, key=key, version=version,
            policies=tuple(raw.get("policies") or ()),
            bound_cidrs=tuple(raw.get("bound_cidrs") or ()),
        )  # fmt: skip


def lease_times(creation_time: int, ttl: int) -> dict[str, int]:
    """Issue and expiry of a lease that starts on a whole second (batch tokens, Vault's way)."""
    issued = creation_time * NANOS
    return {"issued_ns": issued, "expires_ns": issued + ttl * NANOS if ttl else 0}


def root_entry(*, path: str = "auth/token/root", display_name: str = "root") -> TokenEntry:
    """A root token: no parent, no TTL, every capability (sys/init, the dev server)."""
    issued = now_ns()
    return TokenEntry(
        accessor=new_accessor(),
        policies=("root",),
        path=path,
        display_name=display_name,
        creation_time=issued // NANOS,
        issued_ns=issued,
        cubbyhole_id=random_base62(),
    )

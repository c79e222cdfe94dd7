"""A lease as stored: what was issued, to whom, until when, and how revocation is going."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from chalicelib.core import jsonio
from chalicelib.core.records import build
from chalicelib.leases.secret import LeaseInfo
from chalicelib.storage.physical import Entry
from chalicelib.tokens.clock import NANOS, remaining_seconds, rfc3339

# The secret type of a token's own lease (sys/leases sees tokens as leases, as Vault).
TOKEN_LEASE = "token"  # noqa: S105 (a type name, not a secret)
# Vault gives up after this many failed revocations and keeps the lease as irrevocable.
MAX_REVOKE_ATTEMPTS = 6


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class LeaseEntry(NamedTuple):
    lease_id: str
    path: str  # the request path that created it (lookup's "path")
    mount_uuid: str
    secret_type: str
    internal: dict[str, Any]
    renewable: bool
    issued_ns: int
    expires_ns: int
    max_ttl: int = 0  # the engine's own cap (0: the mount's), kept for renewals
    last_renewal_ns: int = 0
    token: str = ""  # the creating token's salted ID ("" for batch tokens)
    # When the sweeper should next act (Unix seconds): the expiry, then retry times.
    due_at: int = 0
    revoke_attempts: int = 0
    revoke_error: str = ""
    # Where and at which version this lease was read: never stored.
    key: str = ""
    version: int = 0

    @property
    def is_token(self) -> bool:
        return self.secret_type == TOKEN_LEASE

    @property
    def irrevocable(self) -> bool:
        return self.revoke_attempts >= MAX_REVOKE_ATTEMPTS

    def expired(self, now_ns: int) -> bool:
        return bool(self.expires_ns) and self.expires_ns <= now_ns

    def evolve(self, **changes: Any) -> LeaseEntry:
        return self._replace(**changes)

    def info(self, increment: int = 0) -> LeaseInfo:
        return LeaseInfo(
            lease_id=self.lease_id,
            internal=self.internal,
            issue_time=_datetime(self.issued_ns),
            expire_time=_datetime(self.expires_ns),
            increment=increment,
        )

    def lookup_view(self, now_ns: int) -> dict[str, Any]:
        """sys/leases/lookup's data, as OpenBao prints it (no expiry: a root token's)."""
        view: dict[str, Any] = {
            "id": self.lease_id,
            "issue_time": rfc3339(self.issued_ns),
            "expire_time": rfc3339(self.expires_ns) if self.expires_ns else None,
            "last_renewal": rfc3339(self.last_renewal_ns) if self.last_renewal_ns else None,
            "ttl": max(remaining_seconds(self.expires_ns, now_ns), 0) if self.expires_ns else 0,
            "path": self.path,
            "renewable": self.renewable and not self.irrevocable and not self.expired(now_ns),
        }
        if self.revoke_error:
            view["revoke_error"] = self.revoke_error
        return view

    def to_bytes(self) -> bytes:
        stored = self._asdict()
        del stored["key"], stored["version"]
        return jsonio.dumpb(stored)

    @classmethod
    def from_entry(cls, entry: Entry) -> LeaseEntry:
        return build(cls, jsonio.loads(entry.value), key=entry.key, version=entry.version)


def _datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / NANOS, UTC)

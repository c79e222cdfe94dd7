"""Rate-limit quota rules, the quota configuration, and which rule a request falls under.

As OpenBao's quota manager: a rule names a mount (``path`` "secret/"), a path below it
("secret/foo", exact, or "secret/foo*", a prefix), a login role on an auth mount, or
nothing (global). A request is governed by one rule only, the most specific: role, exact
path, longest path prefix, mount, global. Plain tuples: rebuilt when the set changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

QUOTA_TYPE = "rate-limit"

# OpenBao's defaults until sys/quotas/config is first written.
DEFAULT_EXEMPT_PATHS = (
    "sys/generate-recovery-token/attempt",
    "sys/generate-recovery-token/update",
    "sys/generate-root/attempt",
    "sys/generate-root/update",
    "sys/health",
    "sys/seal-status",
    "sys/unseal",
)


class RateLimitQuota(NamedTuple):
    """One rule; ``mount`` is a router path ("secret/", "auth/approle/") or "" (global)."""

    name: str
    mount: str = ""
    path_suffix: str = ""
    role: str = ""
    rate: float = 0.0
    interval: int = 1
    block_interval: int = 0
    inheritable: bool = False

    @property
    def tokens(self) -> int:
        """Requests allowed per interval: the rate rounded half away from zero, as Go's."""
        return math.floor(self.rate + 0.5)

    @property
    def factors(self) -> tuple[str, str, str]:
        """What makes two rules the same rule in OpenBao's eyes (a role excludes a suffix)."""
        return (self.mount, self.path_suffix, "" if self.path_suffix else self.role)

    def to_api(self) -> dict[str, Any]:
        return {
            "block_interval": self.block_interval,
            "inheritable": self.inheritable,
            "interval": self.interval,
            "name": self.name,
            "path": self.mount + self.path_suffix,
            "rate": int(self.rate) if self.rate.is_integer() else self.rate,  # Go prints 2
            "role": self.role,
            "type": QUOTA_TYPE,
        }

    @classmethod
    def from_storage(cls, raw: Mapping[str, Any]) -> RateLimitQuota:
        return cls(**raw)


class QuotaConfig(NamedTuple):
    exempt_paths: tuple[str, ...] = DEFAULT_EXEMPT_PATHS
    audit_logging: bool = False
    response_headers: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "enable_rate_limit_audit_logging": self.audit_logging,
            "enable_rate_limit_response_headers": self.response_headers,
            "rate_limit_exempt_paths": list(self.exempt_paths),
        }

    def is_exempt(self, path: str) -> bool:
        """OpenBao's path manager: the longest listed prefix of ``path`` decides ("*" is
        trimmed, so every entry is a prefix); a "!" entry is an exception to the rest."""
        best, exempt = -1, False
        for entry in self.exempt_paths:
            exception = entry.startswith("!")
            prefix = (entry[1:] if exception else entry).removesuffix("*")
            if prefix and path.startswith(prefix) and len(prefix) > best:
                best, exempt = len(prefix), not exception
        return exempt


class QuotaSet:
    """The cluster's rules and config, indexed for the per-request lookup."""

    __slots__ = ("by_mount", "config", "globs", "quotas", "role_mounts")

    def __init__(
        self, quotas: Iterable[RateLimitQuota] = (), config: QuotaConfig | None = None
    ) -> None:
        self.config = config or QuotaConfig()
        self.quotas: Mapping[str, RateLimitQuota] = MappingProxyType(
            {quota.name: quota for quota in quotas}
        )
        by_factors = {quota.factors: quota for quota in self.quotas.values()}
        self.by_mount: Mapping[tuple[str, str, str], RateLimitQuota] = by_factors
        # Per mount, the prefix rules' stems, longest first (tried in that order).
        globs: dict[str, list[str]] = {}
        for mount, suffix, _ in by_factors:
            if suffix.endswith("*"):
                globs.setdefault(mount, []).append(suffix[:-1])
        self.globs = {mount: sorted(stems, key=len, reverse=True) for mount, stems in globs.items()}
        self.role_mounts = frozenset(q.mount for q in self.quotas.values() if q.role and q.mount)

    def match(self, path: str, mount: str, role: str = "") -> RateLimitQuota | None:
        """The one rule governing a request to ``path`` under ``mount`` (OpenBao's order)."""
        table = self.by_mount
        if role and (found := table.get((mount, "", role))) is not None:
            return found
        suffix = path[len(mount):].rstrip("/") if mount else path.rstrip("/")
        if (found := table.get((mount, suffix, ""))) is not None:
            return found
        for stem in self.globs.get(mount, ()):
            if suffix.startswith(stem):
                return table[(mount, stem + "*", "")]
        return table.get((mount, "", "")) or table.get(("", "", ""))

    def similar(self, quota: RateLimitQuota) -> RateLimitQuota | None:
        """Another rule with the same path and role (OpenBao refuses a second one)."""
        found = self.by_mount.get(quota.factors)
        return found if found is not None and found.name != quota.name else None

    def to_storage(self) -> dict[str, Any]:
        return {
            "config": self.config._asdict(),
            "rate-limit": [quota._asdict() for quota in self.quotas.values()],
        }

    @classmethod
    def from_storage(cls, raw: Mapping[str, Any]) -> QuotaSet:
        config = raw.get("config")
        return cls(
            (RateLimitQuota.from_storage(item) for item in raw.get("rate-limit", ())),
            None if config is None else QuotaConfig(
                tuple(config["exempt_paths"]), config["audit_logging"], config["response_headers"]
            ),
        )

    def replace(
        self, quotas: Iterable[RateLimitQuota] | None = None, config: QuotaConfig | None = None
    ) -> QuotaSet:
        return QuotaSet(self.quotas.values() if quotas is None else quotas, config or self.config)


EMPTY = QuotaSet()

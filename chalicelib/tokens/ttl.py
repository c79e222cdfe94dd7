"""Lease TTL arithmetic, as OpenBao's ``framework.CalculateTTL`` does it (with its warnings)."""

from __future__ import annotations

from typing import NamedTuple

from chalicelib.core.errors import BadRequest
from chalicelib.tokens.clock import NANOS


# A NamedTuple: defined on every cold start, where a frozen dataclass costs ~7x more.
class TTLLimits(NamedTuple):
    """The system view of the mount: default and maximum lease TTL in seconds."""

    default_ttl: int
    max_ttl: int


def human_duration(seconds: int) -> str:
    """Go's ``time.Duration.String`` without zero units ("2h", "1m30s", "768h")."""
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        text = f"{hours}h{minutes}m{secs}s"
    elif minutes:
        text = f"{minutes}m{secs}s"
    else:
        text = f"{secs}s"
    if text.endswith("m0s"):
        text = text[:-2]
    if "h0m" in text:
        text = text.replace("h0m", "h", 1)
    return text


def calculate_ttl(
    limits: TTLLimits,
    *,
    start_ns: int,
    now_ns: int,
    increment: int = 0,
    backend_ttl: int = 0,
    period: int = 0,
    explicit_max_ttl: int = 0,
) -> tuple[int, list[str]]:
    """The TTL to grant and the warnings to show, capped by the effective max TTL.

    A period replaces the TTL (capped by the max TTL) and is bounded only by an explicit
    max; otherwise the lease may not outlive ``start + max TTL``.
    """
    now = now_ns // NANOS
    start = start_ns // NANOS if start_ns else now
    max_ttl = limits.max_ttl
    if 0 < explicit_max_ttl < max_ttl:
        max_ttl = explicit_max_ttl
    if max_ttl <= 0:
        raise BadRequest("max TTL must be greater than zero")
    warnings: list[str] = []
    deadline = 0
    if period > 0:
        if period > max_ttl:
            warnings.append(
                f'period of "{human_duration(period)}" exceeded the effective max_ttl of '
                f'"{human_duration(max_ttl)}"; period value is capped accordingly'
            )
            period = max_ttl
        ttl = period
        if explicit_max_ttl > 0:
            deadline = start + explicit_max_ttl
    else:
        ttl = increment or backend_ttl or limits.default_ttl
        deadline = start + max_ttl
    if deadline:
        left = deadline - now
        if left <= 0:
            raise BadRequest("past the max TTL, cannot renew")
        if ttl > left:
            warnings.append(
                f'TTL of "{human_duration(ttl)}" exceeded the effective max_ttl of '
                f'"{human_duration(left)}"; TTL value is capped accordingly'
            )
            ttl = left
    return ttl, warnings

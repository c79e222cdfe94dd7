"""Time as the token store reports it: Unix nanoseconds inside, RFC 3339 outside."""

from __future__ import annotations

import time
from functools import lru_cache

NANOS = 1_000_000_000


def now_ns() -> int:
    return time.time_ns()


def seconds_to_ns(seconds: int) -> int:
    return seconds * NANOS


@lru_cache(maxsize=4096)
def rfc3339(ns: int) -> str:
    """Go's RFC3339Nano in UTC, as Vault prints token times (trailing zeros trimmed).

    Cached: the same creation and expiry times of a token or a secret version are printed
    by every read of it (~2 us each to format, ~0.1 us to find).
    """
    whole, fraction = divmod(ns, NANOS)
    # gmtime and %-formatting: several times cheaper than datetime.strftime, per request.
    stamp = "%04d-%02d-%02dT%02d:%02d:%02d" % time.gmtime(whole)[:6]  # noqa: UP031
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


def remaining_seconds(expires_ns: int, now: int) -> int:
    """Vault's lease ``ttl()``: expiry minus now rounded to the second, truncated."""
    rounded = (now + NANOS // 2) // NANOS * NANOS
    return int((expires_ns - rounded) / NANOS)

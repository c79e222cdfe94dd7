"""CalculateTTL and Go's duration printing, as OpenBao does them."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.tokens.clock import NANOS
from chalicelib.tokens.ttl import TTLLimits, calculate_ttl, human_duration

LIMITS = TTLLimits(default_ttl=3600, max_ttl=7200)
START = 1_800_000_000 * NANOS


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (90, "1m30s"), (120, "2m"), (3600, "1h"), (7200, "2h"),
     (3661, "1h1m1s"), (3660, "1h1m"), (3601, "1h1s"), (2764800, "768h"), (7197, "1h59m57s")],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_default_then_backend_then_increment() -> None:
    assert calculate_ttl(LIMITS, start_ns=START, now_ns=START) == (3600, [])
    assert calculate_ttl(LIMITS, start_ns=START, now_ns=START, backend_ttl=60) == (60, [])
    assert calculate_ttl(LIMITS, start_ns=START, now_ns=START, backend_ttl=60, increment=90) == (
        90, [],
    )


def test_capped_by_the_time_left_before_the_max() -> None:
    later = START + 3 * NANOS
    ttl, warnings = calculate_ttl(LIMITS, start_ns=START, now_ns=later, increment=10_000)
    assert ttl == 7197
    assert warnings == [
        'TTL of "2h46m40s" exceeded the effective max_ttl of "1h59m57s"; '
        "TTL value is capped accordingly"
    ]


def test_explicit_max_ttl_lowers_the_max() -> None:
    ttl, warnings = calculate_ttl(
        LIMITS, start_ns=START, now_ns=START, backend_ttl=3600, explicit_max_ttl=600
    )
    assert ttl == 600 and "effective max_ttl of \"10m\"" in warnings[0]


def test_period_replaces_the_ttl_and_ignores_the_mount_max_window() -> None:
    much_later = START + 10 * 7200 * NANOS
    assert calculate_ttl(LIMITS, start_ns=START, now_ns=much_later, period=600) == (600, [])
    ttl, warnings = calculate_ttl(LIMITS, start_ns=START, now_ns=START, period=10_000)
    assert ttl == 7200
    assert warnings == [
        'period of "2h46m40s" exceeded the effective max_ttl of "2h"; '
        "period value is capped accordingly"
    ]


def test_periodic_token_still_bound_by_its_explicit_max() -> None:
    near_end = START + 7000 * NANOS
    ttl, _ = calculate_ttl(
        LIMITS, start_ns=START, now_ns=near_end, period=600, explicit_max_ttl=7100
    )
    assert ttl == 100


def test_past_the_max_cannot_renew() -> None:
    with pytest.raises(BadRequest, match="past the max TTL"):
        calculate_ttl(LIMITS, start_ns=START, now_ns=START + 8000 * NANOS)

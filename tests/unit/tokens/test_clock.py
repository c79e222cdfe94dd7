"""Token times as Vault prints them."""

from __future__ import annotations

from chalicelib.tokens.clock import NANOS, remaining_seconds, rfc3339


def test_rfc3339_nano_trims_zeros() -> None:
    assert rfc3339(1_795_389_781 * NANOS) == "2026-11-22T23:23:01Z"
    assert rfc3339(1_795_389_781 * NANOS + 315_311_126) == "2026-11-22T23:23:01.315311126Z"
    assert rfc3339(1_795_389_781 * NANOS + 500_000_000) == "2026-11-22T23:23:01.5Z"


def test_remaining_seconds_rounds_now_to_the_second() -> None:
    expires = 1000 * NANOS + 300_000_000
    assert remaining_seconds(expires, 400 * NANOS + 400_000_000) == 600
    assert remaining_seconds(expires, 400 * NANOS + 600_000_000) == 599

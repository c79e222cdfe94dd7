"""Request values converted as OpenBao's framework converts them."""

from __future__ import annotations

import pytest

from chalicelib.framework.fieldtypes import FieldError, FieldType


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"team": "ops"}, {"team": "ops"}),
        (["team=ops", "tier=1"], {"team": "ops", "tier": "1"}),
        ("team=ops", {"team": "ops"}),  # `bao write ... metadata=team=ops` sends one string
        ('{"team": "ops"}', {"team": "ops"}),
        ("", {}),
    ],
)
def test_kv_pairs_take_every_shape_clients_send(sent: object, expected: dict) -> None:
    assert FieldType.KV_PAIRS.convert(sent) == expected


def test_kv_pairs_without_a_separator_are_refused() -> None:
    with pytest.raises(FieldError):
        FieldType.KV_PAIRS.convert("no-separator")


# What OpenBao's Go types cannot hold it refuses: an int64, a duration of int64 nanoseconds.
@pytest.mark.parametrize("sent", [2**63, -(2**63) - 1, 1e30, "99999999999999999999"])
def test_integers_beyond_int64_are_out_of_range(sent: object) -> None:
    with pytest.raises(FieldError, match="value out of range"):
        FieldType.INT.convert(sent)


@pytest.mark.parametrize("sent", ["9999999999999999999h", "2562048h", 10**20, 1e30,
                                  float("inf"), "99999999999999999999"])
def test_durations_beyond_go_duration_are_invalid(sent: object) -> None:
    with pytest.raises(FieldError, match="time: invalid duration"):
        FieldType.DURATION.convert(sent)


def test_the_longest_go_duration_still_parses() -> None:
    assert FieldType.DURATION.convert("2562047h") == 2562047 * 3600

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

"""A container spreads a folder's marker ADDs over shards once it sees, from the marker's
own count, more creations per second there than HOT_RATE, and measures again later."""

from __future__ import annotations

from chalicelib.storage.dynamowire import MARKER_SHARDS
from chalicelib.storage.markerheat import HOT_RATE, SPREAD_SECONDS, MarkerHeat
from tests.support import FakeClock


def test_a_folder_is_cold_until_the_marker_counts_a_fast_rate() -> None:
    clock = FakeClock(100.0)
    heat = MarkerHeat(clock)
    assert heat.shard("f/") == 0
    heat.saw("f/", 0, 10)
    clock.now += 1.0
    heat.saw("f/", 0, 10 + int(HOT_RATE) - 1)  # just under the rate: still one item
    assert heat.shard("f/") == 0
    clock.now += 1.0
    heat.saw("f/", 0, 10 + 3 * int(HOT_RATE))  # every container together: over it
    assert {heat.shard("f/") for _ in range(500)} == set(range(1, MARKER_SHARDS))
    assert heat.shard("g/") == 0  # per folder
    heat.saw("f/", 5, 2)  # a shard's count says nothing of the folder's rate
    clock.now += SPREAD_SECONDS
    assert heat.shard("f/") == 0  # back on the marker, to measure again


def test_noise_and_a_remade_marker_never_count_as_hot() -> None:
    clock = FakeClock(0.0)
    heat = MarkerHeat(clock)
    heat.saw("f/", 0, 1)
    clock.now += 0.001
    heat.saw("f/", 0, 3)  # two creations a millisecond apart: too few to be a rate
    assert heat.shard("f/") == 0
    heat.saw("f/", 0, 1)  # pruned and made again: gen restarted
    assert heat.shard("f/") == 0

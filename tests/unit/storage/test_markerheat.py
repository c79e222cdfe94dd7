"""A container spreads a folder's marker ADDs over shards once the marker's own count shows
more creations per second there than HOT_RATE (all containers together), and measures again
later."""

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
    heat.saw("f/", 0, 10 + int(HOT_RATE) - 1)  # just under the rate over a second: cold
    assert heat.shard("f/") == 0
    clock.now += 1.0
    heat.saw("f/", 0, 10 + 3 * int(HOT_RATE))  # every container together: over it
    assert {heat.shard("f/") for _ in range(500)} == set(range(1, MARKER_SHARDS))
    assert heat.shard("g/") == 0  # per folder
    heat.saw("f/", 5, 2)  # a shard's count says nothing of the folder's rate
    clock.now += SPREAD_SECONDS
    assert heat.shard("f/") == 0  # back on the marker, to measure again


def test_a_few_busy_containers_are_seen_over_a_window() -> None:
    """Ten containers at 100 creations/s each: one container's consecutive ADDs are ten
    creations apart, so the rate is judged once its window holds enough of them."""
    clock = FakeClock(0.0)
    heat = MarkerHeat(clock)
    for step in range(6):
        heat.saw("f/", 0, 1 + 10 * step)
        clock.now += 0.01
        if step < 5:
            assert heat.shard("f/") == 0
    assert heat.shard("f/") != 0  # 50 creations in 0.05 s: 1,000/s


def test_noise_and_a_remade_marker_never_count_as_hot() -> None:
    clock = FakeClock(0.0)
    heat = MarkerHeat(clock)
    heat.saw("f/", 0, 1)
    clock.now += 0.001
    heat.saw("f/", 0, 3)  # two creations a millisecond apart: too few to be a rate
    assert heat.shard("f/") == 0
    heat.saw("f/", 0, 1)  # pruned and made again: gen restarted
    assert heat.shard("f/") == 0
    for gen in range(2, 62):  # one container alone, 60 creations over 1.2 s: 50/s
        clock.now += 0.02
        heat.saw("f/", 0, gen)
    assert heat.shard("f/") == 0

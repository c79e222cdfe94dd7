"""The scale benchmark's recorded calls -> one load's demand per request: calls by
operation, read and write units per item and per partition-key value (told apart into keys
read per request and keys read from a per-container cache), Firehose per stream, and the
modelled Lambda duration."""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bench import capacity
from bench.awsproxy import Call
from bench.common import BenchError
from bench.cost import CALL_LATENCY_MS, MEMORY_MB, ONE_VCPU_MB

# An item or key read at most once per container within this gap is served from a cache
# (per container, not per request): cached reads come a TTL apart, per-request ones do not.
CACHE_GAP_S = 0.5
CACHE_EVIDENCE = 5.0
# Keys shown per tally (by units, those read per request; plus the top cached one), and the
# partition quota each tally is held to.
HOT_TOP = {"item_read": 1, "pk_read": 3, "item_write": 1, "pk_write": 3}
HOT_QUOTAS = {
    "item_read": "partition_read",
    "pk_read": "partition_read",
    "item_write": "partition_write",
    "pk_write": "partition_write",
}


@dataclass
class _Tally:
    """Units on one key (an item or a partition-key value), and when each container hit it."""

    units: float = 0.0
    count: int = 0
    times: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, container: int, at: float, units: float) -> None:
        self.units += units
        self.count += 1
        self.times[container].append(at)

    def cached(self, seconds: dict[int, float]) -> bool:
        """Read at most once per CACHE_GAP_S in every container, where reads this frequent
        made at random (per request) would have come closer than that at least
        CACHE_EVIDENCE times: a rarely read key stays per request (the safe side)."""
        near, expected = 0, 0.0
        for container, times in self.times.items():
            ordered = sorted(times)
            near += sum(b - a < CACHE_GAP_S for a, b in itertools.pairwise(ordered))
            rate = len(ordered) / seconds[container]
            expected += (len(ordered) - 1) * -math.expm1(-rate * CACHE_GAP_S)
        return near == 0 and expected >= CACHE_EVIDENCE


def analyse(runs: list[dict[str, Any]], calls: Iterable[Call]) -> dict[str, Any]:
    """Per-request demand of one load: ``runs`` are the containers' replies (in container
    order), ``calls`` everything the proxy saw."""
    windows = {index: (run["start"], run["end"]) for index, run in enumerate(runs)}
    requests = sum(sum(run["requests"].values()) for run in runs)
    if not requests or any(run["failures"] for run in runs):
        raise BenchError(f"load failed: {sum(run['failures'] for run in runs)} failures")
    seconds = {index: end - start for index, (start, end) in windows.items()}
    container_seconds = sum(seconds.values())
    operations: Counter[str] = Counter()
    tallies: dict[str, dict[str, _Tally]] = {
        name: defaultdict(_Tally) for name in ("item_read", "pk_read", "item_write", "pk_write")
    }
    streams: dict[str, Counter[str]] = defaultdict(Counter)
    for call in calls:
        start, end = windows[call.container]
        if not start <= call.at <= end:
            continue
        operations[f"{call.service}:{call.operation}"] += 1
        _tally(call, tallies)
        if call.stream:
            streams[call.stream].update(
                {"calls": 1, "records": call.records, "bytes": call.record_bytes}
            )
    cpu = sum(sum(run["cpu"].values()) for run in runs) / requests
    per_op = {op: n / requests for op, n in sorted(operations.items())}
    return {
        "requests": requests,
        "containers": len(runs),
        "container_seconds": container_seconds,
        "rate": requests / (container_seconds / len(runs)),
        "cpu_s": cpu,
        "duration_s": _duration_s(cpu, per_op),
        "calls": per_op,
        # Every read unit lands on a partition-key value (item reads and queries alike).
        "read_units": sum(t.units for t in tallies["pk_read"].values()) / requests,
        "write_units": sum(t.units for t in tallies["item_write"].values()) / requests,
        "distinct": {name: len(keyed) for name, keyed in tallies.items()},
        "hot": {
            name: _hottest(keyed, requests, seconds, HOT_TOP[name])
            for name, keyed in tallies.items()
        },
        "streams": {
            name: {key: n / requests for key, n in counts.items()}
            for name, counts in sorted(streams.items())
        },
    }


def _tally(call: Call, tallies: dict[str, dict[str, _Tally]]) -> None:
    for (pk, sk), units in call.reads:
        tallies["item_read"][f"{pk} | {sk}"].add(call.container, call.at, units)
        tallies["pk_read"][pk].add(call.container, call.at, units)
    for pk, units in call.queries:
        tallies["pk_read"][pk].add(call.container, call.at, units)
    for (pk, sk), units in call.writes:
        tallies["item_write"][f"{pk} | {sk}"].add(call.container, call.at, units)
        tallies["pk_write"][pk].add(call.container, call.at, units)


def _hottest(
    keyed: dict[str, _Tally], requests: int, seconds: dict[int, float], top: int
) -> list[dict[str, Any]]:
    """The ``top`` keys with the most units among keys read per request, then the one among
    cached keys."""
    container_seconds = sum(seconds.values())
    hottest = []
    for cached, count in ((False, top), (True, 1)):
        candidates = [(label, t) for label, t in keyed.items() if t.cached(seconds) == cached]
        candidates.sort(key=lambda kv: kv[1].units, reverse=True)
        hottest += [
            {
                "key": label,
                "count_per_request": tally.count / requests,
                "units_per_request": tally.units / requests,
                "units_per_container_second": tally.units / container_seconds,
                "cached": cached,
            }
            for label, tally in candidates[:count]
        ]
    return hottest


def _duration_s(cpu_s: float, calls: dict[str, float]) -> float:
    """Lambda duration as bench/cost.py models it (unrounded): CPU stretched by the memory's
    CPU share, plus an assumed in-region round trip per AWS call."""
    share = min(1.0, MEMORY_MB / ONE_VCPU_MB)
    network = sum(n * CALL_LATENCY_MS.get(op.split(":")[0], 5.0) for op, n in calls.items())
    return cpu_s / share + network / 1000


def demand(measured: dict[str, Any]) -> capacity.Demand:
    spots = []
    for name, quota in HOT_QUOTAS.items():
        for hot in measured["hot"][name]:
            scope = "item" if name.startswith("item") else "partition-key value"
            spots.append(capacity.HotSpot(
                f"{scope} `{short(hot['key'])}`", quota, hot["units_per_request"],
                hot["units_per_container_second"], hot["cached"],
            ))  # fmt: skip
    streams = tuple(
        capacity.Stream(name, s["calls"], s["records"], s["bytes"])
        for name, s in measured["streams"].items()
    )
    return capacity.Demand(measured["duration_s"], measured["read_units"],
                           measured["write_units"], tuple(spots), streams)  # fmt: skip


def short(key: str, width: int = 56) -> str:
    """Long keys lose their middle (a mount's UUID), never their ends."""
    if len(key) <= width:
        return key
    keep = (width - 1) // 2
    return key[:keep] + "…" + key[-keep:]

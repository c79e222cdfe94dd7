"""Folder markers under a fleet: the writes each marker item takes when many containers
create keys in one folder, with a busy folder's marker spread over shards (issue 20).

Every creation of a key ADDs 1 to its folder's marker; `sys/token/accessor/` takes one per
service token the cluster creates, and one DynamoDB item
takes at most 1,000 writes/s. Here CONTAINERS simulated containers (each its own
DynamoDBPhysical, so its own MarkerHeat) in a worker process, on one moto table in its
own process, make the marker updates of CREATIONS key creations in one folder (each what
a creation does after its transaction), taking turns at random, on a simulated clock that
runs at RATE creations/s cluster-wide. Every UpdateItem on the
folder's marker and its shards is counted; the run is made twice, with spreading off
(HOT_RATE infinite, as before) and on. Knobs (environment): MARKERS_CONTAINERS,
MARKERS_CREATIONS, MARKERS_RATE.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections import Counter
from typing import Any

from bench.common import MotoServer, Worker, aws_environ
from bench.core import _table
from bench.results import run_header
from bench.worker import COMMANDS, Reply, main

SECTION = "markers"
TITLE = "Folder markers: writes per item when a fleet creates keys in one folder"
PARENT = "sys/token/"  # the folder's parent: its pk holds the marker and the shards
ITEM_LIMIT = 1_000  # writes/s one DynamoDB item takes


def _knob(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def run(argv: list[str]) -> str:
    containers = _knob("MARKERS_CONTAINERS", 50)
    creations = _knob("MARKERS_CREATIONS", 3_000)
    rate = _knob("MARKERS_RATE", 10_000)
    header = run_header(TITLE, argv)
    rows = []
    with MotoServer() as moto, contextlib.closing(
        Worker(aws_environ(moto.url), timeout=900, module="bench.markers")
    ) as sim:
        sim.call("markers_table")
        for spreading in (False, True):
            counted = sim.call(
                "markers_simulate", folder=f"{PARENT}{'on' if spreading else 'off'}/",
                containers=containers, creations=creations, rate=rate, spreading=spreading,
            )  # fmt: skip
            rows.append(_row(spreading, counted, creations, rate))
    table_header = ["spreading", "items written", "ADDs to the marker itself",
                    "ADDs to its busiest shard",
                    f"that shard's writes/s at {rate:,} creations/s",
                    "items LIST reads for the folder"]  # fmt: skip
    shard_rate = rows[-1][-2]
    return "\n".join([
        header,
        "",
        f"{containers} simulated containers make the marker updates of {creations:,} key "
        f"creations in one folder at a simulated {rate:,} creations/s cluster-wide (moto in "
        "its own process; each container its own storage layer, so its own view of the "
        "folder's heat; the creations' transactions are left out, the marker ADD that "
        "follows each is the storage layer's own). A "
        "container's first ADDs go to the marker itself, which is how it measures (a window "
        "of at least 50 creations cluster-wide); once hot, its ADDs go to a random shard "
        "for a minute, then it measures again. So the marker's count here is the fleet's "
        "warm-up; later it takes one measuring window per container per minute, and the "
        "shards take the rest, evenly.",
        "",
        _table(table_header, rows),
        f"One DynamoDB item takes at most {ITEM_LIMIT:,} writes/s: without spreading the "
        f"marker caps the folder (every login, for the token store's folders) near "
        f"{ITEM_LIMIT:,} creations/s; with it the busiest shard takes {shard_rate} writes/s "
        f"at {rate:,} creations/s.",
        "",
    ])


def _row(spreading: bool, counted: Reply, creations: int, rate: int) -> list[str]:
    writes: dict[str, int] = counted["writes"]
    marker = next(sk for sk in writes if sk.endswith("/"))
    shards = {sk: n for sk, n in writes.items() if sk != marker} or {marker: writes[marker]}
    busiest = max(shards, key=shards.__getitem__)
    share = shards[busiest] / creations
    return [
        "on" if spreading else "off (as before)",
        str(len(writes)),
        f"{writes[marker]:,} of {creations:,}",
        f"`{busiest}`: {shards[busiest]:,} ({share:.1%})",
        f"{share * rate:,.0f}" + (" (over the limit)" if share * rate > ITEM_LIMIT else ""),
        f"{counted['listed']} (the folder listed {counted['names']} time)",
    ]


# --- the worker's side ------------------------------------------------------------------


def table() -> Reply:
    from chalicelib.storage.dynamotable import create_table

    create_table()
    return {}


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def simulate(folder: str, containers: int, creations: int, rate: int, spreading: bool) -> Reply:
    from chalicelib.storage import markerheat
    from chalicelib.storage.dynamodb import DynamoDBPhysical

    clock = _Clock()
    fleet = []
    for _ in range(containers):
        physical = DynamoDBPhysical()
        physical._heat = markerheat.MarkerHeat(clock)  # the simulated clock
        fleet.append(physical)
    writes: Counter[str] = Counter()
    marker_pk = "/" + folder.rsplit("/", 2)[0] + "/"
    original = DynamoDBPhysical._call

    def counting(self: DynamoDBPhysical, operation: str, params: dict[str, Any]) -> Any:
        if operation == "UpdateItem" and params["Key"]["pk"]["S"] == marker_pk:
            writes[params["Key"]["sk"]["S"]] += 1
        return original(self, operation, params)

    hot_rate = markerheat.HOT_RATE
    DynamoDBPhysical._call = counting  # type: ignore[method-assign]
    markerheat.HOT_RATE = hot_rate if spreading else float("inf")
    rng = random.Random(20)
    try:
        for _ in range(creations):
            clock.now += 1 / rate
            # What a creation does to the folder's marker once its transaction committed.
            # The transactions themselves are left out: moto copies its whole table for
            # each one, which makes thousands of them take minutes.
            rng.choice(fleet)._mark(folder)  # the step under measurement
    finally:
        DynamoDBPhysical._call = original  # type: ignore[method-assign]
        markerheat.HOT_RATE = hot_rate
    listed = fleet[0]._sort_keys(marker_pk)  # the items LIST reads
    name = folder.rsplit("/", 2)[1] + "/"
    return {
        "writes": dict(writes),
        "listed": sum(1 for sk in listed if sk.startswith(name)),
        "names": fleet[0].list(folder.rsplit("/", 2)[0] + "/").count(name),
    }


if __name__ == "__main__":
    COMMANDS.update({"markers_table": table, "markers_simulate": simulate})
    main()

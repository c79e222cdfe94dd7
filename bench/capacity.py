"""Capacity model: a load's measured per-request demand on each AWS quota -> the cluster's
ceiling in requests/s, the binding limit, and what a higher target needs.

Every ceiling is ``quota / demand per request``, except for items read at most about once
per container per second (a cache): those cost per container, not per request, and the
containers a rate needs follow from Little's law (containers = requests/s x duration),
capped by Lambda's concurrency quota.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024 * 1024
INF = math.inf


@dataclass(frozen=True)
class Quota:
    what: str
    value: float
    unit: str
    raise_: str  # whether and how it is raised
    source: str


# AWS's documented defaults, us-east-1 (Firehose: us-east-1, us-west-2 and eu-west-1).
QUOTAS = {
    "api": Quota(
        "API Gateway throttle", 10_000, "requests/s per account and Region (HTTP + REST APIs)",
        "Service Quotas (L-8A5B8E43)",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    ),
    "lambda": Quota(
        "Lambda concurrency", 1_000, "concurrent executions per account and Region",
        "Service Quotas (up to tens of thousands)",
        "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    ),
    "partition_read": Quota(
        "DynamoDB partition reads", 3_000, "read units/s per partition (1 per strongly "
        "consistent read of up to 4 KB)", "fixed: spread or cache the hot key",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
    ),
    "partition_write": Quota(
        "DynamoDB partition writes", 1_000, "write units/s per partition (1 per KB written)",
        "fixed: spread the hot key",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html",
    ),
    "table_read": Quota(
        "DynamoDB table reads (on demand)", 40_000, "read request units/s per table",
        "Service Quotas (table-level read throughput)",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html",
    ),
    "table_write": Quota(
        "DynamoDB table writes (on demand)", 40_000, "write request units/s per table",
        "Service Quotas (table-level write throughput)",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode-max-throughput.html",
    ),
    "firehose_calls": Quota(
        "Firehose calls", 2_000, "PutRecord + PutRecordBatch calls/s per stream",
        "Firehose limits form (the three stream quotas scale together) or more streams",
        "https://docs.aws.amazon.com/firehose/latest/dev/limits.html",
    ),
    "firehose_records": Quota(
        "Firehose records", 500_000, "records/s per stream",
        "as above", "https://docs.aws.amazon.com/firehose/latest/dev/limits.html",
    ),
    "firehose_bytes": Quota(
        "Firehose bytes", 5 * MIB, "bytes/s per stream (5 MiB/s)",
        "as above", "https://docs.aws.amazon.com/firehose/latest/dev/limits.html",
    ),
    "firehose_streams": Quota(
        "Firehose streams", 50, "delivery streams per account and Region",
        "Service Quotas", "https://docs.aws.amazon.com/firehose/latest/dev/limits.html",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class HotSpot:
    """The most-read (or most-written) item or partition-key value of a load."""

    label: str  # e.g. "item #cluster|state", "pk /sys/token/id/"
    quota: str  # "partition_read" or "partition_write"
    per_request: float  # units per request (when read per request)
    per_container_second: float  # units per container-second (when cached per container)
    cached: bool  # read at most about once per container per second


@dataclass(frozen=True)
class Stream:
    name: str
    calls: float  # per request
    records: float
    bytes: float


@dataclass(frozen=True)
class Demand:
    """A load's per-request demand, as measured (duration modelled)."""

    duration_s: float  # Lambda duration per request
    read_units: float  # per request, whole table
    write_units: float
    hot_spots: tuple[HotSpot, ...]
    streams: tuple[Stream, ...]


@dataclass(frozen=True)
class Limit:
    key: str  # a QUOTAS key
    subject: str  # what this limit is about (an item, a stream...)
    demand: str  # the per-request demand, readable
    ceiling: float  # requests/s


def limits(demand: Demand, quotas: dict[str, Quota] = QUOTAS) -> list[Limit]:
    """Every limit's ceiling for ``demand`` under ``quotas``, lowest first."""
    q = {key: quota.value for key, quota in quotas.items()}
    found = [
        Limit("api", "all requests", "1 request", q["api"]),
        Limit("lambda", "all requests", f"{demand.duration_s * 1e3:.1f} ms per request",
              q["lambda"] / demand.duration_s),
        Limit("table_read", "the table", f"{demand.read_units:.2f} RRU",
              _per(q["table_read"], demand.read_units)),
        Limit("table_write", "the table", f"{demand.write_units:.2f} WRU",
              _per(q["table_write"], demand.write_units)),
    ]  # fmt: skip
    for spot in demand.hot_spots:
        ceiling = spot_ceiling(spot, demand.duration_s, quotas)
        found.append(Limit(spot.quota, spot.label, _spot_demand(spot), ceiling))
    for stream in demand.streams:
        for key, per in (("firehose_calls", stream.calls), ("firehose_records", stream.records),
                         ("firehose_bytes", stream.bytes)):  # fmt: skip
            unit = {"firehose_calls": "calls", "firehose_records": "records"}.get(key, "bytes")
            found.append(
                Limit(key, f"stream {stream.name}", f"{per:,.2f} {unit}", _per(q[key], per))
            )
    return sorted(found, key=lambda limit: limit.ceiling)


def _per(quota: float, per_request: float) -> float:
    return quota / per_request if per_request > 0 else INF


def _spot_demand(spot: HotSpot) -> str:
    if spot.cached:
        return f"{spot.per_container_second:.2f} units per container-second (cached)"
    return f"{spot.per_request:.3f} units"


def spot_ceiling(spot: HotSpot, duration_s: float, quotas: dict[str, Quota] = QUOTAS) -> float:
    """A per-request spot caps requests/s directly. A cached spot costs per container: at
    R requests/s, min(R x duration, concurrency) containers; it caps R only if even the
    concurrency quota's worth of containers would read it past the partition's quota."""
    quota = quotas[spot.quota].value
    if not spot.cached:
        return _per(quota, spot.per_request)
    if spot.per_container_second * quotas["lambda"].value <= quota:
        return INF
    return quota / (spot.per_container_second * duration_s)


def binding(found: list[Limit]) -> Limit:
    return min(found, key=lambda limit: limit.ceiling)


def streams_needed(demand: Demand, target: float, quotas: dict[str, Quota] = QUOTAS) -> int:
    """Streams at default per-stream quotas for ``target`` requests/s, records spread evenly."""
    calls = sum(s.calls for s in demand.streams)
    records = sum(s.records for s in demand.streams)
    size = sum(s.bytes for s in demand.streams)
    need = max(
        target * calls / quotas["firehose_calls"].value,
        target * records / quotas["firehose_records"].value,
        target * size / quotas["firehose_bytes"].value,
    )
    return max(1, math.ceil(need)) if calls else 0


def spread(demand: Demand, streams: int) -> Demand:
    """``demand`` with its audit records spread evenly over ``streams`` streams."""
    if not demand.streams or streams < 1:
        return demand
    total = Stream(
        f"1 of {streams}",
        sum(s.calls for s in demand.streams) / streams,
        sum(s.records for s in demand.streams) / streams,
        sum(s.bytes for s in demand.streams) / streams,
    )
    return Demand(demand.duration_s, demand.read_units, demand.write_units, demand.hot_spots,
                  (total,))  # fmt: skip


def path_to(demand: Demand, target: float, quotas: dict[str, Quota] = QUOTAS) -> list[str]:
    """What ``target`` requests/s needs beyond the default quotas: one line per change."""
    streams = streams_needed(demand, target, quotas)
    steps = []
    if streams:
        most = quotas["firehose_streams"].value
        beyond = (
            f" (past the {most:,.0f} streams per Region: raise that quota too, or raise the "
            f"per-stream quotas: doubled, {math.ceil(streams / 2)} streams)"
            if streams > most
            else ""
        )
        steps.append(
            f"{streams} Firehose streams for the s3 audit device (`streams=`) at the default "
            f"per-stream quotas{beyond}"
        )
    containers = target * demand.duration_s
    for spot in demand.hot_spots:
        load = spot.per_container_second * containers
        if spot.cached and load > quotas[spot.quota].value:
            steps.append(f"{spot.label}: read by {containers:,.0f} containers at "
                         f"{load:,.0f} units/s, past one partition's quota: shard it")  # fmt: skip
    short = [
        limit
        for limit in limits(spread(demand, streams), quotas)
        if limit.ceiling < target and not limit.key.startswith("firehose")
    ]
    for limit in short:
        quota = quotas[limit.key]
        needed = quota.value * target / limit.ceiling
        if not limit.key.startswith("partition"):
            steps.append(f"{quota.what}: raise to {needed:,.0f} {quota.unit} ({quota.raise_})")
        elif limit is next(other for other in short if other.key == limit.key):  # the worst
            also = sum(other.key == limit.key for other in short) - 1
            kind = "read" if limit.key == "partition_read" else "write"
            steps.append(
                f"{limit.subject}: {needed:,.0f} {kind} units/s, past one partition's "
                f"{quota.value:,.0f} (not raisable): the load must spread over more such keys, "
                "or the design must cache or shard this one"
                + (f" ({also} more of the keys shown pass it too)" if also else "")
            )
    return steps

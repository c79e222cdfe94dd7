"""Scale: what a load from many containers asks of each AWS quota, and the cluster's
ceiling in requests/s that follows (issue 20).

Processes (all on 127.0.0.1, all stopped by their own handles):
  moto server              its own process, ONE table, the s3 audit device's stream(s)
  bench.scale_container xN simulated Lambda containers: each its own Python runtime,
                           driving app.py's handler with API Gateway proxy events
  (this process)           a recording proxy between the containers and moto (bench.awsproxy)

Every AWS call is counted on the wire, so the count holds whatever client or key layout the
app uses. The capacity model is bench.capacity. Knobs (environment): SCALE_CONTAINERS,
SCALE_SECONDS (per load), SCALE_TOKENS, SCALE_SECRETS, SCALE_WRITE_SHARE and
SCALE_LOOKUP_SHARE (the mixed load), SCALE_AUDIT_STREAMS (extra streams created in moto,
named <stream>-2...) and SCALE_AUDIT_OPTIONS (JSON options of the s3 device).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from bench import capacity
from bench.awsproxy import Call, RecordingProxy, parsed
from bench.common import (
    AUDIT_BUCKET,
    AUDIT_STREAM,
    KMS_ALIAS,
    REGION,
    TABLE,
    BenchError,
    MotoServer,
    Worker,
    aws_environ,
    worker,
)
from bench.core import _table
from bench.cost import CALL_LATENCY_MS, MEMORY_MB, ONE_VCPU_MB
from bench.results import run_header

SECTION = "scale"
TITLE = "Scale: AWS demand per request from many containers, and the cluster's ceiling"
CONTAINER_MODULE = "bench.scale_container"
# An item or key read at most once per container within this gap is served from a cache
# (per container, not per request): cached reads come a TTL apart, per-request ones do not.
CACHE_GAP_S = 0.5
CACHE_EVIDENCE = 5.0
TARGET = 10_000.0
STRETCH = 100_000.0


@dataclass(frozen=True)
class Load:
    name: str
    mix: dict[str, float]  # request kind (bench.scale_container.KINDS) -> share


def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class Config:
    containers: int = int(_env_number("SCALE_CONTAINERS", 8))
    tokens: int = int(_env_number("SCALE_TOKENS", 20))
    secrets: int = int(_env_number("SCALE_SECRETS", 50))
    seconds: float = _env_number("SCALE_SECONDS", 20)
    streams: int = int(_env_number("SCALE_AUDIT_STREAMS", 1))
    audit_options: dict[str, Any] = field(
        default_factory=lambda: json.loads(os.environ.get("SCALE_AUDIT_OPTIONS", "{}"))
    )
    loads: tuple[Load, ...] = field(default_factory=lambda: _loads())


def _loads() -> tuple[Load, ...]:
    writes = _env_number("SCALE_WRITE_SHARE", 0.05)
    lookups = _env_number("SCALE_LOOKUP_SHARE", 0.05)
    return (
        Load("KV v2 reads", {"read": 1.0}),
        Load("mixed", {"read": 1.0 - writes - lookups, "lookup": lookups, "write": writes}),
    )


# --- running the load ------------------------------------------------------------------


def run(argv: list[str], config: Config | None = None) -> str:
    config = config or Config()
    header = run_header(TITLE, argv)
    with MotoServer() as moto:
        env = aws_environ(moto.url)
        with worker(env) as setup:
            setup.call("setup")  # what `server -dev` creates, then init + unseal
        _create_extra_streams(moto.url, config.streams)
        with _container(env) as seeder:
            tokens = seeder.call(
                "scale_seed", secrets=config.secrets, tokens=config.tokens,
                audit=config.audit_options,
            )["tokens"]  # fmt: skip
        measured = _drive(moto.url, tokens, config)
    return render(header, config, measured)


@contextlib.contextmanager
def _container(env: dict[str, str]) -> Iterator[Worker]:
    started = Worker(env, timeout=300, module=CONTAINER_MODULE)
    try:
        yield started
    finally:
        started.close()


def _create_extra_streams(endpoint_url: str, streams: int) -> None:
    """Streams <stream>-2 ... <stream>-n beside the dev stream, same destination."""
    if streams <= 1:
        return
    import boto3

    from chalicelib.cli.devenv import DevResources, _create_audit_stream

    resources = DevResources(TABLE, KMS_ALIAS, AUDIT_BUCKET, AUDIT_STREAM, REGION)
    iam = boto3.client("iam", endpoint_url=endpoint_url, region_name=REGION)
    role = iam.get_role(RoleName=f"{AUDIT_STREAM}-firehose")["Role"]["Arn"]
    firehose = boto3.client("firehose", endpoint_url=endpoint_url, region_name=REGION)
    for index in range(2, streams + 1):
        named = replace(resources, audit_stream=f"{AUDIT_STREAM}-{index}")
        _create_audit_stream(firehose, named, role)


def _drive(moto_url: str, tokens: list[str], config: Config) -> dict[str, dict[str, Any]]:
    """Warm every container, then run each load on all of them at once; the proxy's calls
    inside each container's run window are that load's."""
    measured = {}
    with RecordingProxy(moto_url, config.containers) as proxy, contextlib.ExitStack() as stack:
        containers = [stack.enter_context(_container(aws_environ(url))) for url in proxy.urls]
        with ThreadPoolExecutor(len(containers)) as pool:
            list(pool.map(lambda c: c.call("scale_warm", tokens=tokens, secrets=config.secrets),
                          containers))  # fmt: skip
            for number, load in enumerate(config.loads):
                arguments = {"tokens": tokens, "secrets": config.secrets, "mix": load.mix,
                             "seconds": config.seconds}  # fmt: skip
                runs = list(pool.map(
                    lambda c, seed, args=arguments: c.call("scale_run", rng_seed=seed, **args),
                    containers, range(1000 * number, 1000 * number + len(containers)),
                ))  # fmt: skip
                measured[load.name] = analyse(runs, parsed(proxy.calls))
                proxy.calls.clear()
    return measured


# --- from calls to demand ----------------------------------------------------------------


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
        short, expected = 0, 0.0
        for container, times in self.times.items():
            ordered = sorted(times)
            short += sum(b - a < CACHE_GAP_S for a, b in itertools.pairwise(ordered))
            rate = len(ordered) / seconds[container]
            expected += (len(ordered) - 1) * -math.expm1(-rate * CACHE_GAP_S)
        return short == 0 and expected >= CACHE_EVIDENCE


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
        "read_units": sum(t.units for t in tallies["item_read"].values()) / requests
        + _query_units(tallies) / requests,
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


def _query_units(tallies: dict[str, dict[str, _Tally]]) -> float:
    """Query units: on partition keys only (the item tallies already hold item reads)."""
    pk_units = sum(t.units for t in tallies["pk_read"].values())
    return pk_units - sum(t.units for t in tallies["item_read"].values())


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


HOT_TOP = {"item_read": 1, "pk_read": 3, "item_write": 1, "pk_write": 3}
HOT_QUOTAS = {
    "item_read": "partition_read",
    "pk_read": "partition_read",
    "item_write": "partition_write",
    "pk_write": "partition_write",
}


def demand(measured: dict[str, Any]) -> capacity.Demand:
    spots = []
    for name, quota in HOT_QUOTAS.items():
        for hot in measured["hot"][name]:
            scope = "item" if name.startswith("item") else "partition-key value"
            spots.append(capacity.HotSpot(
                f"{scope} `{_short(hot['key'])}`", quota, hot["units_per_request"],
                hot["units_per_container_second"], hot["cached"],
            ))  # fmt: skip
    streams = tuple(
        capacity.Stream(name, s["calls"], s["records"], s["bytes"])
        for name, s in measured["streams"].items()
    )
    return capacity.Demand(measured["duration_s"], measured["read_units"],
                           measured["write_units"], tuple(spots), streams)  # fmt: skip


def _short(key: str, width: int = 56) -> str:
    """Long keys lose their middle (a mount's UUID), never their ends."""
    if len(key) <= width:
        return key
    keep = (width - 1) // 2
    return key[:keep] + "…" + key[-keep:]


# --- report ------------------------------------------------------------------------------


def render(header: str, config: Config, measured: dict[str, dict[str, Any]]) -> str:
    loads = [load.name for load in config.loads]
    mixes = "; ".join(
        f"{load.name}: " + ", ".join(f"{kind} {share:.0%}" for kind, share in load.mix.items())
        for load in config.loads
    )
    parts = [
        header,
        f"{config.containers} simulated containers (each its own Python process, app.py's "
        f"handler on API Gateway proxy events) on ONE moto table, an s3 audit device on "
        f"{config.streams} stream(s), {config.tokens} service tokens, {config.secrets} "
        f"secrets in one KV v2 folder; each load runs {config.seconds:g} s on every container "
        f"after a warm-up (each token once). Loads — {mixes}. Every AWS call is recorded by a "
        "proxy between the containers and moto (service, operation, the table keys "
        "(`pk`, `sk`) each DynamoDB call reads or writes with its units from the item sizes, "
        "each Firehose call's stream, records and bytes), so the counts do not depend on the "
        "client or the key layout.",
        "",
        "### Measured per request",
        "",
        _table(["measure", *loads], _measured_rows(measured, loads)),
        f"Cached: never read twice within {CACHE_GAP_S:g} s by one container although "
        f"random per-request reads as frequent would have been, at least {CACHE_EVIDENCE:g} "
        "times (modelled per container-second, not per request). Units: strongly "
        "consistent reads 1 per started 4 KB of item, writes 1 per KB (x2 in a "
        "transaction). Duration (modelled as in the cost section): handler CPU x "
        f"{ONE_VCPU_MB}/{MEMORY_MB} + "
        + ", ".join(f"{svc} {ms:g} ms" for svc, ms in CALL_LATENCY_MS.items())
        + " per call. Requests/s here are moto's on a shared 2-core machine, not AWS's.",
        "",
    ]
    for name in loads:
        parts += _model_section(name, demand(measured[name]))
    parts += [
        "### Quotas used (AWS defaults; Firehose: us-east-1, us-west-2, eu-west-1)",
        "",
        _table(
            ["quota", "default", "unit", "raised by", "source"],
            [
                [q.what, f"{q.value:,.0f}", q.unit, q.raise_, q.source]
                for q in capacity.QUOTAS.values()
            ],
        ),
        "Elsewhere Firehose allows 1,000 calls/s, 100,000 records/s and 1 MiB/s per stream, "
        "and API Gateway 2,500 requests/s in the newest Regions. The PutRecord API reference "
        "still prints 5,000 records/s per stream; at up to 2 records per request that "
        "would cap a stream at 2,500 requests/s, above its bytes limit at these record sizes. "
        "A partition-key value's reads are shown as one partition's: DynamoDB can split a hot "
        "item collection by sort key, but only gradually (not for a burst).",
    ]
    return "\n".join(parts) + "\n"


def _measured_rows(measured: dict[str, dict[str, Any]], loads: list[str]) -> list[list[str]]:
    def row(label: str, cell: Any) -> list[str]:
        return [label, *(cell(measured[name]) for name in loads)]

    operations = sorted({op for name in loads for op in measured[name]["calls"]})
    streams = sorted({s for name in loads for s in measured[name]["streams"]})
    rows = [
        row("requests (containers)", lambda m: f"{m['requests']:,} ({m['containers']})"),
        row("requests/s on this machine", lambda m: f"{m['rate']:,.0f}"),
        *(row(f"`{op}` calls", lambda m, op=op: f"{m['calls'].get(op, 0):.3f}")
          for op in operations),
        row("DynamoDB read units (RRU)", lambda m: f"{m['read_units']:.2f}"),
        row("DynamoDB write units (WRU)", lambda m: f"{m['write_units']:.2f}"),
        row("distinct items read / partition-key values read",
            lambda m: f"{m['distinct']['item_read']} / {m['distinct']['pk_read']}"),
        *(row(f"most-{label}", lambda m, n=name: _hot_cell(m["hot"][n]))
          for name, label in HOT_LABELS.items()),
        *(row(f"Firehose `{s}`: calls / records / bytes",
              lambda m, s=s: _stream_cell(m["streams"].get(s))) for s in streams),
        row("handler CPU µs (botocore included)", lambda m: f"{m['cpu_s'] * 1e6:,.0f}"),
        row("modelled Lambda duration ms", lambda m: f"{m['duration_s'] * 1e3:.1f}"),
    ]  # fmt: skip
    return rows


HOT_LABELS = {
    "item_read": "read item",
    "pk_read": "read partition-key values",
    "item_write": "written item",
    "pk_write": "written partition-key values",
}


def _hot_cell(hottest: list[dict[str, Any]]) -> str:
    if not hottest:
        return "none"
    return "<br>".join(
        f"`{_short(hot['key'], 40)}`{' (cached)' if hot['cached'] else ''}: "
        f"{hot['count_per_request']:.3f} hits and {hot['units_per_request']:.3f} units per "
        f"request, {hot['units_per_container_second']:.2f} units per container-s"
        for hot in hottest
    )


def _stream_cell(stream: dict[str, float] | None) -> str:
    if not stream:
        return "-"
    return f"{stream['calls']:.2f} / {stream['records']:.2f} / {stream['bytes']:,.0f}"


def _ceiling(value: float) -> str:
    return "none" if value == capacity.INF else f"{value:,.0f}"


def _model_section(name: str, load: capacity.Demand) -> list[str]:
    found = capacity.limits(load)
    bound = capacity.binding(found)
    quotas = capacity.QUOTAS
    rows = [
        [
            ("**" if limit is bound else "") + quotas[limit.key].what
            + ("**" if limit is bound else ""),
            limit.subject, f"{quotas[limit.key].value:,.0f}", limit.demand,
            _ceiling(limit.ceiling),
        ]
        for limit in found
    ]  # fmt: skip
    needed = capacity.streams_needed(load, TARGET)
    spread = capacity.binding(capacity.limits(capacity.spread(load, needed)))
    verdict = "meets" if spread.key == "api" and spread.ceiling >= TARGET else "does not meet"
    lines = [
        f"### Capacity model: {name} (default quotas)",
        "",
        _table(["limit", "on", "quota", "demand per request", "ceiling requests/s"], rows),
        f"**Binding limit: {quotas[bound.key].what} ({bound.subject}) at "
        f"{_ceiling(bound.ceiling)} requests/s** with the stream(s) this run used.",
        "",
    ]
    if needed:
        lines += [
            f"Spread over {needed} streams (records evenly; default per-stream quotas) the "
            f"ceiling is {_ceiling(spread.ceiling)} requests/s, bound by "
            f"{quotas[spread.key].what} ({spread.subject}): this {verdict} the target of "
            f"{TARGET:,.0f} requests/s bound by API Gateway's quota.",
            "",
        ]
    steps = capacity.path_to(load, STRETCH)
    lines += [f"Path to {STRETCH:,.0f} requests/s:", "", *(f"- {step}" for step in steps), ""]
    return lines

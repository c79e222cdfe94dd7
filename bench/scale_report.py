"""The scale section of bench/RESULTS.md: the measured demand per request, then per load
the capacity model's limits, the binding one, and the path to higher targets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench import capacity
from bench.core import _table
from bench.cost import CALL_LATENCY_MS, MEMORY_MB, ONE_VCPU_MB
from bench.scale_analysis import CACHE_EVIDENCE, CACHE_GAP_S, demand, short

if TYPE_CHECKING:
    from bench.scale import Config

TARGET = 10_000.0  # the issue's: audited KV reads with default quotas, API Gateway binding
STRETCH = 100_000.0


def render(header: str, config: Config, measured: dict[str, dict[str, Any]]) -> str:
    loads = [load.name for load in config.loads]
    mixes = "; ".join(
        f"{load.name}: " + ", ".join(f"{kind} {share:.0%}" for kind, share in load.mix.items())
        for load in config.loads
    )
    parts = [
        header,
        f"{config.containers} simulated containers (each its own Python process, app.py's "
        f"handler on API Gateway proxy events) on ONE moto table, an s3 audit device with "
        f"{config.streams} delivery streams available (`LAMBDAVAULT_AUDIT_STREAMS`; the table "
        f"shows those it used), {config.tokens} service tokens, {config.secrets} "
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
        + " per call (the CPU is taken with all containers sharing this machine's 2 cores, "
        "so above the cost section's). Requests/s here are moto's on this machine, not AWS's.",
        "",
    ]
    for name in loads:
        load = demand(measured[name])
        parts += _model_section(name, load, _spread_over(config, load))
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
        "and API Gateway 2,500 requests/s in the newest Regions. "
        + _old_records_note(demand(measured[loads[0]]))
        + " A partition-key value's reads are shown as one partition's: DynamoDB can split a hot "
        "item collection by sort key, but only gradually (not for a burst).",
    ]
    return "\n".join(parts) + "\n"


OLD_RECORDS_QUOTA = 5_000  # records/s per stream, as the PutRecord API reference prints it


def _old_records_note(load: capacity.Demand) -> str:
    """Whether the records quota the API reference still prints would bind before bytes."""
    records = sum(stream.records for stream in load.streams)
    size = sum(stream.bytes for stream in load.streams)
    if not records:
        return ""
    by_records = OLD_RECORDS_QUOTA / records
    by_bytes = capacity.QUOTAS["firehose_bytes"].value / size
    first = "bytes" if by_bytes <= by_records else "records"
    return (
        f"The PutRecord API reference still prints {OLD_RECORDS_QUOTA:,} records/s per stream: "
        f"at {records:.2f} records and {size:,.0f} bytes per request that would allow "
        f"{by_records:,.0f} requests/s per stream against {by_bytes:,.0f} by bytes, so "
        f"{first} bind first."
    )


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
        f"`{short(hot['key'], 40)}`{' (cached)' if hot['cached'] else ''}: "
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


def _spread_over(config: Config, load: capacity.Demand) -> int:
    """How many streams a fleet spreads this load's records over: every configured one when
    the device used more than one (each container writes to one, chosen by its chain id, so
    many containers spread evenly; this run's few did as the table above shows), else one."""
    return config.streams if len(load.streams) > 1 else len(load.streams)


def _model_section(name: str, load: capacity.Demand, streams: int) -> list[str]:
    found = capacity.limits(capacity.spread(load, streams))
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
    verdict = "meets" if bound.key == "api" and bound.ceiling >= TARGET else "does not meet"
    lines = [
        f"### Capacity model: {name} (default quotas)",
        "",
        f"Audit records spread evenly over {streams} stream(s).",
        "",
        _table(["limit", "on", "quota", "demand per request", "ceiling requests/s"], rows),
        f"**Binding limit: {quotas[bound.key].what} ({bound.subject}) at "
        f"{_ceiling(bound.ceiling)} requests/s**: this {verdict} the target of "
        f"{TARGET:,.0f} requests/s bound by API Gateway's quota.",
        "",
    ]
    needed = capacity.streams_needed(load, TARGET)
    if needed:
        wider = capacity.binding(capacity.limits(capacity.spread(load, max(needed, streams))))
        lines += [
            f"The audit records of {TARGET:,.0f} requests/s need {needed} streams at the "
            f"default per-stream quotas ({streams} modelled)"
            + (
                f"; over {needed}, the ceiling is {_ceiling(wider.ceiling)} requests/s, bound "
                f"by {quotas[wider.key].what} ({wider.subject})."
                if needed > streams
                else "."
            ),
            "",
        ]
    steps = capacity.path_to(load, STRETCH)
    lines += [f"Path to {STRETCH:,.0f} requests/s:", "", *(f"- {step}" for step in steps), ""]
    return lines

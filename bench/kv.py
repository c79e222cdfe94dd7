"""KV v2 benchmarks: DynamoDB round trips per read and write, throughput and latency through
the dev server vs `bao server -dev`, and our CPU per read vs OpenBao's.

Processes (all on 127.0.0.1, all stopped by their own handles at the end):
  moto server       its own process, so its CPU is never counted as ours
  bench.worker      Lambdavault: `pipeline.handle` in process (calls, core CPU) and the dev
                    HTTP adapter on a thread (the load)
  bao server -dev   the real OpenBao, in-memory storage, KV v2 at secret/ as ours

The load tool is the same for both servers: one Python keep-alive connection sending
requests back to back, bounded in count per round and in rounds by the time budget.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    BenchError,
    Deadline,
    KeepAliveClient,
    Worker,
    median,
    noise_note,
    proc_cpu_seconds,
    ratio,
    served_vault,
    us,
)
from bench.core import CpuResults, _table, live_call_wall
from bench.openbao import OpenBaoDev
from bench.results import run_header

SECTION = "kv"
TITLE = "KV v2: round trips, throughput and latency, CPU per read"

READ_PATH = "secret/data/bench/read"
WRITE_PATH = "secret/data/bench/write"
NEW_PATH = "secret/data/bench/new"
SEEDED_VERSIONS = 11  # past the 10 kept: every further write archives one and prunes one
# A typical small secret: a database credential (~180 bytes of JSON).
SECRET = {
    "username": "app", "password": "p" * 32, "host": "db.internal.example", "port": "5432",
    "note": "n" * 64,
}  # fmt: skip
BODY = json.dumps({"data": SECRET})
OPERATIONS = {"read": ("GET", READ_PATH, None), "write": ("POST", WRITE_PATH, BODY)}
SERVERS = ("ours", "openbao")


@dataclass(frozen=True)
class Config:
    rounds: int = 5  # each round: reads and writes, ours then OpenBao's, back to back
    ours_per_round: int = 150
    bao_per_round: int = 1500  # OpenBao is fast: enough requests for /proc's 10 ms ticks
    cpu_per_round: int = 200  # reads through `pipeline.handle`, in process
    warmup: int = 30
    budget_seconds: float = 180.0  # load and CPU rounds; setup adds ~20 s


def run(argv: list[str], config: Config = Config()) -> str:
    """Run every KV benchmark; returns the Markdown section."""
    header = run_header(TITLE, argv)
    deadline = Deadline(config.budget_seconds)
    with served_vault() as (ours, url, _), OpenBaoDev() as bao:
        _seed(url, bao.url)
        calls = count_calls(ours)
        load = measure(ours, url, bao, config, deadline)
        bao_version = bao.version()
    return render(header, config, calls, load, bao_version, deadline)


def _seed(*urls: str) -> None:
    """The read secret, and the write secret past its 10 kept versions (steady state)."""
    for url in urls:
        client = KeepAliveClient(url)
        try:
            for path in (READ_PATH, *[WRITE_PATH] * SEEDED_VERSIONS):
                status = client.request("POST", path, BODY)
                if status != 200:
                    raise BenchError(f"seeding {path} at {url} answered {status}")
        finally:
            client.close()


# --- 1. DynamoDB round trips ------------------------------------------------------------------

CALL_REQUESTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("read (latest version)", "GET", READ_PATH, None),
    ("write: a new secret", "POST", NEW_PATH, BODY),
    ("write: its version 2 (the first archived version: new folder markers)", "POST",
     NEW_PATH, BODY),
    ("write: steady state (10 versions kept: archives one, prunes one)", "POST", WRITE_PATH,
     BODY),
    ("write with cas: steady state", "POST", WRITE_PATH,
     json.dumps({"data": SECRET, "options": {"cas": SEEDED_VERSIONS + 1}})),
)  # fmt: skip


def count_calls(ours: Worker) -> list[dict[str, Any]]:
    """Each request once through `pipeline.handle` in the warm worker, in order."""
    rows = []
    for label, method, path, body in CALL_REQUESTS:
        row = ours.call("calls", method=method, path=path, body=body)
        rows.append({**row, "label": label})
    return rows


# --- 2. load and CPU ---------------------------------------------------------------------------


@dataclass
class LoadResults:
    # (operation, server) -> every latency (seconds) and the loops' summed wall time
    latencies: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    wall: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    failures: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    # AWS calls ("service:Operation") the worker made during our load rounds (all threads)
    calls: dict[tuple[str, str], Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    # per round, per request: path = operation; kinds "adapter", "pipeline", "openbao"
    cpu: CpuResults = field(default_factory=CpuResults)

    def throughput(self, op: str, server: str) -> float:
        wall = self.wall[(op, server)]
        return len(self.latencies[(op, server)]) / wall if wall else 0.0


Loop = tuple[list[float], int, float]  # latencies, failures, wall time


def _load_loop(client: KeepAliveClient, op: str, count: int, deadline: Deadline) -> Loop:
    """`count` requests back to back (fewer once the budget is spent): latencies, failures,
    wall time."""
    method, path, body = OPERATIONS[op]
    latencies, failures = [], 0
    started = time.perf_counter()
    for _ in range(count):
        if deadline.expired():
            break
        sent = time.perf_counter()
        status = client.request(method, path, body)
        latencies.append(time.perf_counter() - sent)
        failures += not 200 <= status < 300
    return latencies, failures, time.perf_counter() - started


def _record(results: LoadResults, op: str, server: str, loop: Loop) -> None:
    latencies, failures, wall = loop
    results.latencies[(op, server)] += latencies
    results.failures[(op, server)] += failures
    results.wall[(op, server)] += wall


def _ours_round(
    results: LoadResults, ours: Worker, client: KeepAliveClient, op: str, count: int,
    deadline: Deadline,
) -> None:  # fmt: skip
    before = ours.call("stats")
    loop = _load_loop(client, op, count, deadline)
    after = ours.call("stats")
    _record(results, op, "ours", loop)
    results.calls[(op, "ours")].update(Counter(after["calls"]) - Counter(before["calls"]))
    total = after["process_cpu"] - before["process_cpu"]
    boto = after["botocore_cpu"] - before["botocore_cpu"]
    results.cpu.add(op, "adapter", max(1, len(loop[0])), total, boto, loop[2])


def _bao_round(
    results: LoadResults, bao: OpenBaoDev, client: KeepAliveClient, op: str, count: int,
    deadline: Deadline,
) -> None:  # fmt: skip
    before = proc_cpu_seconds(bao.pid)
    loop = _load_loop(client, op, count, deadline)
    _record(results, op, "openbao", loop)
    total = proc_cpu_seconds(bao.pid) - before
    results.cpu.add(op, "openbao", max(1, len(loop[0])), total, 0.0, loop[2])


def _core_round(results: LoadResults, ours: Worker, count: int) -> float:
    """Reads through `pipeline.handle` in the worker: the core's CPU, the SDK's apart; then
    the same reads answered over HTTP by a replayer, with AWS replayed, and replayed after
    idle waits as long as live calls."""
    wait = 0.0
    for kind, replay in (("pipeline", False), ("http", False), ("replayed", True),
                         ("waited", True)):  # fmt: skip
        got = ours.call(
            "round", method="GET", path=READ_PATH, count=count, entry="pipeline",
            replay=replay, wait=wait if kind == "waited" else 0.0, over_http=kind == "http",
        )
        if kind == "pipeline":
            wait = live_call_wall(got)
        results.failures[("read", kind)] += got["failures"]
        results.cpu.add("read", kind, count, got["thread_cpu"], got["botocore_cpu"], got["wall"])
    return wait


def _bao_paced_round(
    results: LoadResults, bao: OpenBaoDev, client: KeepAliveClient, count: int, gap: float
) -> None:
    """OpenBao's reads one at a time, each after an idle gap as long as a live call of ours."""
    method, path, _ = OPERATIONS["read"]
    before = proc_cpu_seconds(bao.pid)
    results.failures[("read", "openbao_paced")] += client.repeat(method, path, count, gap)
    results.cpu.add("read", "openbao_paced", count, proc_cpu_seconds(bao.pid) - before, 0.0, 0.0)


def measure(
    ours: Worker, url: str, bao: OpenBaoDev, config: Config, deadline: Deadline
) -> LoadResults:
    results = LoadResults()
    ours_client, bao_client = KeepAliveClient(url), KeepAliveClient(bao.url)
    try:
        for op in OPERATIONS:  # first-use imports, caches, Go's pools
            _load_loop(ours_client, op, config.warmup, deadline)
            _load_loop(bao_client, op, config.warmup * 10, deadline)
        ours.call("round", method="GET", path=READ_PATH, count=config.warmup, entry="pipeline")
        for _ in range(config.rounds):
            if deadline.expired():
                break
            for op in OPERATIONS:
                _ours_round(results, ours, ours_client, op, config.ours_per_round, deadline)
                _bao_round(results, bao, bao_client, op, config.bao_per_round, deadline)
            wait = _core_round(results, ours, config.cpu_per_round)
            _bao_paced_round(results, bao, bao_client, config.cpu_per_round, wait)
            results.cpu.rounds += 1
    finally:
        ours_client.close()
        bao_client.close()
    return results


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile (1..99) by the exclusive method; NaN without data."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[q - 1]


# --- rendering ----------------------------------------------------------------------------------


def render(
    header: str,
    config: Config,
    calls: list[dict[str, Any]],
    load: LoadResults,
    bao_version: str,
    deadline: Deadline,
) -> str:
    return "\n".join(
        [
            header,
            _render_calls(calls),
            _render_load(load, config, bao_version, deadline),
            _render_cpu(load, config, bao_version),
        ]
    )


def _dynamodb(calls: dict[str, int]) -> dict[str, int]:
    return {k.partition(":")[2]: v for k, v in calls.items() if k.startswith("dynamodb:")}


def _fmt(calls: dict[str, int]) -> str:
    return ", ".join(f"{name} x{count}" for name, count in sorted(calls.items()))


def _render_calls(rows: list[dict[str, Any]]) -> str:
    table = [
        [row["label"], str(row["status"]), str(sum(_dynamodb(row["calls"]).values())),
         _fmt(_dynamodb(row["calls"]))]
        for row in rows
    ]  # fmt: skip
    read = _dynamodb(rows[0]["calls"])
    agree = all(row["pynamodb_agrees"] for row in rows)
    return "\n".join(
        [
            "### 1. DynamoDB round trips per KV v2 request",
            "",
            "Counted at the lean AWS path's `LeanClient.call` in the warm worker, one request "
            "each, through `pipeline.handle` with the root token (the storage layer's count at "
            f"`DynamoDBPhysical._call` {'agrees' if agree else 'DISAGREES'}). Targets: 1 per "
            "read; a steady write: the request's read and two single-item writes.",
            "",
            _table(["request", "status", "DynamoDB calls", "which"], table),
            _explain_read(read),
            "",
            "Writes: the request's BatchGetItem (token and the prefetched `meta/<path>`; the "
            "cluster state when this container's copy is over a second old), then two single- "
            "item writes: UpdateItem of the slot that takes the version being replaced, and "
            "UpdateItem of the record, conditional on the version read (check-and-set). "
            "`config` is cached per container by its cluster-state generation. A secret's "
            "first writes create its slots (a TransactWriteItems with the folder-index item, "
            "and the folder marker's `ADD gen 1`); once a secret has its slots they are only "
            "overwritten.",
            "",
        ]
    )


def _explain_read(read: dict[str, int]) -> str:
    total = sum(read.values())
    if total <= 1:
        return "A read is **1 round trip**: the pipeline's BatchGetItem prefetched the secret."
    return (
        f"A read is **{total} round trips**, target 1: the pipeline's BatchGetItem (cluster "
        "state + the token's entry) and the engine's GetItem of `meta/<path>`. The path "
        "declares `prefetch` (`KvBackend` defers to `_prefetch_either`: `meta/<path>` and "
        "`v1/<path>`, before the mount's version is known), but `pipeline._handle` passes only "
        "the token's keys to `Runtime.begin` and the request's `StorageView` has no way to "
        "answer from entries already read. Adding the matched path's prefetch keys to that "
        "BatchGetItem and handing the entries to the view (the mount is known by then) makes "
        "a warm read 1 round trip. (The upgrade gate costs a warm container nothing: a "
        "container checks a v2 mount's upgrade record once.)"
    )


LOAD_HEADER = ["op", "server", "requests", "req/s", "p50 ms", "p99 ms", "server CPU µs/req"]
CPU_HEADER = [
    "server", "CPU µs/req (whole handler)", "whole / OpenBao", "in the AWS SDK µs/req",
    "our CPU µs/req", "ours / OpenBao",
]  # fmt: skip


def _ratios(load: LoadResults, op: str) -> str:
    ours, bao = load.latencies[(op, "ours")], load.latencies[(op, "openbao")]
    throughput = ratio(load.throughput(op, "ours"), load.throughput(op, "openbao"))
    p50, p99 = (ratio(percentile(ours, q), percentile(bao, q)) for q in (50, 99))
    return f"{op} throughput **{throughput}**, p50 latency {p50}, p99 latency {p99}"


def _render_load(load: LoadResults, config: Config, bao_version: str, deadline: Deadline) -> str:
    rows = []
    for op in OPERATIONS:
        for server in SERVERS:
            key = (op, server)
            kind = "adapter" if server == "ours" else "openbao"
            latencies = load.latencies[key]
            label = "ours: dev server (HTTP adapter + Chalice + pipeline, moto)" if (
                server == "ours") else f"OpenBao {bao_version} `server -dev`"
            if load.failures[key]:
                label += f" — **{load.failures[key]} non-2xx**"
            rows.append([
                op, label, f"{len(latencies):,}", f"{load.throughput(op, server):,.0f}",
                f"{percentile(latencies, 50) * 1e3:.2f}", f"{percentile(latencies, 99) * 1e3:.2f}",
                us(median(load.cpu.ours[(op, kind)])),
            ])  # fmt: skip
    summary = "; ".join(_ratios(load, op) for op in OPERATIONS)
    early = " (time budget reached: fewer rounds than configured)" if deadline.hit else ""
    return "\n".join(
        [
            f"### 2. Throughput and latency ({load.cpu.rounds} rounds{early})",
            "",
            f"Each round: {config.ours_per_round} reads then {config.ours_per_round} writes to "
            f"our dev server, {config.bao_per_round} of each to OpenBao, one keep-alive "
            "connection each, requests back to back (one client, so req/s = 1 / mean "
            "latency). Reads get the latest version of a ~180-byte secret; writes add a new "
            "version to another (10 versions kept, so every write also archives one and prunes "
            "one). Server "
            "CPU: ours is the worker process minus the CPU inside botocore; OpenBao's is its "
            "whole process.",
            "",
            _table(LOAD_HEADER, rows),
            f"Ours / OpenBao: {summary}. Our latency is mostly the emulator: each DynamoDB "
            "call is an HTTP round trip to moto, which spends milliseconds of CPU on it, plus "
            "botocore's own ~2-3 ms of CPU per call in our process (the column excludes it). "
            "In Lambda the calls go to DynamoDB instead; botocore's CPU stays.",
            "",
        ]
    )


def _render_cpu(load: LoadResults, config: Config, bao_version: str) -> str:
    cpu = load.cpu
    paced = median(cpu.ratios("read", "pipeline", "openbao_paced", whole=True))
    rows = []
    for kind, label in (
        ("pipeline", "ours: `pipeline.handle` (the core), live moto (kept-alive front)"),
        ("http", "ours: `pipeline.handle`, AWS answered over HTTP by a local replayer"),
        ("replayed", "ours: `pipeline.handle`, AWS replayed"),
        ("waited", "ours: `pipeline.handle`, AWS replayed after idle waits as long as live calls"),
        ("adapter", "ours: dev HTTP adapter + Chalice + core, live moto"),
        ("openbao", f"OpenBao {bao_version} `server -dev` (whole process)"),
        ("openbao_paced", "OpenBao, each read after an idle gap as long as a live call of ours"),
    ):
        key = ("read", kind)
        ratios = cpu.ratios("read", kind) if kind != "openbao" else [1.0]
        whole = cpu.ratios("read", kind, whole=True) if kind != "openbao" else [1.0]
        rows.append([
            label, us(median(cpu.total[key])), f"**{median(whole):.2f}x**",
            us(median(cpu.botocore[key])) if not kind.startswith("openbao") else "—",
            us(median(cpu.ours[key])), f"{median(ratios):.2f}x",
        ])  # fmt: skip
    return "\n".join(
        [
            f"### 3. CPU per KV v2 read (median of {cpu.rounds} rounds)",
            "",
            f"Each round also sends {config.cpu_per_round} reads through `pipeline.handle` in "
            "the worker (thread CPU of the calling thread). The whole handler's CPU includes "
            "the AWS SDK (the lean path's or botocore's calls: serialising, signing, the HTTP "
            "exchange, parsing; moto's own CPU is in its process and never counted); our CPU "
            "leaves the SDK out. Ratios are per round against OpenBao's CPU per read in the "
            "same round; target ≤ 1.00x for the whole handler. The row over HTTP sends each "
            "AWS call, SDK and HTTP exchange included, to a local server answering with the "
            "recorded bytes in microseconds (no moto on the two cores). The replayed rows run "
            "the same reads with every AWS call answered from a recording inside the "
            "process, at once or after an idle wait as long as the round's live calls took, "
            "and OpenBao's last row sends it the same reads after idle gaps as long (see the "
            "core section for how to read them). Live `pipeline.handle`, whole handler, "
            f"against OpenBao paced so: **{paced:.2f}x**.",
            "",
            _table(CPU_HEADER, rows),
            noise_note(cpu.ratios("read", "pipeline")),
            "",
        ]
    )

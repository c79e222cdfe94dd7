"""Cost model (issue 8): dollars per million KV v2 reads, KV v2 writes and transit encrypts
on AWS on-demand prices (us-east-1), next to AWS Secrets Manager (and KMS) for the same
traffic.

What is measured here, per operation, in a child process driving app.py's Lambda handler
with the API Gateway proxy event it gets deployed (moto in its own process):
  - every AWS call (botocore, counted in-process) and the request units they consume,
    estimated from the requests themselves (item and batch sizes);
  - the handler's CPU time, ours and botocore's, per request (warm container).
What is modelled: Lambda's billed duration = that CPU time stretched by the CPU share of
the configured memory (1,769 MB is one vCPU) plus an assumed in-region latency per AWS
call (the network wait moto on loopback cannot show), rounded up to the millisecond.
Transit is measured when the engine is present in this checkout.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    AUDIT_BUCKET,
    AUDIT_STREAM,
    KMS_ALIAS,
    LOOPBACK,
    PYTHON,
    REGION,
    ROOT,
    ROOT_TOKEN,
    TABLE,
    BenchError,
    KeptAliveMoto,
    aws_environ,
    median,
)
from bench.core import _table
from bench.replayhttp import answered_over_http
from bench.results import run_header

SECTION = "cost"
TITLE = "Cost model: dollars per million operations on AWS (us-east-1, on-demand)"



def _memory_mb(function: str = "api_handler", stage: str = "dev") -> int:
    """The request function's memory as .chalice/config.json sets it (the function's own
    setting, else the stage's, else the top level's)."""
    config = json.loads((Path(__file__).parents[1] / ".chalice" / "config.json").read_text())
    staged = config["stages"][stage]
    own = staged.get("lambda_functions", {}).get(function, {})
    memory = own.get("lambda_memory_size", staged.get("lambda_memory_size"))
    return int(memory or config["lambda_memory_size"])


MEMORY_MB = _memory_mb()
ONE_VCPU_MB = 1769  # Lambda allocates CPU in proportion to memory: one vCPU at 1,769 MB
# Assumed in-region round trips per call (p50, warm connection); moto on loopback cannot
# show AWS's network, so these are parameters of the model, not measurements.
CALL_LATENCY_MS = {"dynamodb": 4.0, "firehose": 8.0, "kms": 6.0}
FIREHOSE_RECORD_ROUNDING = 5 * 1024  # Firehose bills each record rounded up to 5 KB


@dataclass(frozen=True)
class Price:
    what: str
    dollars: float
    unit: str
    source: str
    as_of: str


# us-east-1 list prices, first pricing tier, no free tier.
PRICES = {
    "lambda_request": Price(
        "Lambda requests", 0.20, "per million requests",
        "https://aws.amazon.com/lambda/pricing/", "2025 (unchanged since 2020-12)",
    ),
    "lambda_gb_s": Price(
        "Lambda duration (x86)", 0.0000166667, "per GB-second",
        "https://aws.amazon.com/lambda/pricing/", "2025 (1 ms billing since 2020-12)",
    ),
    "http_api": Price(
        "API Gateway HTTP API", 1.00, "per million requests (first 300 M)",
        "https://aws.amazon.com/api-gateway/pricing/", "2025 (unchanged since 2020-03)",
    ),
    "rest_api": Price(
        "API Gateway REST API", 3.50, "per million requests (first 333 M)",
        "https://aws.amazon.com/api-gateway/pricing/", "2025",
    ),
    "rru": Price(
        "DynamoDB on-demand read request units", 0.125, "per million RRU",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/", "2024-11-01 (50% cut)",
    ),
    "wru": Price(
        "DynamoDB on-demand write request units", 0.625, "per million WRU",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/", "2024-11-01 (50% cut)",
    ),
    "kms_request": Price(
        "KMS requests", 3.00, "per million requests ($0.03 per 10,000)",
        "https://aws.amazon.com/kms/pricing/", "2025",
    ),
    "firehose_gb": Price(
        "Data Firehose Direct PUT ingestion", 0.029, "per GB (records rounded up to 5 KB)",
        "https://aws.amazon.com/firehose/pricing/", "2025",
    ),
    "secrets_manager_api": Price(
        "Secrets Manager API calls", 5.00, "per million calls ($0.05 per 10,000)",
        "https://aws.amazon.com/secrets-manager/pricing/", "2025 (unchanged since 2018)",
    ),
    "secrets_manager_secret": Price(
        "Secrets Manager secrets", 0.40, "per secret per month",
        "https://aws.amazon.com/secrets-manager/pricing/", "2025",
    ),
    "dynamodb_storage": Price(
        "DynamoDB Standard storage", 0.25, "per GB-month",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/", "2025",
    ),
    "kms_key": Price(
        "KMS customer managed key", 1.00, "per key per month",
        "https://aws.amazon.com/kms/pricing/", "2025",
    ),
}


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    alternative: str  # what AWS offers for the same thing, priced per million
    alternative_price: float


OPERATIONS = [
    Operation("KV v2 read", "GET", "secret/data/cost/db", None,
              "Secrets Manager GetSecretValue", PRICES["secrets_manager_api"].dollars),
    Operation("KV v2 write", "POST", "secret/data/cost/db",
              {"data": {"username": "app", "password": "x" * 32}},
              "Secrets Manager PutSecretValue", PRICES["secrets_manager_api"].dollars),
    Operation("transit encrypt", "POST", "transit/encrypt/cost",
              {"plaintext": base64.b64encode(b"a 32-byte card number or token..").decode()},
              "KMS Encrypt", PRICES["kms_request"].dollars),
]  # fmt: skip


@dataclass(frozen=True)
class Config:
    rounds: int = 5
    per_round: int = 60
    warmup: int = 10


# --- the measuring child process ------------------------------------------------------


class UnitMeter:
    """Request units, estimated from each DynamoDB request (as DynamoDB bills them):
    a consistent read is one RRU per item up to 4 KB, a write one WRU per KB, twice that
    inside a transaction; every other service's call is counted, with its payload size."""

    def __init__(self) -> None:
        self.rru = 0.0
        self.wru = 0.0
        self.calls: Counter[str] = Counter()
        self.firehose_bytes = 0

    def install(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        meter = self

        def _make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            meter.observe(client.meta.service_model.service_name, operation, params)
            return original(client, operation, params)

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        from chalicelib.core.leanaws import LeanClient

        lean_call = LeanClient.call  # the hot DynamoDB and Firehose calls never enter botocore's

        def call(lean: LeanClient, operation: str, params: dict[str, Any]) -> Any:
            meter.observe(lean.service_name, operation, params)
            return lean_call(lean, operation, params)

        LeanClient.call = call  # type: ignore[method-assign]

    def observe(self, service: str, operation: str, params: dict[str, Any]) -> None:
        self.calls[f"{service}:{operation}"] += 1
        if service == "firehose":
            records = [params["Record"]] if "Record" in params else params.get("Records", [])
            for record in records:
                self.firehose_bytes += _rounded(len(record["Data"]), FIREHOSE_RECORD_ROUNDING)
        if service != "dynamodb":
            return
        if operation == "BatchGetItem":
            self.rru += sum(len(t["Keys"]) for t in params["RequestItems"].values())
        elif operation in ("GetItem", "Query", "Scan"):
            self.rru += 1  # small items: one 4 KB unit, the minimum
        elif operation == "TransactWriteItems":
            self.wru += sum(
                2 * _write_units(next(iter(item.values()))) for item in params["TransactItems"]
            )
        elif operation == "BatchWriteItem":
            self.wru += sum(len(requests) for requests in params["RequestItems"].values())
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self.wru += _write_units(params)


def _rounded(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit)) * unit


def _write_units(params: dict[str, Any]) -> int:
    """One WRU per started KB of the item written: its key and the values set."""
    size = _attribute_bytes(params.get("Key", {})) + _attribute_bytes(
        params.get("ExpressionAttributeValues", {})
    )
    return max(1, math.ceil(size / 1024))


def _attribute_bytes(attributes: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (typed as in the request)."""
    return sum(len(name) + _value_bytes(value) for name, value in attributes.items())


def _value_bytes(value: dict[str, Any]) -> int:
    (kind, content), = value.items()
    if kind == "M":
        return 3 + _attribute_bytes(content)
    if kind == "L":
        return 3 + sum(_value_bytes(item) for item in content)
    if kind == "B":
        return len(content)
    return len(str(content).encode())


def measure(config: Config) -> dict[str, Any]:
    """Set up like `server -dev`, then time and count each operation through app.py's
    handler; once without and once with the s3 audit device."""
    from bench.meter import ApiCallMeter
    from chalicelib.cli.devenv import DevResources, create_resources
    from chalicelib.core.dev import bootstrap_dev

    resources = DevResources(TABLE, KMS_ALIAS, AUDIT_BUCKET, AUDIT_STREAM, REGION)
    create_resources(resources, os.environ["AWS_ENDPOINT_URL"])
    bootstrap_dev(ROOT_TOKEN)
    timing = ApiCallMeter().install()
    units = UnitMeter()
    units.install()
    operations = [op for op in OPERATIONS if _prepare(op)]
    results: dict[str, Any] = {"operations": [op.name for op in operations], "phases": {}}
    for phase in ("off", "s3"):
        if phase == "s3":
            _call("PUT", "sys/audit/s3", {"type": "s3"})
        results["phases"][phase] = {
            op.name: _measure_one(op, config, timing, units) for op in operations
        }
    return results


def _prepare(op: Operation) -> bool:
    """Mount and seed what ``op`` needs; False when this checkout lacks the engine."""
    if op.path.startswith("transit/"):
        from importlib.util import find_spec

        if find_spec("chalicelib.engines.transit") is None:
            return False
        _call("POST", "sys/mounts/transit", {"type": "transit"})
        _call("POST", "transit/keys/cost", {})
    elif op.method == "GET":
        _call("POST", op.path, {"data": {"username": "app", "password": "x" * 32}})
    return True


def _call(method: str, path: str, body: dict[str, Any] | None) -> int:
    status = _lambda_handler(method, path, body)()
    if not 200 <= status < 300:
        raise BenchError(f"{method} {path} answered {status}")
    return status


def _lambda_handler(method: str, path: str, body: dict[str, Any] | None) -> Callable[[], int]:
    """What Lambda runs per request: the Chalice app on API Gateway's proxy event."""
    import app
    from chalicelib.transports.devserver import HttpRequest, LocalLambdaContext, build_event

    headers = [("Host", "lambdavault"), ("X-Vault-Token", ROOT_TOKEN)]
    payload = json.dumps(body).encode() if body is not None else b""
    event = build_event(HttpRequest(method, f"/v1/{path}", headers, payload, LOOPBACK))
    context = LocalLambdaContext("cost", time.monotonic() + 3600)
    return lambda: int(app.app(event, context)["statusCode"])


def _measure_one(op: Operation, config: Config, timing: Any, units: UnitMeter) -> dict[str, Any]:
    handler = _lambda_handler(op.method, op.path, op.body)
    for _ in range(config.warmup):
        handler()
    cpu, boto, rru, wru, firehose = [], [], [], [], []
    calls: Counter[str] = Counter()
    for _ in range(config.rounds):
        before = (time.thread_time(), timing.cpu, units.rru, units.wru, units.firehose_bytes)
        calls_before = Counter(units.calls)
        for _ in range(config.per_round):
            if not 200 <= handler() < 300:
                raise BenchError(f"{op.name} failed during measurement")
        n = config.per_round
        cpu.append((time.thread_time() - before[0]) / n)
        boto.append((timing.cpu - before[1]) / n)
        rru.append((units.rru - before[2]) / n)
        wru.append((units.wru - before[3]) / n)
        firehose.append((units.firehose_bytes - before[4]) / n)
        calls += units.calls - calls_before
    total = config.rounds * config.per_round
    return {
        "cpu_s": median(cpu),
        "cpu_http_s": _cpu_over_http(handler, config),
        "botocore_cpu_s": median(boto),
        "rru": median(rru),
        "wru": median(wru),
        "firehose_bytes": median(firehose),
        "calls": {name: count / total for name, count in sorted(calls.items())},
    }


def _cpu_over_http(handler: Callable[[], int], config: Config) -> float:
    """The handler's CPU per operation with every lean AWS call answered over HTTP by a
    local replayer (bench/replayhttp): the SDK and HTTP exchange included, moto's work on
    the same cores not (median of rounds)."""
    per_round = []
    with answered_over_http(handler):
        for _ in range(config.rounds):
            started = time.thread_time()
            for _ in range(config.per_round):
                if not 200 <= handler() < 300:
                    raise BenchError("an operation failed over HTTP from the replayer")
            per_round.append((time.thread_time() - started) / config.per_round)
    return median(per_round)


# --- the model ------------------------------------------------------------------------


def billed_ms(cpu_s: float, calls: dict[str, float]) -> float:
    """Lambda's billed duration: CPU stretched by the memory's CPU share, plus the network."""
    share = min(1.0, MEMORY_MB / ONE_VCPU_MB)
    network = sum(n * CALL_LATENCY_MS.get(name.split(":")[0], 5.0) for name, n in calls.items())
    return float(math.ceil(cpu_s * 1000 / share + network))


def dollars_per_million(measured: dict[str, Any], cpu: str = "cpu_s") -> dict[str, float]:
    ms = billed_ms(measured[cpu], measured["calls"])
    kms_calls = sum(n for name, n in measured["calls"].items() if name.startswith("kms:"))
    return {
        "billed_ms": ms,
        "lambda": PRICES["lambda_request"].dollars
        + ms / 1000 * MEMORY_MB / 1024 * PRICES["lambda_gb_s"].dollars * 1e6,
        "dynamodb": measured["rru"] * PRICES["rru"].dollars
        + measured["wru"] * PRICES["wru"].dollars,
        "kms": kms_calls * PRICES["kms_request"].dollars,
        "firehose": measured["firehose_bytes"] * 1e6 / 2**30 * PRICES["firehose_gb"].dollars,
    }


# --- report ---------------------------------------------------------------------------


def run(argv: list[str], config: Config = Config()) -> str:
    header = run_header(TITLE, argv)
    with KeptAliveMoto() as moto:  # connections kept alive, as DynamoDB and Firehose keep them
        measured = _measure_in_child(aws_environ(moto.url), config)
    return render(header, config, measured)


def _measure_in_child(env: dict[str, str], config: Config) -> dict[str, Any]:
    args = [PYTHON, "-m", "bench.cost", "measure", json.dumps(config.__dict__)]
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise BenchError(f"cost measurement failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _money(value: float) -> str:
    return f"${value:,.2f}"


def render(header: str, config: Config, measured: dict[str, Any]) -> str:
    samples = f"{config.rounds} rounds of {config.per_round} after {config.warmup} warm-up"
    parts = [
        header,
        f"### Measured per operation ({samples}; medians of rounds)",
        "",
        "Through app.py's Lambda handler on an API Gateway proxy event, root token, moto in "
        "its own process behind a front that keeps connections alive (bench/awsproxy). CPU "
        "is the handler thread's, the AWS SDK's share included (it runs in Lambda too). The "
        "column over HTTP measures the same operations with every lean AWS call answered by "
        "a local server replaying the recorded bytes in microseconds (bench/replayhttp): "
        "the SDK and the HTTP exchange are in it, the milliseconds of moto's Python on the "
        "same two cores during each call are not (in Lambda the service runs elsewhere). "
        "Request units are estimated from each DynamoDB request as DynamoDB "
        "bills them (strongly consistent reads: 1 RRU per item up to 4 KB; writes: 1 WRU per "
        "KB, doubled in a transaction).",
        "",
        _measured_table(measured),
        "",
        f"### Dollars per million operations ({MEMORY_MB} MB, x86)",
        "",
        f"Billed duration = CPU x {ONE_VCPU_MB}/{MEMORY_MB} (Lambda's CPU share at this "
        "memory) + an assumed in-region round trip per AWS call ("
        + ", ".join(f"{svc} {ms:g} ms" for svc, ms in CALL_LATENCY_MS.items())
        + "), rounded up to 1 ms. Warm containers; a cold start adds one KMS Decrypt "
        "and ~0.7 s of init, amortised over the container's life. Fronts: direct "
        "Lambda-to-Lambda invoke (no API Gateway), HTTP API, REST API; one invoke total "
        "is also computed from the CPU over HTTP.",
        "",
        _cost_table(measured),
        "",
        "Fixed monthly costs beside these: the KMS key ($1.00) and the table's storage "
        "(DynamoDB, $0.25 per GB-month); Secrets Manager charges $0.40 per secret per month "
        "on top of its calls (1,000 secrets: $400/month). Through the REST API the gateway "
        "alone costs $3.50 per million, so it only pays where its extra features are needed. "
        "Consumers that cache (VaultProvider's `max_age`) pay for misses only. The CPU "
        "figures come from a shared, noisy machine: compare rows of the same run.",
        "",
        "### Prices used (us-east-1, on-demand list prices, first tier, no free tier)",
        "",
        _table(
            ["item", "price", "unit", "as of", "source"],
            [
                [p.what, f"${p.dollars:f}".rstrip("0").rstrip("."), p.unit, p.as_of, p.source]
                for p in PRICES.values()
            ],
        ),
    ]
    if len(measured["operations"]) < len(OPERATIONS):
        parts += ["", "Transit was not measured: the engine is not in this checkout."]
    return "\n".join(parts) + "\n"


def _measured_table(measured: dict[str, Any]) -> str:
    rows = []
    for phase, label in (("off", "no audit"), ("s3", "s3 audit device")):
        for name in measured["operations"]:
            m = measured["phases"][phase][name]
            calls = ", ".join(f"{c} x{n:.2f}" for c, n in m["calls"].items())
            rows.append([
                name, label, f"{m['cpu_s'] * 1e6:,.0f}", f"{m['botocore_cpu_s'] * 1e6:,.0f}",
                f"{m['cpu_http_s'] * 1e6:,.0f}", calls, f"{m['rru']:.2f}", f"{m['wru']:.2f}",
            ])  # fmt: skip
    return _table(
        ["operation", "audit", "CPU µs/op", "of which the AWS SDK", "CPU µs/op over HTTP",
         "AWS calls/op", "RRU", "WRU"],
        rows,
    )  # fmt: skip


def _cost_table(measured: dict[str, Any]) -> str:
    rows = []
    by_name = {op.name: op for op in OPERATIONS}
    for phase, label in (("off", "no audit"), ("s3", "s3 audit")):
        for name in measured["operations"]:
            cost = dollars_per_million(measured["phases"][phase][name])
            base = cost["lambda"] + cost["dynamodb"] + cost["kms"] + cost["firehose"]
            http = dollars_per_million(measured["phases"][phase][name], "cpu_http_s")
            base_http = http["lambda"] + http["dynamodb"] + http["kms"] + http["firehose"]
            op = by_name[name]
            rows.append([
                name, label, f"{cost['billed_ms']:.0f}", _money(cost["lambda"]),
                _money(cost["dynamodb"]), _money(cost["firehose"]),
                f"**{_money(base)}**", _money(base_http),
                _money(base + PRICES["http_api"].dollars),
                _money(base + PRICES["rest_api"].dollars),
                f"{op.alternative}: {_money(op.alternative_price)}",
            ])  # fmt: skip
    return _table(
        [
            "operation", "audit", "billed ms", "Lambda", "DynamoDB", "Firehose",
            "invoke total", "invoke total, CPU over HTTP", "HTTP API total", "REST API total",
            "AWS alternative",
        ],
        rows,
    )


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """The app logs to stdout; the child's last stdout line must be the JSON result."""
    import io

    saved, sys.stdout = sys.stdout, io.StringIO()
    try:
        yield
    finally:
        sys.stdout = saved


def main(argv: list[str]) -> int:
    if argv[:1] != ["measure"]:
        print("usage: python -m bench.run cost", file=sys.stderr)
        return 2
    config = Config(**json.loads(argv[1])) if len(argv) > 1 else Config()
    with _quiet_stdout():
        result = measure(config)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

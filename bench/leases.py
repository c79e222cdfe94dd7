"""Leases (issue 5): what one sweep costs with 100,000 live leases of which 100 are due.

In-process moto (``mock_aws``): the table (with its `lease-due` index), the KMS key, a
dev-initialised vault and a storage-only engine (`benchlease`) whose revocation deletes one
item, so the figures are the lease manager's, not an external service's. 100 leases are
issued through the real pipeline with a 1 s TTL; 99,900 more, due in 1 hour to 30 days, are
written straight into the table in the same layout (barrier-sealed values, due marks), which
is what millions of real issues would leave behind. Then one sweep runs at now + 5 s.

Counted per sweep, from botocore's responses: DynamoDB calls by operation and the items
every read returned (Query ScannedCount, BatchGetItem items, GetItem hits). Timed: wall and
CPU of the sweep, and revocations per second. moto's CPU per call is far above DynamoDB's,
so the revocation rate is a floor; the call and item counts are what production pays.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import REGION, median, ms
from bench.results import run_header

SECTION = "leases"
TITLE = "Leases: one sweep over 100,000 live leases, 100 due"
LIVE = 100_000
DUE = 100
ENGINE = "benchlease"
# Each on its own group of due leases; medians reported. moto scans the whole table for
# every Query and copies it for every transaction, so each sweep takes minutes here.
SWEEPS = 2
GROUP_SPACING = 1000  # seconds between the groups' TTLs (all well before the live ones)


def _environment(tmp: str) -> None:
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",  # moto's fake credentials
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.path.join(tmp, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "credentials"),
            "LAMBDAVAULT_TABLE": "lambdavault-bench-leases",
            "LAMBDAVAULT_KMS_KEY_ID": "alias/lambdavault-bench-leases",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)


def backend() -> Any:
    """The storage-only engine: `creds/{name}` issues a lease, revocation deletes an item."""
    from chalicelib.core.operation import Operation
    from chalicelib.core.request import Request, Response
    from chalicelib.framework import Backend, FieldData, Path
    from chalicelib.leases.secret import LeaseInfo, Secret, SecretType
    from chalicelib.storage.view import StorageView

    def issue(request: Request, data: FieldData) -> Response:
        # creds/<seconds>: the lease's TTL, so each sweep can have its own due group.
        assert request.storage is not None
        ident = secrets.token_hex(8)
        request.storage.put(f"issued/{ident}", b"1")
        secret = Secret("thing", {"id": ident}, ttl=int(data["name"]))
        return Response(data={"id": ident}, secret=secret)

    def revoke(view: StorageView, lease: LeaseInfo) -> None:
        # The engine's own calls are counted apart from the sweep's. It records the
        # revocation with one write (a delete would add a folder check, which moto answers
        # by scanning every item of the table).
        with _ENGINE.counting():
            view.put(f"issued/{lease.internal['id']}", b"revoked")

    return Backend(
        type_name=ENGINE,
        paths=[Path("creds/{name}", {Operation.READ: issue})],
        secrets=[SecretType("thing", revoke=revoke)],
    )


class _EngineScope:
    """Marks the calls the benchmark engine makes (its revocations), to count them apart."""

    def __init__(self) -> None:
        self.active = False

    @contextmanager
    def counting(self) -> Iterator[None]:
        self.active = True
        try:
            yield
        finally:
            self.active = False


_ENGINE = _EngineScope()


def _items(operation: str, response: dict[str, Any]) -> int:
    if operation == "Query":
        return response.get("ScannedCount", 0)
    if operation == "BatchGetItem":
        return sum(len(found) for found in response["Responses"].values())
    return int(operation == "GetItem" and "Item" in response)


class _ReadCounter:
    """Counts DynamoDB calls and the items their reads returned: the sweep's, and apart
    from them the benchmark engine's."""

    def __init__(self) -> None:
        from botocore.client import BaseClient

        from chalicelib.core.leanaws import LeanClient

        self.calls: Counter[str] = Counter()
        self.items = 0
        self.aws_cpu = 0.0  # thread CPU inside the AWS client (and moto behind it)
        self.engine_calls = 0
        self.engine_items = 0
        # botocore's client call, and the lean path's (the hot DynamoDB calls never enter
        # botocore's).
        self._originals = [
            (BaseClient, "_make_api_call", BaseClient._make_api_call),
            (LeanClient, "call", LeanClient.call),
        ]
        for cls, method, original in self._originals:
            setattr(cls, method, self._counting(original))

    def _counting(self, original: Any) -> Any:
        counter = self

        def counting(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started = time.thread_time()
            response = original(client, operation, params)
            counter.aws_cpu += time.thread_time() - started
            if _ENGINE.active:
                counter.engine_calls += 1
                counter.engine_items += _items(operation, response)
            else:
                counter.calls[operation] += 1
                counter.items += _items(operation, response)
            return response

        return counting

    def remove(self) -> None:
        for cls, method, original in self._originals:
            setattr(cls, method, original)


def _issue_due(root: str, count: int, ttl: int) -> list[str]:
    from chalicelib.core.operation import Operation
    from chalicelib.core.pipeline import handle
    from chalicelib.core.request import Request

    lease_ids = []
    for _ in range(count):
        reply = handle(Request(Operation.READ, f"bench/creds/{ttl}", client_token=root))
        assert reply.status == 200, reply.body
        lease_ids.append(reply.body["lease_id"])
    return lease_ids


def _write_live(count: int) -> None:
    """Leases due from 1 hour to 30 days from now, straight into the table."""
    import boto3

    from chalicelib.core.runtime import runtime
    from chalicelib.leases import layout
    from chalicelib.leases.entry import LeaseEntry
    from chalicelib.settings import settings
    from chalicelib.tokens.clock import NANOS

    rt = runtime()
    mount = rt.mounts.find("bench/")
    assert mount is not None and rt.barrier.keyring is not None
    client = boto3.client("dynamodb", region_name=REGION)
    now = int(time.time())
    batch: list[dict[str, Any]] = []
    for n in range(count):
        lease_id = layout.new_lease_id("bench/creds/live")
        due = now + 3600 + (n * 2_592_000) // count
        key = layout.entry_key(lease_id)
        lease = LeaseEntry(
            lease_id=lease_id, path="bench/creds/live", mount_uuid=mount.uuid,
            secret_type="thing", internal={"id": str(n)}, renewable=True,
            issued_ns=now * NANOS, expires_ns=due * NANOS, due_at=due,
        )
        mark = layout.due_mark(key, due)
        folder, _, leaf = key.rpartition("/")
        item = {
            "pk": {"S": f"/{key}"}, "sk": {"S": "$"},
            "v": {"B": rt.barrier.keyring.encrypt(key, lease.to_bytes())},
            "ver": {"N": "1"}, "due": {"S": mark.bucket}, "exp": {"N": str(mark.at)},
        }
        index = {"pk": {"S": f"/{folder}/"}, "sk": {"S": leaf}}  # its folder's listing
        batch += ({"PutRequest": {"Item": item}}, {"PutRequest": {"Item": index}})
        if len(batch) == 24 or n == count - 1:
            client.batch_write_item(RequestItems={settings().table_name: batch})
            batch = []
    # The folder's marker, as the first real write there would have made it.
    rt.barrier.physical.put("sys/expire/id/bench/creds/live/marker-probe", b"")
    rt.barrier.physical.delete("sys/expire/id/bench/creds/live/marker-probe")


def _measure(offset: int) -> dict[str, Any]:
    from chalicelib.leases.sweeper import sweep

    counter = _ReadCounter()
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        report = sweep(now=int(time.time()) + offset)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        counter.remove()
    assert report.revoked == DUE, report
    return {
        "report": report,
        "calls": Counter(counter.calls),
        "items": counter.items,
        "own_cpu": cpu - counter.aws_cpu,
        "engine": (counter.engine_calls, counter.engine_items),
        "wall": wall,
        "cpu": cpu,
    }


def run(argv: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        _environment(tmp)
        from moto import mock_aws

        with mock_aws():
            return _run(argv)


def _run(argv: list[str]) -> str:
    import boto3

    from chalicelib.core.dev import bootstrap_dev
    from chalicelib.core.mounts import MountEntry
    from chalicelib.core.runtime import runtime
    from chalicelib.engines import registry
    from chalicelib.storage.dynamotable import create_table

    registry.SECRETS_ENGINES[ENGINE] = f"{__name__}:backend"
    create_table()
    kms = boto3.client("kms", region_name=REGION)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=os.environ["LAMBDAVAULT_KMS_KEY_ID"], TargetKeyId=key_id)
    root = bootstrap_dev("root").root_token
    runtime().update_table("mounts", lambda t: t.with_entry(MountEntry.new("bench/", ENGINE)))
    # moto copies the whole table for every TransactWriteItems (its rollback), so the due
    # leases are issued before the table is filled: issuing is not what is measured.
    from chalicelib.leases.sweeper import sweep

    sweep()  # the schedule's previous run: it leaves the cursor at the current hour
    groups = [1 + GROUP_SPACING * n for n in range(SWEEPS)]
    for ttl in groups:
        _issue_due(root, DUE, ttl)
    started = time.perf_counter()
    _write_live(LIVE - DUE * SWEEPS)
    populate = time.perf_counter() - started
    runs = [_measure(ttl + 4) for ttl in groups]
    first = runs[0]
    calls = ", ".join(f"{op} {n}" for op, n in sorted(first["calls"].items()))
    report = first["report"]
    rate = DUE / median([r["wall"] for r in runs])
    engine_calls, engine_items = first["engine"]
    lines = [
        run_header(TITLE, argv),
        f"Setup: {LIVE - DUE * SWEEPS:,} live leases written in {populate:.0f} s, plus "
        f"{SWEEPS} groups of {DUE} issued through the pipeline with TTLs "
        f"{', '.join(f'{g} s' for g in groups)}; sweep n runs just after group n is due, so "
        f"{LIVE:,} leases are live at the first sweep and {DUE} are due at each "
        f"({SWEEPS} sweeps; medians).",
        "",
        "| Measure | Value |",
        "|---|---|",
        f"| Due leases found / revoked | {report.index_items_read} / {report.revoked} |",
        f"| Items read from the due index (keys only) | {report.index_items_read} |",
        f"| Lease items read (BatchGetItem) | {report.leases_read} |",
        f"| **Items read to find and load the due leases** (index + leases; target <= 200) "
        f"| **{report.index_items_read + report.leases_read}** |",
        f"| Items read by the sweep, all reads (+ cluster state and cursor, folder checks "
        f"after deletes) | {median([r['items'] for r in runs]):.0f} |",
        f"| DynamoDB calls of the sweep (first sweep) | {calls} |",
        f"| The engine's own revocations: calls / items read | {engine_calls} / {engine_items} |",
        f"| Sweep wall time, ms (median) | {ms(median([r['wall'] for r in runs]))} |",
        f"| Sweep CPU, moto included, ms (median) | {ms(median([r['cpu'] for r in runs]))} |",
        f"| Sweep CPU, botocore and moto excluded, ms (median) "
        f"| {ms(median([r['own_cpu'] for r in runs]))} |",
        f"| Revocations per second (one sweep, in-process moto) | {rate:.1f} |",
        f"| Revocations per second of our CPU (botocore and moto excluded) "
        f"| {DUE / median([r['own_cpu'] for r in runs]):,.0f} |",
        "",
        "Per revoked lease the sweep makes one claim (UpdateItem) and the engine's own calls; "
        "revoked leases are dropped 25 per BatchWriteItem. The items counted beyond the "
        "200 are the cluster state and cursor (one BatchGetItem) and the folder-emptiness "
        "checks after the deletes (Query, Limit 1). The wall time is moto's: it scans every "
        "item of the table for each Query, so with 100,000 items each Query costs about a "
        "second here; DynamoDB's does not grow with the table.",
    ]
    return "\n".join(lines)

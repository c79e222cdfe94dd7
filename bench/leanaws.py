"""CPU per AWS call, botocore against the lean path (chalicelib/core/leanaws), same run.

    PYTHONPATH=. .venv/bin/python -m bench.leanaws [calls per round] [rounds]
    PYTHONPATH=. .venv/bin/python -m bench.leanaws --instructions [calls]

Both paths call the same botocore client (the runtime's policy: core/awsfaults.CLIENT_CONFIG)
against moto in its own process, in alternating rounds; the figure is the median over rounds
of the calling thread's CPU per call. Three columns each:

* moto: user + system time of the calling thread, the HTTP exchange with moto included.
  moto's server (werkzeug) closes every connection, so each call also pays a TCP connect that
  a kept-alive connection to DynamoDB would not;
* kept alive: the same exchange with a local HTTP/1.1 server that keeps the connection open
  and answers with the bytes moto sent, in microseconds (bench/replayhttp: the closest to
  Lambda -> DynamoDB, TLS aside);
* no HTTP: each call answered at ``before-send`` with those bytes, so only the SDK's own work
  is left: building, signing, retry checks, parsing.

CPU time moves by several times with the load of this shared machine; ``--instructions``
counts instead (callgrind, the calling process only: the servers run outside valgrind), the
"kept alive" and "no HTTP" columns, repeatable whatever the load.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

from bench.common import PYTHON, REGION, ROOT, BenchError, MotoServer, aws_environ
from bench.replayhttp import replaying

VALUE = os.urandom(1024)  # a ~1 KB sealed entry
RECORD = os.urandom(1400)  # an audit record (two per request)


def _thread_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


def _replaying(answer: Any) -> AbstractContextManager[str]:
    """A kept-alive local server answering ``answer`` (a botocore http response) to every
    call, in its own process (bench/replayhttp)."""
    return replaying([("", answer.status_code, dict(answer.headers), answer.content)])


def _client(service: str, url: str) -> Any:
    import botocore.session
    from botocore.config import Config

    from chalicelib.core import awsfaults

    config = Config(**awsfaults.CLIENT_CONFIG)
    return botocore.session.get_session().create_client(
        service, region_name=REGION, endpoint_url=url, config=config
    )


def _clients(url: str) -> tuple[Any, Any]:
    dynamodb, firehose, s3 = (_client(name, url) for name in ("dynamodb", "firehose", "s3"))
    dynamodb.create_table(
        TableName="lean", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
    )  # fmt: skip
    for n in range(3):
        item = {**_key(n), "v": {"B": VALUE}, "ver": {"N": "1"}}
        dynamodb.put_item(TableName="lean", Item=item)
    s3.create_bucket(Bucket="lean-audit")
    firehose.create_delivery_stream(
        DeliveryStreamName="lean",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::lean-audit",
        },
    )  # fmt: skip
    return dynamodb, firehose


def _key(n: int) -> dict[str, Any]:
    return {"pk": {"S": "/secret/meta/"}, "sk": {"S": f"k{n}"}}


def _operations(dynamodb: Any, firehose: Any) -> list[tuple[Any, str, dict[str, Any]]]:
    key = _key
    return [
        (dynamodb, "GetItem", {"TableName": "lean", "Key": key(0), "ConsistentRead": True}),
        (dynamodb, "BatchGetItem", {
            "RequestItems": {"lean": {"Keys": [key(n) for n in range(3)], "ConsistentRead": True}},
        }),
        (dynamodb, "UpdateItem", {
            "TableName": "lean", "Key": key(1), "UpdateExpression": "SET v = :v ADD ver :one",
            "ExpressionAttributeValues": {":v": {"B": VALUE}, ":one": {"N": "1"}},
            "ConditionExpression": "attribute_exists(pk)",
        }),
        (firehose, "PutRecordBatch", {
            "DeliveryStreamName": "lean", "Records": [{"Data": RECORD}, {"Data": RECORD}],
        }),
    ]  # fmt: skip


class _Canned:
    """A before-send handler answering with one recorded HTTP answer (no network)."""

    def __init__(self, answer: Any) -> None:
        from botocore.awsrequest import AWSResponse

        self._response = AWSResponse
        self._status, self._headers, self._body = answer.status_code, answer.headers, answer.content

    def __call__(self, request: Any, **_: Any) -> Any:
        response = self._response(request.url, self._status, self._headers, None)
        response._content = self._body
        return response


def _recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
    kept: list[Any] = []

    def keep(http_response: Any, **_: Any) -> None:
        kept.append(http_response)

    event = f"after-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    client.meta.events.register(event, keep)
    try:
        client._make_api_call(operation, params)
    finally:
        client.meta.events.unregister(event, keep)
    return kept[0]


def _per_call(call: Callable[[], Any], n: int) -> float:
    cpu = _thread_cpu()
    for _ in range(n):
        call()
    return (_thread_cpu() - cpu) / n


def _paths(client: Any, operation: str, params: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    from chalicelib.core.leanaws import lean

    fast = lean(client)
    paths = {
        "botocore": lambda: client._make_api_call(operation, params),
        "lean": lambda: fast.call(operation, params),
    }
    for call in paths.values():  # warm both: models, pools, CPython's adaptive interpreter
        for _ in range(60):
            call()
    return paths


def _medians(paths: dict[str, Callable[[], Any]], n: int, rounds: int) -> dict[str, float]:
    """Median CPU per call of each path, in alternating rounds."""
    seen: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, call in paths.items():
            seen[name].append(_per_call(call, n))
    return {name: statistics.median(values) for name, values in seen.items()}


def measure(n: int, rounds: int) -> list[dict[str, Any]]:
    rows = []
    with MotoServer() as moto:
        os.environ.update(aws_environ(moto.url))
        dynamodb, firehose = _clients(moto.url)
        for client, operation, params in _operations(dynamodb, firehose):
            service = client.meta.service_model
            answer = _recorded(client, operation, params)
            columns = {"moto": _medians(_paths(client, operation, params), n, rounds)}
            with _replaying(answer) as url:
                local = _client(service.service_name, url)
                columns["kept alive"] = _medians(_paths(local, operation, params), n, rounds)
            canned = _Canned(answer)
            event = f"before-send.{service.service_id.hyphenize()}.{operation}"
            client.meta.events.register_first(event, canned)
            try:
                columns["no HTTP"] = _medians(_paths(client, operation, params), n * 4, rounds)
            finally:
                client.meta.events.unregister(event, canned)
            rows.append({"operation": operation, **columns})
    return rows


# --- instructions (callgrind) -------------------------------------------------------------

_SHIM = """#include <valgrind/callgrind.h>
void toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
void dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }
"""
_DUMP = re.compile(
    r"^desc: Trigger: Client Request: ([^\n]+)$.*?^summary: (\d+)", re.MULTILINE | re.DOTALL
)


def measure_instructions(n: int) -> list[dict[str, Any]]:
    """Instructions per call of each path; the target runs under callgrind."""
    with MotoServer() as moto, ExitStack() as servers, tempfile.TemporaryDirectory() as tmp:
        env = aws_environ(moto.url)
        os.environ.update(env)
        calls = []
        for client, operation, params in _operations(*_clients(moto.url)):
            answer = _recorded(client, operation, params)
            url = servers.enter_context(_replaying(answer))
            reply = (answer.status_code, dict(answer.headers), answer.content)
            calls.append((client.meta.service_model.service_name, operation, params, url, reply))
        Path(tmp, "calls.pickle").write_bytes(pickle.dumps(calls))
        Path(tmp, "shim.c").write_text(_SHIM)
        shim = str(Path(tmp, "shim.so"))
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", shim, f"{tmp}/shim.c"], check=True)
        command = [
            "valgrind", "--tool=callgrind", "--collect-atstart=no",
            f"--callgrind-out-file={tmp}/cg.out", PYTHON, "-m", "bench.leanaws", "--target",
            shim, f"{tmp}/calls.pickle", str(n),
        ]  # fmt: skip
        done = subprocess.run(command, env={**env, "PYTHONHASHSEED": "0"}, cwd=ROOT,
                              capture_output=True, text=True, timeout=3600)  # fmt: skip
        if done.returncode:
            raise BenchError(f"callgrind failed: {done.stderr[-2000:]}")
        counts: dict[str, dict[str, dict[str, float]]] = {}
        for dump in Path(tmp).glob("cg.out*"):
            for label, total in _DUMP.findall(dump.read_text()):
                column, operation, path = label.split("|")
                counts.setdefault(operation, {}).setdefault(column, {})[path] = int(total) / n
    return [{"operation": operation, **columns} for operation, columns in counts.items()]


def target(shim_path: str, calls_path: str, n: int) -> None:
    """Under callgrind: collect each path's n calls of each operation, one dump each."""
    shim = ctypes.CDLL(shim_path)
    for service, operation, params, url, (status, headers, body) in pickle.loads(
        Path(calls_path).read_bytes()
    ):
        client = _client(service, url)
        from urllib3 import HTTPHeaderDict

        fields = {"status_code": status, "headers": HTTPHeaderDict(headers), "content": body}
        answer = type("Answer", (), fields)
        canned = _Canned(answer)
        event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        for column in ("kept alive", "no HTTP"):
            if column == "no HTTP":
                client.meta.events.register_first(event, canned)
            for path, call in _paths(client, operation, params).items():
                shim.toggle()
                for _ in range(n):
                    call()
                shim.toggle()
                shim.dump(f"{column}|{operation}|{path}".encode())


def render(rows: list[dict[str, Any]], title: str, columns: tuple[str, ...]) -> str:
    lines = [
        f"{title} (botocore / lean / ratio)",
        "",
        "| operation | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for row in rows:
        cells = []
        for column in columns:
            slow, fast = row[column]["botocore"], row[column]["lean"]
            cells.append(f"{slow:,.0f} / {fast:,.0f} / {slow / fast:.1f}x")
        lines.append(f"| {row['operation']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    started = time.perf_counter()
    if args[:1] == ["--target"]:
        target(args[1], args[2], int(args[3]))
        return
    if args[:1] == ["--instructions"]:
        n = int(args[1]) if len(args) > 1 else 50
        rows = measure_instructions(n)
        print(render(rows, f"Instructions per call ({n} calls, callgrind)",
                     ("kept alive", "no HTTP")))  # fmt: skip
    else:
        n = int(args[0]) if args else 100
        rounds = int(args[1]) if len(args) > 1 else 7
        rows = measure(n, rounds)
        for row in rows:
            for column in ("moto", "kept alive", "no HTTP"):
                row[column] = {path: cpu * 1e6 for path, cpu in row[column].items()}
        title = f"CPU per call, µs (median of {rounds} rounds of {n} calls)"
        print(render(rows, title, ("moto", "kept alive", "no HTTP")))
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()

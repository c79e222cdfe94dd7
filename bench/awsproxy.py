"""A recording HTTP proxy between simulated Lambda containers and moto, and what each
recorded AWS call reads and writes.

Counting on the wire, not inside botocore, keeps the count true whatever client the app
uses (botocore, pynamodb or a lean JSON client speaking the same protocol) and whatever its
key layout: a DynamoDB call is described by the table keys (``pk``, ``sk``) named in its
JSON body, a Firehose call by its stream, record count and payload bytes.

Each container gets its own listening port, so every call is attributed to the container
that made it. The proxy only stores raw calls; parsing happens after the load.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import re
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from bench.common import LOOPBACK
from bench.cost import _attribute_bytes, _write_units

# Headers that describe one hop, never forwarded (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
     "upgrade", "content-length"}
)  # fmt: skip
# X-Amz-Target prefixes of the JSON-protocol services the app calls.
_TARGET_SERVICES = {"DynamoDB": "dynamodb", "Firehose": "firehose", "TrentService": "kms"}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_EQUALITY = re.compile(r"([#\w.]+)\s*=\s*(:\w+)")
READ_UNIT_BYTES = 4096  # a strongly consistent read: one unit per started 4 KB
PARTITION_KEY = "pk"
SORT_KEY = "sk"


@dataclass(frozen=True, slots=True)
class RawCall:
    container: int
    at: float  # time.monotonic() when the request arrived (one clock for all processes)
    method: str
    path: str
    target: str  # X-Amz-Target, "" for non-JSON protocols
    authorization: str
    request: bytes
    status: int
    response: bytes


class RecordingProxy:
    """One loopback listener per container, all forwarding to ``upstream`` (moto)."""

    def __init__(self, upstream: str, containers: int) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.calls: list[RawCall] = []
        self._servers = [_server(self.calls, index, host, int(port)) for index in range(containers)]
        self._threads = [
            threading.Thread(target=server.serve_forever, daemon=True) for server in self._servers
        ]
        for thread in self._threads:
            thread.start()

    @property
    def urls(self) -> list[str]:
        return [f"http://{LOOPBACK}:{server.server_address[1]}" for server in self._servers]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(10)


def _server(
    calls: list[RawCall] | None, container: int, host: str, port: int, listen: int = 0
) -> ThreadingHTTPServer:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs use it
        # Each answer leaves in one segment (buffered, flushed once, no Nagle): split, the
        # client's delayed ACK would hold its second half for ~40 ms.
        disable_nagle_algorithm = True
        wbufsize = -1

        def setup(self) -> None:
            super().setup()
            self.upstream = http.client.HTTPConnection(host, port, timeout=60)

        def finish(self) -> None:
            super().finish()
            self.upstream.close()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a line per call would cost more than the forwarding

        def forward(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            self.upstream.request(self.command, self.path, body=body, headers=headers)
            reply = self.upstream.getresponse()
            data = reply.read()
            # Recorded before the answer leaves: a container that has its answer finds its
            # call in the record.
            if calls is not None:
                calls.append(  # list.append is atomic: handler threads share the list
                    RawCall(
                        container, arrived, self.command, self.path,
                        self.headers.get("X-Amz-Target", ""),
                        self.headers.get("Authorization", ""), body, reply.status, data,
                    )
                )  # fmt: skip
            self.send_response_only(reply.status, reply.reason)
            for name, value in reply.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    server = ThreadingHTTPServer((LOOPBACK, listen), Forward)
    server.daemon_threads = True
    return server


def main() -> None:
    """``python -m bench.awsproxy UPSTREAM PORT``: a front on PORT that keeps its clients'
    connections alive, as DynamoDB and Firehose do, in front of moto, which closes every
    connection (a new TCP connection per call is not what production pays). Records nothing."""
    host, port = sys.argv[1].removeprefix("http://").split(":")
    _server(None, 0, host, int(port), int(sys.argv[2])).serve_forever()


if __name__ == "__main__":
    main()


# --- what a call does ---------------------------------------------------------------------


Key = tuple[str, str]  # (pk, sk) of one item


@dataclass(slots=True)
class Call:
    """One AWS call as the capacity model sees it."""

    container: int
    at: float
    service: str
    operation: str
    request_bytes: int
    reads: list[tuple[Key, float]] = field(default_factory=list)  # item, read units
    queries: list[tuple[str, float]] = field(default_factory=list)  # pk value, read units
    writes: list[tuple[Key, float]] = field(default_factory=list)  # item, write units
    stream: str = ""  # Firehose: the delivery stream
    records: int = 0
    record_bytes: int = 0  # Firehose: the records' data, decoded (what the MiB/s quota counts)


def parse(raw: RawCall) -> Call:
    service, operation = _service_operation(raw)
    call = Call(raw.container, raw.at, service, operation, len(raw.request))
    if service == "dynamodb" and raw.status < 300:
        _dynamodb(call, json.loads(raw.request or b"{}"), json.loads(raw.response or b"{}"))
    elif service == "firehose" and raw.status < 300:
        _firehose(call, json.loads(raw.request or b"{}"))
    return call


def _service_operation(raw: RawCall) -> tuple[str, str]:
    if raw.target:
        prefix, _, operation = raw.target.partition(".")
        name = prefix.split("_")[0]
        return _TARGET_SERVICES.get(name, name.lower()), operation
    scope = _SCOPE.search(raw.authorization)
    service = scope.group(1) if scope else "unknown"
    return service, f"{raw.method} {raw.path.split('?')[0]}"


def _key(key: dict[str, Any]) -> Key:
    return _scalar(key.get(PARTITION_KEY)), _scalar(key.get(SORT_KEY))


def _scalar(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    ((_, content),) = value.items()
    return str(content)


def _read_units(items_bytes: int, consistent: bool) -> float:
    units = max(1, math.ceil(items_bytes / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def _dynamodb(call: Call, request: dict[str, Any], response: dict[str, Any]) -> None:
    operation = call.operation
    if operation == "GetItem":
        size = _attribute_bytes(response.get("Item", {}))
        call.reads.append(
            (_key(request["Key"]), _read_units(size, bool(request.get("ConsistentRead"))))
        )
    elif operation == "BatchGetItem":
        for table, wanted in request["RequestItems"].items():
            found = {
                _key(item): _attribute_bytes(item)
                for item in response.get("Responses", {}).get(table, [])
            }
            consistent = bool(wanted.get("ConsistentRead"))
            for key in map(_key, wanted["Keys"]):
                call.reads.append((key, _read_units(found.get(key, 0), consistent)))
    elif operation == "TransactGetItems":
        for entry in request["TransactItems"]:
            call.reads.append((_key(entry["Get"]["Key"]), 2.0))  # transactional: twice
    elif operation in ("Query", "Scan"):
        size = sum(_attribute_bytes(item) for item in response.get("Items", []))
        units = _read_units(size, bool(request.get("ConsistentRead")))
        call.queries.append(
            (_query_partition(request) if operation == "Query" else "(scan)", units)
        )
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        call.writes.append(_written(request))
    elif operation == "TransactWriteItems":
        for entry in request["TransactItems"]:
            ((_, params),) = entry.items()
            key, units = _written(params)
            call.writes.append((key, 2 * units))  # transactional: twice
    elif operation == "BatchWriteItem":
        for requests in request["RequestItems"].values():
            for entry in requests:
                ((_, params),) = entry.items()
                call.writes.append(_written(params))


def _written(params: dict[str, Any]) -> tuple[Key, float]:
    if "Item" in params:  # a put: the whole item is known
        return _key(params["Item"]), float(
            max(1, math.ceil(_attribute_bytes(params["Item"]) / 1024))
        )
    return _key(params["Key"]), float(_write_units(params))


def _query_partition(request: dict[str, Any]) -> str:
    """The partition-key value a Query reads (``index:attr=value`` on a secondary index)."""
    names = request.get("ExpressionAttributeNames", {})
    values = request.get("ExpressionAttributeValues", {})
    for name, placeholder in _EQUALITY.findall(request.get("KeyConditionExpression", "")):
        attribute = names.get(name, name)
        value = _scalar(values.get(placeholder))
        index = request.get("IndexName")
        if index:
            return f"{index}:{attribute}={value}"
        if attribute == PARTITION_KEY:
            return value
    return "(unknown)"


def _firehose(call: Call, request: dict[str, Any]) -> None:
    records = [request["Record"]] if "Record" in request else request.get("Records", [])
    call.stream = str(request.get("DeliveryStreamName", ""))
    call.records = len(records)
    call.record_bytes = sum(len(base64.b64decode(record["Data"])) for record in records)


def parsed(calls: list[RawCall]) -> Iterator[Call]:
    return (parse(raw) for raw in list(calls))

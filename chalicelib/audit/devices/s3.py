"""The ``s3`` device: records go through Kinesis Data Firehose into the audit bucket.

Streams: ``stream`` names the first (else the deployment's ``LAMBDAVAULT_AUDIT_STREAM``);
``streams`` (else ``LAMBDAVAULT_AUDIT_STREAMS``) is either a count, for streams named after
the first (``<stream>``, ``<stream>-2``, … ``<stream>-N``, as infra/ creates them), or the
comma-separated names of all of them. Each container writes to one of them, chosen by its
chain id: a chain's records stay in one stream, in order, and the containers spread over
the streams, so the audit path is not held to one stream's quota. Every stream writes
date-partitioned objects (``audit/year=…/month=…/day=…/``, see infra/) that Athena reads
as JSON lines; the object names carry the stream's name.

A request's records go in one ``PutRecordBatch`` of one Firehose record: its request and
response records together, unless the request record had to be accepted before the
operation ran (chalicelib.audit.trail); the lines of a record land in one object, in order.
"""

from __future__ import annotations

import random
import re
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from chalicelib.audit import devices
from chalicelib.core import awsfaults
from chalicelib.settings import settings

if TYPE_CHECKING:
    from chalicelib.audit.table import AuditEntry

# Audit is fail-closed: a stalled Firehose must fail the request in seconds, not hang it
# until the Lambda times out (botocore's defaults: 60 s timeouts, 5 attempts). The policy
# of every AWS client of the runtime: 3 attempts, 2 s connect, 5 s read.
CLIENT_CONFIG = awsfaults.CLIENT_CONFIG
MAX_STREAMS = 64  # a larger count is a typo, not a deployment
_STREAM_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
# A record the batch's answer refused (FailedPutCount) is sent again this many times, after
# full jitter up to 50 then 100 ms: botocore retries calls that fail, not records refused
# in a 200.
RECORD_RETRIES = 2
_RETRY_BACKOFF = 0.025


def numbered_streams(first: str, count: int) -> list[str]:
    """``count`` streams named after ``first``, as infra/ names them."""
    return [first, *(f"{first}-{n}" for n in range(2, count + 1))]


def stream_names(options: Mapping[str, str]) -> list[str]:
    """The device's delivery streams, from its ``stream`` and ``streams`` options."""
    first = options.get("stream") or settings().audit_stream
    spec = (options.get("streams") or settings().audit_streams).strip()
    if spec.isdigit():
        count = int(spec)
        if not 1 <= count <= MAX_STREAMS:
            raise devices.DeviceError(f'"streams" must be between 1 and {MAX_STREAMS}')
        names = numbered_streams(first, count)
    else:
        names = list(dict.fromkeys(name.strip() for name in spec.split(",") if name.strip()))
    bad = next((name for name in names if not _STREAM_NAME.fullmatch(name)), None)
    if not names or bad is not None:
        raise devices.DeviceError(
            '"streams" must be a count or comma-separated delivery stream names'
        )
    return names


class Device(devices.Device):
    def __init__(self, entry: AuditEntry, context: devices.Context) -> None:
        super().__init__(entry, context)
        self.streams = stream_names(entry.options)
        # Stable for the container (its chain id), spread across containers.
        self.stream = self.streams[zlib.crc32(self.chain.id.encode()) % len(self.streams)]
        self._context = context

    def check(self) -> None:
        """Every other stream must exist (this container's gets the test message)."""
        if self.entry.options.get("skip_test") == "true":
            return
        firehose = self._context.client("firehose", **CLIENT_CONFIG)
        for stream in self.streams:
            if stream != self.stream:
                with _refusals(f'delivery stream "{stream}"'):
                    firehose.describe_delivery_stream(DeliveryStreamName=stream)

    def _put_batch(self, records: list[bytes]) -> dict[str, Any]:
        """One PutRecordBatch to this container's stream; botocore's answer shape
        (``FailedPutCount``, ``RequestResponses`` with an ``ErrorCode`` per refused record)."""
        from chalicelib.core.leanaws import lean

        client = self._context.client("firehose", **CLIENT_CONFIG)
        params = {"DeliveryStreamName": self.stream, "Records": [{"Data": d} for d in records]}
        return lean(client).call("PutRecordBatch", params)

    def write(self, data: bytes) -> None:
        """``data`` (a request's records, whole lines) as ONE Firehose record: taken whole
        or refused whole, so sending it again cannot split or reorder the chain. (Firehose
        also bills each record rounded up to 5 KB: a read's two ~1.4 KB lines in one record
        cost half of what two records would.)"""
        where = f'PutRecordBatch to stream "{self.stream}"'
        for attempt in range(RECORD_RETRIES + 1):
            if attempt:
                time.sleep(random.uniform(0, _RETRY_BACKOFF * 2**attempt))  # noqa: S311
            with _refusals(where):
                answer = self._put_batch([data])
            if not answer.get("FailedPutCount"):
                return
        codes = [item.get("ErrorCode") for item in answer.get("RequestResponses", ())]
        raise devices.DeviceError(f"{where}: {next(filter(None, codes), 'Unknown')}")


@contextmanager
def _refusals(where: str) -> Iterator[None]:
    """botocore's errors as a DeviceError saying ``where``, with the error's code or class
    only (its text could quote the record)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as error:
        what = (
            error.response.get("Error", {}).get("Code", "Unknown")
            if isinstance(error, ClientError)
            else type(error).__name__
        )
        # Whether any attempt may have delivered the records (an answer lost, a 5xx), as
        # the lean path notes it on what it raises; unknown counts as maybe.
        uncertain = bool(getattr(error, "maybe_taken", True))
        raise devices.DeviceError(f"{where}: {what}", uncertain=uncertain) from None

"""Read an enabled device's recent records back, bounded to fit in one API request.

API Gateway gives a request 29 s and a Lambda has its memory: sys/audit-query and
sys/audit-verify read only the S3 objects of a time window (newest first, listing the
window's day partitions, see :mod:`chalicelib.audit.s3keys`), or the end of a file device's
log, and stop at the :class:`Limits`, saying what they left out (:class:`Extent`).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.audit import s3keys
from chalicelib.audit.verify import Line, object_body, object_source, split_lines
from chalicelib.tokens.clock import NANOS, rfc3339

__all__ = ["Extent", "Limits", "Window", "read_file_tail", "read_objects", "stream_destination"]

_MIB = 1 << 20
# An object holds records that arrived within one buffering interval (at most 900 s) of
# its oldest one, whose arrival time names it: objects that far around the window are read.
_SLACK = 16 * 60 * NANOS


@dataclass(frozen=True, slots=True)
class Window:
    """Unix nanoseconds, both ends included."""

    since: int
    until: int

    def to_json(self) -> dict[str, str]:
        return {"since": rfc3339(self.since), "until": rfc3339(self.until)}


@dataclass(frozen=True, slots=True)
class Limits:
    objects: int = 1000
    bytes: int = 32 * _MIB
    seconds: float = 20.0  # well under API Gateway's 29 s
    days: int = 31  # day partitions listed
    workers: int = 8  # objects fetched at once


@dataclass(slots=True)
class Extent:
    """What an answer read, and why it stopped early (``truncated``, "" when it did not)."""

    source: str
    objects: int = 0  # S3 objects read (1 for a file)
    bytes: int = 0  # uncompressed
    skipped: int = 0  # objects of the window left unread
    truncated: str = ""

    def stop(self, reason: str) -> None:
        self.truncated = self.truncated or reason

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "objects_read": self.objects, "bytes_read": self.bytes,
                "objects_skipped": self.skipped, "truncated": bool(self.truncated),
                "truncated_reason": self.truncated}


def stream_destination(firehose: Any, stream: str) -> tuple[str, str]:
    """(bucket, prefix) the delivery stream writes to."""
    described = firehose.describe_delivery_stream(DeliveryStreamName=stream)
    destination = described["DeliveryStreamDescription"]["Destinations"][0]
    s3 = (destination.get("ExtendedS3DestinationDescription")
          or destination["S3DestinationDescription"])
    return s3["BucketARN"].rpartition(":")[2], s3.get("Prefix") or ""


def read_objects(client: Any, bucket: str, prefix: str, window: Window,
                 limits: Limits) -> tuple[list[Line], Extent]:
    """The lines of the window's objects under the stream's ``prefix``, newest objects first."""
    deadline = time.monotonic() + limits.seconds
    extent = Extent(f"s3://{bucket}/{prefix}")
    keys = _window_keys(client, bucket, prefix, window, limits, extent, deadline)
    if len(keys) > limits.objects:
        extent.stop(_object_limit(limits))
        extent.skipped, keys = len(keys) - limits.objects, keys[:limits.objects]
    lines: list[Line] = []
    with ThreadPoolExecutor(limits.workers) as pool:
        pending = [pool.submit(object_body, client, bucket, key) for key in keys]
        for index, (key, future) in enumerate(zip(keys, pending, strict=True)):
            reason = _over(extent, limits, deadline)
            if reason:
                extent.stop(reason)
                extent.skipped += len(keys) - index
                for left in pending[index:]:
                    left.cancel()
                break
            body = future.result()
            extent.objects += 1
            extent.bytes += len(body)
            lines.extend(split_lines(object_source(bucket, key), body))
    return lines, extent


def _over(extent: Extent, limits: Limits, deadline: float) -> str:
    if extent.bytes >= limits.bytes:
        return f"byte limit ({limits.bytes // _MIB} MiB) reached"
    return _late(limits, deadline)


def _object_limit(limits: Limits) -> str:
    return f"object limit ({limits.objects}) reached"


def _late(limits: Limits, deadline: float) -> str:
    return f"time limit ({limits.seconds:g} s) reached" if time.monotonic() >= deadline else ""


def _window_keys(client: Any, bucket: str, prefix: str, window: Window, limits: Limits,
                 extent: Extent, deadline: float) -> list[str]:
    """The keys of the objects that may hold records of ``window``, newest first.

    Listing stops once it has found more objects than will be read: older days would not be.
    """
    days = _days(window.since - _SLACK, window.until + _SLACK)
    if len(days) > limits.days:
        extent.stop(f"window longer than {limits.days} days: the newest {limits.days} listed")
        days = days[:limits.days]
    found: list[tuple[int, str]] = []
    for listing in s3keys.day_prefixes(prefix, days):
        reason = _object_limit(limits) if len(found) > limits.objects else _late(limits, deadline)
        if reason:
            extent.stop(reason)  # older days left unlisted: their objects are not counted
            break
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=listing)
        for page in pages:
            for item in page.get("Contents", ()):
                named = s3keys.object_time(item["Key"])
                if named is None or window.since - _SLACK <= named <= window.until + _SLACK:
                    found.append((named or 0, item["Key"]))
    found.sort(reverse=True)
    return [key for _, key in found]


def _days(since: int, until: int) -> list[date]:
    """The UTC days from ``until`` back to ``since``."""
    last = datetime.fromtimestamp(until / NANOS, UTC).date()
    first = datetime.fromtimestamp(max(since, 0) / NANOS, UTC).date()
    return [last - timedelta(days=back) for back in range((last - first).days + 1)]


def read_file_tail(path: str, limits: Limits) -> tuple[list[Line], Extent]:
    """A file device's lines, or its last ``limits.bytes`` (from the first whole line)."""
    extent = Extent(path)
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = max(0, size - limits.bytes)
            before = _newlines(handle, start)
            content = handle.read(size - start)
    except FileNotFoundError:
        return [], extent  # nothing logged yet
    first = 1
    if start:
        extent.stop(f"byte limit ({limits.bytes // _MIB} MiB): only the end of the file read")
        cut = content.find(b"\n") + 1 or len(content)  # past the line the limit cut through
        content, first = content[cut:], before + 2
    extent.objects, extent.bytes = 1, len(content)
    return list(split_lines(path, content, first)), extent


def _newlines(handle: Any, end: int) -> int:
    """Lines ended before ``end`` (for line numbers), leaving ``handle`` at ``end``."""
    count = 0
    while handle.tell() < end:
        count += handle.read(min(_MIB, end - handle.tell())).count(b"\n")
    return count

"""Read an enabled device's recent records back, bounded to fit in one API request.

API Gateway gives a request 29 s and a Lambda has its memory: sys/audit-query and
sys/audit-verify read only the S3 objects of a time window (newest first, listing the
window's day partitions, see :mod:`chalicelib.audit.s3keys`), or the end of a file device's
log, and stop at the :class:`Limits`, saying what they left out (:class:`Extent`). An s3
device's streams may deliver to several places: all of them are read, as one log.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from chalicelib.audit import s3keys
from chalicelib.audit.verify import Line, object_body, object_source, split_lines
from chalicelib.tokens.clock import NANOS, rfc3339

__all__ = [
    "Destination", "Extent", "Limits", "Window", "checkable", "read_file_tail", "read_objects",
    "stream_destinations",
]

_MIB = 1 << 20
# A record's own time: the first key our records carry (after any device prefix).
_TIME = re.compile(rb'"time":"([^"]{1,64})"')
# An object holds the records that arrived within one buffering interval of its oldest one,
# whose arrival time names it; a minute more covers the delay from a record's time to its
# arrival. Objects that far around the window are read.
_MARGIN = 60 * NANOS
_DEFAULT_INTERVAL = 300  # Firehose's default buffering interval, in seconds


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
    complete_from: int | None = None  # every record from then on was read (Unix ns)

    def stop(self, reason: str) -> None:
        self.truncated = self.truncated or reason

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "objects_read": self.objects, "bytes_read": self.bytes,
                "objects_skipped": self.skipped, "truncated": bool(self.truncated),
                "truncated_reason": self.truncated, "complete_from": self._complete_from()}

    def _complete_from(self) -> str | None:
        return None if self.complete_from is None else rfc3339(self.complete_from)


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a delivery stream writes, and how far apart in time one object's records are."""

    bucket: str
    prefix: str
    slack: int  # Unix ns: the buffering interval and the margin

    def to_json(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def stream_destinations(firehose: Any, streams: Sequence[str]) -> list[Destination]:
    """Where ``streams`` deliver, each place once (infra/'s streams share one prefix: the
    object names tell the streams apart), with the longest buffering interval of its streams."""
    found: dict[tuple[str, str], Destination] = {}
    for stream in streams:
        described = firehose.describe_delivery_stream(DeliveryStreamName=stream)
        destination = described["DeliveryStreamDescription"]["Destinations"][0]
        s3 = (destination.get("ExtendedS3DestinationDescription")
              or destination["S3DestinationDescription"])
        interval = s3.get("BufferingHints", {}).get("IntervalInSeconds", _DEFAULT_INTERVAL)
        place = Destination(s3["BucketARN"].rpartition(":")[2], s3.get("Prefix") or "",
                            interval * NANOS + _MARGIN)
        known = found.setdefault((place.bucket, place.prefix), place)
        if known.slack < place.slack:
            found[(place.bucket, place.prefix)] = place
    return list(found.values())


class _Object(NamedTuple):
    named: int  # Unix ns of the time in its name (0 when it has none)
    key: str
    destination: Destination


def read_objects(client: Any, destinations: Sequence[Destination], window: Window,
                 limits: Limits) -> tuple[list[Line], Extent]:
    """The lines of the window's objects in all ``destinations``, newest objects first."""
    deadline = time.monotonic() + limits.seconds
    source = ", ".join(destination.to_json() for destination in destinations)
    extent = Extent(source, complete_from=window.since)
    listed = _window_objects(client, destinations, window, limits, extent, deadline)
    chosen = listed[:limits.objects]
    if len(listed) > limits.objects:
        extent.stop(_object_limit(limits))
        extent.skipped = len(listed) - limits.objects
    lines: list[Line] = []
    with ThreadPoolExecutor(limits.workers) as pool:
        pending = [pool.submit(object_body, client, item.destination.bucket, item.key)
                   for item in chosen]
        for index, (item, future) in enumerate(zip(chosen, pending, strict=True)):
            reason = _over(extent, limits, deadline)
            if reason:
                extent.stop(reason)
                extent.skipped += len(chosen) - index
                for left in pending[index:]:
                    left.cancel()
                break
            body = future.result()
            extent.objects += 1
            extent.bytes += len(body)
            lines.extend(split_lines(object_source(item.destination.bucket, item.key), body))
    if extent.truncated and chosen:
        # The first object left out (or, when the listing itself stopped, the oldest one
        # read) bounds where every record is known to be in hand.
        cut = listed[extent.objects] if extent.skipped else chosen[-1]
        extent.complete_from = max(window.since, cut.named + cut.destination.slack)
    return lines, extent


def checkable(lines: list[Line], since: int, until: int) -> list[Line]:
    """The lines a chain check can rely on: records from ``since`` to ``until``, and lines
    with no readable time, which the check reports.

    Firehose objects overlap in time at the edges of what was read, so a chain's records
    just outside are not all in hand: checked, they would show gaps that are not there.
    """
    from chalicelib.audit.query import parse_time

    kept = []
    for line in lines:
        found = _TIME.search(line.raw)
        try:
            at = parse_time(found.group(1).decode()) if found else None
        except (ValueError, UnicodeDecodeError):
            at = None
        if at is None or since <= at <= until:
            kept.append(line)
    return kept


def _over(extent: Extent, limits: Limits, deadline: float) -> str:
    if extent.bytes >= limits.bytes:
        return f"byte limit ({limits.bytes // _MIB} MiB) reached"
    return _late(limits, deadline)


def _object_limit(limits: Limits) -> str:
    return f"object limit ({limits.objects}) reached"


def _late(limits: Limits, deadline: float) -> str:
    return f"time limit ({limits.seconds:g} s) reached" if time.monotonic() >= deadline else ""


def _window_objects(client: Any, destinations: Sequence[Destination], window: Window,
                    limits: Limits, extent: Extent, deadline: float) -> list[_Object]:
    """The objects that may hold records of ``window``, newest first.

    Days are listed newest first (in every destination), and listing stops once it has
    found more objects than will be read: older days would not be.
    """
    slack = max(destination.slack for destination in destinations)
    days = _days(window.since - slack, window.until + slack)
    if len(days) > limits.days:
        extent.stop(f"window longer than {limits.days} days: the newest {limits.days} listed")
        days = days[:limits.days]
    listings = sorted(
        ((rank, destination, listing) for destination in destinations
         for rank, listing in enumerate(s3keys.day_prefixes(destination.prefix, days))),
        key=lambda planned: planned[0],
    )
    found: list[_Object] = []
    for _, destination, listing in listings:
        reason = _object_limit(limits) if len(found) > limits.objects else _late(limits, deadline)
        if reason:
            extent.stop(reason)  # older days left unlisted: their objects are not counted
            break
        first = window.since - destination.slack
        last = window.until + destination.slack
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=destination.bucket, Prefix=listing)
        for page in pages:
            for item in page.get("Contents", ()):
                named = s3keys.object_time(item["Key"])
                if named is None or first <= named <= last:
                    found.append(_Object(named or 0, item["Key"], destination))
    found.sort(key=lambda item: (item.named, item.key), reverse=True)
    return found


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

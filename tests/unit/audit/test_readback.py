"""Reading a window of audit objects back: Firehose's key layout, the window's days, the
limits, and the chain check's edge where parallel deliveries overlap in time."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest

from chalicelib.audit import readback, s3keys, verify
from chalicelib.audit.chain import Chain
from chalicelib.tokens.clock import NANOS, rfc3339
from tests.support import REGION

PREFIX = "audit/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
T0 = int(datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC).timestamp()) * NANOS
SECOND = NANOS


def test_day_prefixes_follow_the_streams_prefix() -> None:
    days = [date(2026, 3, 1), date(2026, 2, 28)]
    assert s3keys.day_prefixes(PREFIX, days) == [
        "audit/year=2026/month=03/day=01/", "audit/year=2026/month=02/day=28/"]
    # No expression: Firehose's default YYYY/MM/dd/HH/ follows the prefix.
    assert s3keys.day_prefixes("logs/", days[:1]) == ["logs/2026/03/01/"]
    # Quoted literals; an hour level is listed by day and filtered by name.
    assert s3keys.day_prefixes("dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", days[:1]) \
        == ["dt=2026-03-01/h="]
    # An expression that is not a time: one listing of what precedes it, for every day.
    assert s3keys.day_prefixes("a/!{firehose:random-string}/", days) == ["a/"]


def test_evaluate_and_object_time() -> None:
    when = datetime(2026, 3, 1, 7, 8, 9, tzinfo=UTC)
    assert s3keys.evaluate(PREFIX + "!{timestamp:HH}/!{firehose:random-string}", when) == \
        "audit/year=2026/month=03/day=01/07/!{firehose:random-string}"
    key = f"audit/year=2026/month=03/day=01/lambdavault-audit-1-2026-03-01-07-08-09-{uuid.uuid4()}"
    assert s3keys.object_time(key) == int(when.timestamp()) * NANOS
    assert s3keys.object_time("audit/year=2026/month=03/day=01/hand-written.log") is None
    assert s3keys.object_time("x-2026-13-01-00-00-00-abc") is None


def chain_lines(times: list[int]) -> list[bytes]:
    """One chain's records at ``times``, as a device writes them."""
    written: list[bytes] = []
    chain = Chain("container/device")
    for number, at in enumerate(times, start=1):
        record = {"time": rfc3339(at), "type": "request",
                  "request": {"id": f"r{number}", "operation": "read", "path": f"p/{number}"}}
        chain.append([record], "", written.append)
    return written


def put(client: Any, named: int, records: list[bytes], prefix: str = PREFIX) -> None:
    stamp = datetime.fromtimestamp(named / NANOS, UTC)
    key = f"{s3keys.evaluate(prefix, stamp)}lambdavault-audit-1-" \
          f"{stamp:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
    client.put_object(Bucket="audit", Key=key, Body=b"".join(records))


@pytest.fixture
def bucket(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket="audit")
    return client


DESTINATION = readback.Destination("audit", PREFIX, slack=120 * SECOND)
WINDOW = readback.Window(T0 - 3600 * SECOND, T0 + 3600 * SECOND)


def test_the_newest_objects_are_read_up_to_the_limit(bucket: Any) -> None:
    records = chain_lines([T0 + n * 100 * SECOND for n in range(5)])
    for n, record in enumerate(records):
        put(bucket, T0 + n * 100 * SECOND, [record])
    lines, extent = readback.read_objects(bucket, [DESTINATION], WINDOW, readback.Limits(objects=2))
    assert [line.raw for line in lines] == [r.rstrip(b"\n") for r in records[:2:-1]]
    assert extent.to_json() == {
        "source": f"s3://audit/{PREFIX}", "objects_read": 2, "objects_skipped": 3,
        "bytes_read": len(records[3]) + len(records[4]), "truncated": True,
        "truncated_reason": "object limit (2) reached",
        # The first object left out was named at T0 + 200 s: complete 120 s later.
        "complete_from": rfc3339(T0 + 320 * SECOND),
    }
    lines, extent = readback.read_objects(bucket, [DESTINATION], WINDOW, readback.Limits())
    assert len(lines) == 5 and not extent.truncated and extent.complete_from == WINDOW.since


def test_a_cut_through_overlapping_deliveries_shows_no_false_gap(bucket: Any) -> None:
    """Two objects delivered in parallel hold alternate records of one chain; a limit that
    reads only the newer one must not report the other's records as deleted."""
    times = [T0 + n * 10 * SECOND for n in range(4)] + [T0 + 400 * SECOND, T0 + 410 * SECOND]
    one, two, three, four, five, six = chain_lines(times)
    put(bucket, T0, [one, three])
    put(bucket, T0 + 10 * SECOND, [two, four])
    put(bucket, T0 + 400 * SECOND, [five, six])
    lines, extent = readback.read_objects(bucket, [DESTINATION], WINDOW, readback.Limits(objects=2))
    assert len(lines) == 4 and extent.skipped == 1
    assert verify.verify(lines, partial=True).all_problems  # seq 3 looks deleted
    checked = readback.checkable(lines, extent.complete_from or 0, WINDOW.until)
    report = verify.verify(checked, partial=True)
    assert report.ok and report.records == 2  # seq 5 and 6, which nothing else can precede


def test_only_the_windows_days_are_listed(bucket: Any) -> None:
    put(bucket, T0 - 2 * 86400 * SECOND, chain_lines([T0 - 2 * 86400 * SECOND]))
    put(bucket, T0, chain_lines([T0]))
    calls: list[str] = []
    bucket.meta.events.register("provide-client-params.s3.ListObjectsV2",
                                lambda params, **_: calls.append(params["Prefix"]))
    window = readback.Window(T0 - 60 * SECOND, T0 + 60 * SECOND)
    lines, extent = readback.read_objects(bucket, [DESTINATION], window, readback.Limits())
    assert len(lines) == 1 and extent.objects == 1
    # The slack reaches back into the day before (T0 is 00:00:30).
    assert calls == ["audit/year=2026/month=03/day=01/", "audit/year=2026/month=02/day=28/"]


def test_unreadable_lines_stay_for_the_check_to_report() -> None:
    lines = [verify.Line("f", 1, b"not json"), *[
        verify.Line("f", n, raw.rstrip(b"\n"))
        for n, raw in enumerate(chain_lines([T0, T0 + 10 * SECOND]), start=2)]]
    assert [line.number for line in readback.checkable(lines, T0 + SECOND, T0 + 60 * SECOND)] \
        == [1, 3]


OTHER = readback.Destination("audit", "other/dt=!{timestamp:yyyy-MM-dd}/", slack=120 * SECOND)


def test_every_destination_is_read_newest_first(bucket: Any) -> None:
    """Streams that deliver to different places are read as one log."""
    records = chain_lines([T0 + n * 100 * SECOND for n in range(4)])
    for n, record in enumerate(records):
        put(bucket, T0 + n * 100 * SECOND, [record], PREFIX if n % 2 else OTHER.prefix)
    both = [DESTINATION, OTHER]
    lines, extent = readback.read_objects(bucket, both, WINDOW, readback.Limits())
    assert [line.raw for line in lines] == [r.rstrip(b"\n") for r in reversed(records)]
    assert extent.source == f"s3://audit/{PREFIX}, s3://audit/{OTHER.prefix}"
    assert verify.verify(lines).ok
    lines, extent = readback.read_objects(bucket, both, WINDOW, readback.Limits(objects=3))
    assert len(lines) == 3 and extent.skipped == 1


def test_streams_delivering_to_one_place_are_listed_once(aws: None) -> None:
    from tests.api.audit_support import create_stream

    boto3.client("s3", region_name=REGION).create_bucket(Bucket="lambdavault-audit")
    for name in ("one", "two"):
        create_stream(name)
    firehose = boto3.client("firehose", region_name=REGION)
    [place] = readback.stream_destinations(firehose, ["one", "two"])
    assert (place.bucket, place.prefix) == ("lambdavault-audit", PREFIX)

"""Read audit records back and check every chain: edits, deletions, reorderings, gaps.

Records are checked per chain (one container's records on one device, see
:mod:`chalicelib.audit.chain`), ordered by sequence number: S3 object names only order
objects to the second, and containers write concurrently. Within one file or object the
reading order must follow the sequence too. Exact duplicates (Firehose delivers at least
once) are counted, not failed. A broken link between ``seq n`` and ``seq n+1`` names
``seq n`` as modified, unless the next link is broken too (then ``seq n+1`` is the odd one:
its link was changed or it was moved).
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.audit.chain import CHAIN_ID, CHAIN_PREV, CHAIN_SEQ, GENESIS, line_digest


@dataclass(frozen=True, slots=True)
class Line:
    source: str  # a file path or s3://bucket/key
    number: int  # 1-based within the source
    raw: bytes

    @property
    def where(self) -> str:
        return f"{self.source}:{self.number}"


@dataclass(frozen=True, slots=True)
class _Record:
    line: Line
    seq: int
    prev: str
    digest: str


@dataclass(frozen=True, slots=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(slots=True)
class ChainReport:
    id: str
    records: int = 0
    first: int = 0
    last: int = 0
    duplicates: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass(slots=True)
class Report:
    records: int = 0
    chains: list[ChainReport] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # records outside any chain

    @property
    def all_problems(self) -> list[Problem]:
        return [*self.problems, *(p for chain in self.chains for p in chain.problems)]

    @property
    def ok(self) -> bool:
        return self.records > 0 and not self.all_problems

    def to_json(self) -> dict[str, Any]:
        chains = [{"id": chain.id, "records": chain.records, "first_seq": chain.first,
                   "last_seq": chain.last, "duplicates": chain.duplicates,
                   "problems": len(chain.problems)} for chain in self.chains]
        problems = [{"where": p.where, "message": p.message} for p in self.all_problems]
        return {"records": self.records, "chains": chains, "problems": problems}


def read_file(path: str) -> Iterator[Line]:
    with Path(path).open("rb") as handle:
        yield from split_lines(path, handle.read())


_GZIP_MAGIC = b"\x1f\x8b"


def read_bucket(client: Any, bucket: str, prefix: str = "") -> Iterator[Line]:
    """Every record under ``prefix``, object by object (keys in S3's listing order)."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            yield from split_lines(object_source(bucket, item["Key"]),
                                   object_body(client, bucket, item["Key"]))


def object_source(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def object_body(client: Any, bucket: str, key: str) -> bytes:
    """An audit object's content, uncompressed."""
    body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    if body[:2] == _GZIP_MAGIC:  # the deployed stream compresses what it delivers
        body = gzip.decompress(body)
    return body


def split_lines(source: str, content: bytes, first: int = 1) -> Iterator[Line]:
    """The non-blank lines of ``content``, numbered from ``first``."""
    for number, raw in enumerate(content.split(b"\n"), start=first):
        if raw.strip():
            yield Line(source, number, raw)


def _parse(raw: bytes) -> dict[str, Any] | None:
    """The record's JSON object, after any ``prefix`` the device wrote before it."""
    start = raw.find(b"{")
    while start != -1:
        try:
            parsed = json.loads(raw[start:])
        except ValueError:
            start = raw.find(b"{", start + 1)
            continue
        return parsed if isinstance(parsed, dict) else None
    return None


def verify(lines: Iterable[Line], *, partial: bool = False) -> Report:
    """Check every chain in ``lines``; ``partial`` accepts chains that start after seq 1
    (a date-limited prefix cuts chains that began the day before)."""
    report = Report()
    chains: dict[str, list[_Record]] = {}
    for line in lines:
        report.records += 1
        record = _parse(line.raw)
        if record is None:
            report.problems.append(Problem(line.where, "not a JSON audit record (edited?)"))
            continue
        chain, seq, prev = record.get(CHAIN_ID), record.get(CHAIN_SEQ), record.get(CHAIN_PREV)
        if not isinstance(chain, str) or type(seq) is not int or not isinstance(prev, str):
            report.problems.append(Problem(line.where, "record has no chain fields (edited?)"))
            continue
        chains.setdefault(chain, []).append(_Record(line, seq, prev, line_digest(line.raw)))
    report.chains = [_check(chain, records, partial) for chain, records in sorted(chains.items())]
    return report


def _check(chain: str, records: list[_Record], partial: bool) -> ChainReport:
    result = ChainReport(chain, records=len(records))
    result.problems.extend(_reading_order(records))
    by_seq: dict[int, _Record] = {}
    for record in records:
        seen = by_seq.setdefault(record.seq, record)
        if seen is record:
            continue
        if seen.digest == record.digest:
            result.duplicates += 1
        else:
            message = f"seq {record.seq} is also claimed by a different record at {seen.line.where}"
            result.problems.append(Problem(record.line.where, message))
    seqs = sorted(by_seq)
    result.first, result.last = seqs[0], seqs[-1]
    first = by_seq[seqs[0]]
    if seqs[0] != 1 and not partial:
        message = f"records seq 1-{seqs[0] - 1} of chain {chain} are missing (deleted?)"
        result.problems.append(Problem(first.line.where, message))
    if seqs[0] == 1 and first.prev != GENESIS:
        message = "seq 1 was modified: it has a predecessor"
        result.problems.append(Problem(first.line.where, message))
    result.problems.extend(_links(by_seq, seqs))
    return result


def _reading_order(records: list[_Record]) -> list[Problem]:
    """Within one file or object, records of a chain must appear in sequence order."""
    problems, latest = [], {}
    for record in records:
        before = latest.get(record.line.source)
        if before is not None and record.seq <= before.seq and record.digest != before.digest:
            message = (f"seq {record.seq} comes after seq {before.seq} "
                       f"({before.line.where}): reordered")
            problems.append(Problem(record.line.where, message))
        if before is None or record.seq > before.seq:
            latest[record.line.source] = record
    return problems


def _links(by_seq: dict[int, _Record], seqs: list[int]) -> list[Problem]:
    problems, broken = [], set()
    for low, high in itertools.pairwise(seqs):
        if high != low + 1:
            gap = f"{low + 1}" if high == low + 2 else f"{low + 1}-{high - 1}"
            message = f"records seq {gap} are missing (deleted?) after seq {low} " \
                      f"({by_seq[low].line.where})"
            problems.append(Problem(by_seq[high].line.where, message))
        elif by_seq[high].prev != by_seq[low].digest:
            broken.add(low)
    for seq in sorted({low + 1 if low + 1 in broken else low for low in broken}):
        message = f"seq {seq} was modified or replaced: its SHA-256 does not match the hash " \
                  f"links around it"
        problems.append(Problem(by_seq[seq].line.where, message))
    return problems


def render(report: Report) -> str:
    """The human report: problems first, then one line per chain, then the verdict."""
    lines = [str(problem) for problem in report.all_problems]
    for chain in report.chains:
        state = "ok" if not chain.problems else f"{len(chain.problems)} problem(s)"
        extra = f", {chain.duplicates} duplicate deliveries" if chain.duplicates else ""
        lines.append(f"chain {chain.id}: {chain.records} records, "
                     f"seq {chain.first}-{chain.last}{extra}: {state}")
    lines.append(verdict(report))
    return "\n".join(lines)


def verdict(report: Report) -> str:
    """The report's last line: OK or FAILED, and why."""
    if report.records == 0:
        return "FAILED: no audit records found"
    if report.ok:
        return f"OK: {report.records} records in {len(report.chains)} chains verified"
    return f"FAILED: {len(report.all_problems)} problem(s) in {report.records} records"

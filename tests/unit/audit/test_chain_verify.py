"""Hash chains as devices write them, and what `audit verify` finds when they are tampered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.audit.chain import CHAIN_ID, CHAIN_PREV, CHAIN_SEQ, Chain, line_digest
from chalicelib.audit.verify import Line, read_file, render, verify


def _write_chain(path: Path, count: int, prefix: str = "", device: str = "dev") -> Chain:
    chain = Chain(f"c/{device}")
    with path.open("ab") as sink:
        for n in range(count):
            chain.append([{"type": "request", "n": n}], prefix, sink.write)
    return chain


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _save(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_records_carry_chain_id_sequence_and_previous_hash(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    chain = _write_chain(log, 3, prefix="PFX")
    raw = _lines(log)
    records = [json.loads(line[3:]) for line in raw]
    assert [r[CHAIN_SEQ] for r in records] == [1, 2, 3]
    assert {r[CHAIN_ID] for r in records} == {chain.id}
    assert records[0][CHAIN_PREV] == ""
    assert records[1][CHAIN_PREV] == line_digest(raw[0])  # the prefix is part of the line
    assert list(records[0])[:2] == ["type", "n"]  # Vault's fields first, untouched


def test_a_failed_write_does_not_advance_the_chain(tmp_path: Path) -> None:
    chain = Chain("c/dev")
    written: list[bytes] = []

    def flaky(data: bytes) -> None:
        if len(written) == 1 and not getattr(flaky, "failed", False):
            flaky.failed = True  # type: ignore[attr-defined]
            raise OSError("disk full")
        written.append(data)

    chain.append([{"n": 0}], "", flaky)
    with pytest.raises(OSError):
        chain.append([{"n": 1}, {"n": 2}], "", flaky)
    chain.append([{"n": 3}, {"n": 4}], "", flaky)  # one write: two linked lines
    lines = b"".join(written).splitlines()
    assert [json.loads(line)[CHAIN_SEQ] for line in lines] == [1, 2, 3]
    assert [json.loads(line)["n"] for line in lines] == [0, 3, 4]
    assert verify(Line("x", i, line) for i, line in enumerate(lines)).ok


@pytest.mark.parametrize("taken", [True, False])
def test_a_write_of_unknown_outcome_starts_a_new_chain(taken: bool) -> None:
    """The destination may or may not hold the lines whose answer was lost: either way the
    log verifies, where reusing their numbers would have put two records under one."""
    from chalicelib.audit.devices import DeviceError

    chain = Chain("c/dev")
    written: list[bytes] = []

    def lost_answer(data: bytes) -> None:
        if taken:
            written.append(data)
        raise DeviceError("PutRecordBatch: ReadTimeoutError", uncertain=True)

    chain.append([{"n": 0}], "", written.append)
    with pytest.raises(DeviceError):
        chain.append([{"n": 1}, {"n": 2}], "", lost_answer)
    chain.append([{"n": 3}], "", written.append)
    records = [json.loads(line) for line in b"".join(written).splitlines()]
    assert chain.id == "c/dev.1"
    assert [(r[CHAIN_ID], r[CHAIN_SEQ], r["n"]) for r in records] == [
        ("c/dev", 1, 0), *([("c/dev", 2, 1), ("c/dev", 3, 2)] if taken else []),
        ("c/dev.1", 1, 3),
    ]  # fmt: skip
    lines = b"".join(written).splitlines()
    assert verify(Line("x", i, line) for i, line in enumerate(lines)).ok


def test_an_intact_log_verifies(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 5, device="one")
    _write_chain(log, 4, device="two")  # a second chain in the same file
    report = verify(read_file(str(log)))
    assert report.ok, render(report)
    assert [c.records for c in report.chains] == [5, 4] or [c.records for c in report.chains] == [
        4, 5]
    assert render(report).endswith("OK: 9 records in 2 chains verified")


def test_an_edited_record_is_named(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 5)
    lines = _lines(log)
    lines[2] = lines[2].replace(b'"n":2', b'"n":7')
    _save(log, lines)
    report = verify(read_file(str(log)))
    assert not report.ok
    assert [str(p) for p in report.all_problems] == [
        f"{log}:3: seq 3 was modified or replaced: its SHA-256 does not match the hash links "
        "around it"
    ]


def test_a_deleted_record_is_a_gap(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 5)
    lines = _lines(log)
    del lines[1]
    _save(log, lines)
    problems = [str(p) for p in verify(read_file(str(log))).all_problems]
    assert problems == [f"{log}:2: records seq 2 are missing (deleted?) after seq 1 ({log}:1)"]


def test_deleting_the_start_of_a_chain_is_found_unless_partial(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 4)
    _save(log, _lines(log)[2:])
    problems = [p.message for p in verify(read_file(str(log))).all_problems]
    assert len(problems) == 1 and "records seq 1-2 of chain" in problems[0]
    assert verify(read_file(str(log)), partial=True).ok


def test_swapped_lines_are_reordered(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 4)
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _save(log, lines)
    problems = [str(p) for p in verify(read_file(str(log))).all_problems]
    assert problems == [f"{log}:3: seq 2 comes after seq 3 ({log}:2): reordered"]


def test_swapped_sequence_numbers_name_both_records(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 5)
    lines = _lines(log)
    lines[1] = lines[1].replace(b'"chain_seq":2', b'"chain_seq":3')
    lines[2] = lines[2].replace(b'"chain_seq":3', b'"chain_seq":2')
    lines[1], lines[2] = lines[2], lines[1]  # keep the file in "order"
    _save(log, lines)
    problems = [p.message for p in verify(read_file(str(log))).all_problems]
    assert problems == [
        "seq 2 was modified or replaced: its SHA-256 does not match the hash links around it",
        "seq 3 was modified or replaced: its SHA-256 does not match the hash links around it",
    ]


def test_duplicates_are_counted_and_conflicts_fail(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    _write_chain(log, 3)
    lines = _lines(log)
    report = verify(Line("s", i, line) for i, line in enumerate([*lines, lines[2]], 1))
    assert report.ok and report.chains[0].duplicates == 1
    forged = lines[2].replace(b'"n":2', b'"n":9')
    report = verify(Line("s", i, line) for i, line in enumerate([*lines, forged], 1))
    assert not report.ok
    assert "seq 3 is also claimed by a different record at s:3" in render(report)


def test_garbage_and_records_without_chain_fields_fail(tmp_path: Path) -> None:
    report = verify([Line("f", 1, b"not json"), Line("f", 2, b'{"type":"request"}')])
    assert [p.message for p in report.all_problems] == [
        "not a JSON audit record (edited?)", "record has no chain fields (edited?)"]
    assert not verify([]).ok and "no audit records found" in render(verify([]))

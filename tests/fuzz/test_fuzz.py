"""`make test`'s short fuzzing run: a fixed seed, under a minute, failing on any finding
(a 5xx not allowed in tests/fuzz/rules.py, a traceback, a dropped connection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.run import SOURCES, fuzz

SEED = 19
SECONDS = 25


@pytest.mark.fuzz
def test_fuzzing_finds_nothing(tmp_path: Path) -> None:
    summary = fuzz(SEED, SECONDS, SOURCES, tmp_path, say=lambda line: None)
    assert summary.requests > 100, summary.text()
    assert not summary.findings, summary.text()

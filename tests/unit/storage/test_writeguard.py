"""An operation declared to change nothing must not write (chalicelib/storage/writeguard)."""

from __future__ import annotations

import pytest

from chalicelib.settings import Settings
from chalicelib.storage import writeguard


def test_writes_outside_an_answer_only_operation_pass() -> None:
    writeguard.check_write("logical/x")


def test_a_write_under_an_answer_only_operation_raises_in_strict_mode() -> None:
    with writeguard.answering_only("kv/data/(?P<path>.+)"), pytest.raises(
        writeguard.UndeclaredWrite, match="declare side_effects"
    ):
        writeguard.check_write("logical/x")
    writeguard.check_write("logical/x")  # the mark ends with the operation


def test_outside_strict_mode_it_is_logged(monkeypatch) -> None:
    monkeypatch.delenv("LAMBDAVAULT_STRICT_SIDE_EFFECTS")
    monkeypatch.setattr(writeguard, "settings", Settings.from_environ)  # read now, not cached
    logged: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        writeguard.logger, "error", lambda message, extra: logged.append((message, extra))
    )
    with writeguard.answering_only("sys/mounts"):
        writeguard.check_write("core/mounts")
    assert logged == [
        ("undeclared side effect: a read wrote to storage", {"path": "sys/mounts"})
    ]

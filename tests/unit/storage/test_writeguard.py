"""An operation declared to change nothing must not write (chalicelib/storage/writeguard)."""

from __future__ import annotations

import pytest

from chalicelib.settings import Settings
from chalicelib.storage import writeguard


def _unexpected() -> None:
    raise AssertionError("no request record is sent in strict mode")


def test_writes_outside_an_answer_only_operation_pass() -> None:
    writeguard.check_write("logical/x")


def test_a_write_under_an_answer_only_operation_raises_in_strict_mode() -> None:
    with writeguard.request_record_waiting("kv/data/(?P<path>.+)", _unexpected), pytest.raises(
        writeguard.UndeclaredWrite, match="declare side_effects"
    ):
        writeguard.check_write("logical/x")
    writeguard.check_write("logical/x")  # the mark ends with the operation


def test_outside_strict_mode_it_is_logged_and_the_request_record_goes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LAMBDAVAULT_STRICT_SIDE_EFFECTS")
    monkeypatch.setattr(writeguard, "settings", Settings.from_environ)  # read now, not cached
    logged: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        writeguard.logger, "error", lambda message, extra: logged.append((message, extra))
    )
    sent: list[str] = []
    with writeguard.request_record_waiting("sys/mounts", lambda: sent.append("request")):
        writeguard.check_write("core/mounts")
        writeguard.check_write("core/other")  # already after the request record
        with writeguard.upkeep():
            writeguard.check_write("core/upgrade")
    assert sent == ["request"]
    assert logged == [("undeclared side effect: an operation declared to change nothing "
                       "wrote to storage", {"path": "sys/mounts"})]

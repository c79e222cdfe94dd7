"""Writes made by an operation declared to change nothing.

An operation that only answers -- a READ or LIST whose path declares no ``side_effects``,
or an UPDATE whose path declares that it ``computes`` (transit's encrypt of an existing
key, a token lookup) -- is audited after it runs: its request and response records leave
together, in one call (core/pipeline). A storage write under it would be a change whose
request record was not on the audit devices first, as Vault orders them: its path's
declaration is wrong. The pipeline marks such operations while they run, and every write
through the barrier checks the mark. With ``LAMBDAVAULT_STRICT_SIDE_EFFECTS=1`` (the test
suite) the write raises, so a path declared wrongly fails its tests; in production it is
logged as an error, and the waiting request record is sent before the write, once, so the
change still follows its request record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

from chalicelib.observability import logger
from chalicelib.settings import settings


class _Waiting(NamedTuple):
    path: str  # the operation's path pattern
    before_write: Callable[[], None]  # sends the waiting request record


_WAITING: ContextVar[_Waiting | None] = ContextVar("request_record_waiting", default=None)


class UndeclaredWrite(AssertionError):
    """A write under an operation whose path declares no side effects (strict mode)."""


@contextmanager
def request_record_waiting(path: str, before_write: Callable[[], None]) -> Iterator[None]:
    """While open, a storage write is an undeclared side effect of ``path`` (a pattern):
    ``before_write`` sends the request record before the first one."""
    token = _WAITING.set(_Waiting(path, before_write))
    try:
        yield
    finally:
        _WAITING.reset(token)


@contextmanager
def upkeep() -> Iterator[None]:
    """Writes that keep storage in shape on the way (a mount's upgrade finished by the next
    request, as Vault finishes it in the background), not the operation's own change."""
    token = _WAITING.set(None)
    try:
        yield
    finally:
        _WAITING.reset(token)


def check_write(key: str) -> None:
    """Called by every barrier write."""
    waiting = _WAITING.get()
    if waiting is None:
        return
    if settings().strict_side_effects:
        raise UndeclaredWrite(f"{waiting.path} wrote {key!r}: declare side_effects on its Path")
    logger.error("undeclared side effect: an operation declared to change nothing wrote "
                 "to storage", extra={"path": waiting.path})
    _WAITING.set(None)  # once: every later write follows the request record too
    waiting.before_write()

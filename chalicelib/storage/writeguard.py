"""Writes made by an operation declared to change nothing.

An operation that only answers (a READ or LIST whose path declares no ``side_effects``) is
audited after it runs: its request and response records leave together, in one call
(core/pipeline). A storage write under it would be a change whose request record was not
on the audit devices first, as Vault orders them: its path must declare ``side_effects``.
The pipeline marks such operations while they run, and every write through the barrier
checks the mark. In production an undeclared write is logged as an error (the request is
served and audited all the same); with ``LAMBDAVAULT_STRICT_SIDE_EFFECTS=1`` (the test
suite) it raises, so a path that forgets its declaration fails its tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from chalicelib.observability import logger
from chalicelib.settings import settings

_ANSWERING: ContextVar[str | None] = ContextVar("answering_only", default=None)


class UndeclaredWrite(AssertionError):
    """A write under an operation whose path declares no side effects (strict mode)."""


@contextmanager
def answering_only(path: str) -> Iterator[None]:
    """While open, storage writes are undeclared side effects of ``path`` (a pattern)."""
    token = _ANSWERING.set(path)
    try:
        yield
    finally:
        _ANSWERING.reset(token)


@contextmanager
def upkeep() -> Iterator[None]:
    """Writes that keep storage in shape on the way (a mount's upgrade finished by the next
    request, as Vault finishes it in the background), not the operation's own change."""
    token = _ANSWERING.set(None)
    try:
        yield
    finally:
        _ANSWERING.reset(token)


def check_write(key: str) -> None:
    """Called by every barrier write."""
    path = _ANSWERING.get()
    if path is None:
        return
    if settings().strict_side_effects:
        raise UndeclaredWrite(f"{path} wrote {key!r}: declare side_effects on its Path")
    logger.error("undeclared side effect: a read wrote to storage", extra={"path": path})

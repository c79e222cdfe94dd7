"""This container's barrier encryptions, and when it adds them to the cluster's count.

OpenBao rotates the barrier key after a number of encryptions (AES-GCM with random nonces
is safe for about 2^32 messages per key). Here every Lambda container seals values, so
each one keeps a local tally of its encryptions under the active term and adds it to a
shared counter (one DynamoDB ``ADD``, `Physical.add_encryptions`) only when the tally
reaches FLUSH_OPERATIONS or FLUSH_SECONDS have passed since its last flush, checked at
its next encryption: never a write per request. What a container has not flushed when
it is recycled is lost to the count, at most FLUSH_OPERATIONS - 1 encryptions each: the
count is an estimate, as OpenBao's own is across nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.observability import logger

FLUSH_OPERATIONS = 1000
FLUSH_SECONDS = 60.0


class EncryptionTally:
    """Encryptions this container made under `term` that the shared count lacks.

    `flush(term, count)` adds them to the shared count (and may rotate the keyring); a
    flush that fails keeps the tally for the next one and never fails the write that
    triggered it: that write is already stored. After a failure the next attempt waits
    FLUSH_SECONDS whatever the count: a tally still past FLUSH_OPERATIONS would otherwise
    add a failing call to every write while DynamoDB throttles or is down.
    """

    __slots__ = ("_clock", "_failed", "_flush", "_flushed_at", "pending", "term")

    def __init__(
        self, flush: Callable[[int, int], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._flush = flush
        self._clock = clock
        self._flushed_at = clock()
        self._failed = False
        self.term = 0
        self.pending = 0

    def add(self, term: int, count: int = 1) -> None:
        if term != self.term:
            # A rotation happened: what the old term still lacks no longer matters.
            self.term, self.pending = term, 0
        self.pending += count
        counted = self.pending >= FLUSH_OPERATIONS and not self._failed
        if counted or self._clock() - self._flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, 0
        self._flushed_at = self._clock()
        if not pending:
            return
        try:
            self._flush(self.term, pending)
        except Exception:
            logger.exception("could not add this container's encryptions to the shared count")
            self.pending += pending
            self._failed = True
        else:
            self._failed = False

    def unflushed(self, term: int) -> int:
        """What this container has not yet added to `term`'s shared count."""
        return self.pending if term == self.term else 0

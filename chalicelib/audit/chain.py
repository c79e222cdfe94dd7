"""Tamper evidence: every record names its chain, its place in it and its predecessor.

Many Lambda containers write at once, so one global sequence would need coordination (a
DynamoDB counter per record). Instead each container keeps one chain per device: the
chain id is ``<container id>/<device uuid>`` (the container id is random, made when the
container first audits, and logged), the sequence counts that chain's
records from 1, and ``chain_prev_sha256`` is the SHA-256 of the previous record's line as
written (prefix included, newline excluded). One writer per chain, no coordination;
``lambdavault audit verify`` checks each chain on its own.

A chain proves order and integrity up to its last record: editing or deleting the tail of
a chain (or whole chains) needs protection at the destination (S3 Object Lock, a
write-only bucket policy), which the chain cannot provide by itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib.audit.record import to_json
from chalicelib.observability import logger

CHAIN_ID = "chain_id"
CHAIN_SEQ = "chain_seq"
CHAIN_PREV = "chain_prev_sha256"
GENESIS = ""  # the predecessor of a chain's first record


def line_digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


class Chain:
    """The records one container writes to one device, linked by hash."""

    def __init__(self, chain_id: str) -> None:
        self.id = self._first_id = chain_id
        self._restarts = 0
        self.seq = 0
        self.prev = GENESIS
        # Lambda serves one request at a time, but the dev server and tests use threads.
        self._lock = threading.Lock()

    def append(self, entries: Sequence[Mapping[str, Any]], prefix: str,
               write: Callable[[bytes], None]) -> None:
        """Write ``entries`` as the chain's next lines, in one ``write`` (all or nothing:
        a request's request and response records together); the chain advances only if it
        was written. A refused write leaves no gap: the next record reuses the numbers. A
        write whose outcome is unknown (an exception with a true ``uncertain``: the answer
        was lost) may have been taken: reusing its numbers could put two different records
        under one number, which verify reports as tampering, so a new chain starts (see
        :meth:`_restart`)."""
        with self._lock:
            lines, prev = [], self.prev
            for offset, entry in enumerate(entries, start=1):
                linked = {**entry, CHAIN_ID: self.id, CHAIN_SEQ: self.seq + offset,
                          CHAIN_PREV: prev}
                line = (prefix + to_json(linked)).encode()
                prev = line_digest(line)
                lines.append(line + b"\n")
            try:
                write(b"".join(lines))
            except Exception as error:
                if getattr(error, "uncertain", False):
                    self._restart()
                raise
            self.seq += len(lines)
            self.prev = prev

    def _restart(self) -> None:
        """Continue as a new chain (``<first id>.<n>``, from sequence 1): the old one ends
        with its last record taken, or with the lines whose fate is unknown, and a chain
        proves nothing about its tail anyway (see the module docstring)."""
        self._restarts += 1
        self.id = f"{self._first_id}.{self._restarts}"
        self.seq, self.prev = 0, GENESIS
        logger.warning("audit chain restarted after an unknown outcome", extra={"chain": self.id})

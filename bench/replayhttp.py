"""A kept-alive HTTP/1.1 server answering every request with recorded answers, in order and
round again: an AWS endpoint that costs the caller nothing but the exchange itself.

    python -m bench.replayhttp PORT ANSWERS   (ANSWERS: a pickle of [(status, headers, body)])

moto takes milliseconds of Python per call on the same two cores as the measured process;
what that leaves in the caches shows up in the caller's CPU (bench/RESULTS.md, core). Here
each request is answered in microseconds (asyncio, the answer's bytes built once), so the
caller's CPU is its SDK, its HTTP exchange and its own code, as with DynamoDB running
elsewhere. Requests are framed by Content-Length (what AWS SDKs send).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pickle
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import LOOPBACK, ROOT, free_port, wait_until

Recorded = tuple[int, dict[str, str], bytes]  # status, headers, body

_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")
_HOP = frozenset({"content-length", "connection", "transfer-encoding", "date"})


@contextlib.contextmanager
def replaying(answers: list[Recorded]) -> Iterator[str]:
    """A replayer in its own process (none of its CPU is the caller's); yields its URL."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "answers.pickle")
        path.write_bytes(pickle.dumps(answers))
        port = free_port()
        command = [sys.executable, "-m", "bench.replayhttp", str(port), str(path)]
        with subprocess.Popen(command, cwd=ROOT) as server:
            try:
                wait_until(lambda: _listening(port), timeout=30, interval=0.05)
                yield f"http://{LOOPBACK}:{port}/"
            finally:
                server.terminate()


def _listening(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), 1).close()
    except OSError:
        return False
    return True


def raw_answer(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} Recorded"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() not in _HOP]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Answering(asyncio.Protocol):
    def __init__(self, answers: Iterator[bytes]) -> None:
        self._answers = answers
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._request_end()) is not None:
            self._buffer = self._buffer[end:]
            assert self._transport is not None
            self._transport.write(next(self._answers))

    def _request_end(self) -> int | None:
        head = self._buffer.find(b"\r\n\r\n")
        if head < 0:
            return None
        length = _LENGTH.search(self._buffer, 0, head + 2)
        end = head + 4 + (int(length.group(1)) if length else 0)
        return end if len(self._buffer) >= end else None


async def _serve(port: int, answers: Iterator[bytes]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Answering(answers), LOOPBACK, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    recorded = pickle.loads(path.read_bytes())
    answers = itertools.cycle([raw_answer(*answer) for answer in recorded])
    asyncio.run(_serve(port, answers))


if __name__ == "__main__":
    main()

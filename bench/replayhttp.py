"""A kept-alive HTTP/1.1 server answering every request with recorded answers: an AWS
endpoint that costs the caller nothing but the exchange itself.

    python -m bench.replayhttp PORT ANSWERS
    (ANSWERS: a pickle of [(X-Amz-Target, status, headers, body)])

The answers recorded for one operation (``X-Amz-Target``) are given in order and round again;
a target with none recorded gets those recorded for "" if any, else ``200 {}`` (a call the
recording did not see, such as a periodic counter flush, must not shift the others).

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.common import LOOPBACK, ROOT, free_port, wait_until

Recorded = tuple[str, int, dict[str, str], bytes]  # X-Amz-Target, status, headers, body

_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")
_TARGET = re.compile(rb"(?im)^x-amz-target:\s*(\S+)\s*$")
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


@contextlib.contextmanager
def answered_over_http(call: Callable[[], int]) -> Iterator[None]:
    """While open, every lean client's calls go to a replayer answering with what one
    ``call()`` received, in order. The runtime rereads no cluster state meanwhile, so every
    request makes the recorded calls."""
    from chalicelib.core import leanaws, leanhttp
    from chalicelib.core.runtime import runtime

    recorded: list[Recorded] = []
    post = leanhttp.Endpoint.post

    def recording(endpoint: leanhttp.Endpoint, headers: dict[str, str], body: bytes) -> Any:
        answer = post(endpoint, headers, body)
        target = headers.get("X-Amz-Target", "")
        recorded.append((target, answer.status, answer.headers, answer.body))
        return answer

    rt = runtime()
    ttl, rt._state_ttl = rt._state_ttl, float("inf")
    leanhttp.Endpoint.post = recording  # type: ignore[method-assign]
    try:
        call()
    finally:
        leanhttp.Endpoint.post = post  # type: ignore[method-assign]
    clients = list(leanaws.MADE)  # those the recorded call used included
    kept = [client._endpoint for client in clients]
    try:
        with replaying(recorded) as url:
            for client, endpoint in zip(clients, kept, strict=True):
                client._endpoint = leanhttp.Endpoint(
                    url, connect_timeout=5, read_timeout=30, keep=endpoint._keep
                )
            call()  # the first connection is made outside the measured round
            yield
    finally:
        for client, endpoint in zip(clients, kept, strict=True):
            client._endpoint.close()
            client._endpoint = endpoint
        rt._state_ttl = ttl


def raw_answer(status: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} Recorded"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() not in _HOP]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


Answers = dict[bytes, Iterator[bytes]]  # X-Amz-Target -> raw answers, round again


class _Answering(asyncio.Protocol):
    def __init__(self, answers: Answers) -> None:
        self._answers = answers
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (framed := self._request()) is not None:
            end, target = framed
            self._buffer = self._buffer[end:]
            answers = self._answers.get(target) or self._answers.get(b"") or _EMPTY
            assert self._transport is not None
            self._transport.write(next(answers))

    def _request(self) -> tuple[int, bytes] | None:
        """(where the first whole request ends, its X-Amz-Target), or None for more."""
        head = self._buffer.find(b"\r\n\r\n")
        if head < 0:
            return None
        length = _LENGTH.search(self._buffer, 0, head + 2)
        end = head + 4 + (int(length.group(1)) if length else 0)
        if len(self._buffer) < end:
            return None
        target = _TARGET.search(self._buffer, 0, head + 2)
        return end, target.group(1) if target else b""


_EMPTY = itertools.repeat(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


async def _serve(port: int, answers: Answers) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Answering(answers), LOOPBACK, port)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    by_target: dict[bytes, list[bytes]] = {}
    for target, *answer in pickle.loads(path.read_bytes()):
        by_target.setdefault(target.encode(), []).append(raw_answer(*answer))
    answers = {target: itertools.cycle(raws) for target, raws in by_target.items()}
    asyncio.run(_serve(port, answers))


if __name__ == "__main__":
    main()

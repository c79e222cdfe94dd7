"""Count and time every AWS API call at its lowest common points.

Every call ends in one of two methods: ``botocore.client.BaseClient._make_api_call`` (boto3
clients such as KMS; pynamodb 6's ``Connection._make_api_call`` delegates there) or
``chalicelib.core.leanaws.LeanClient.call`` (the lean path of the hot DynamoDB and Firehose
operations, which never enters the former). One class-level wrapper on each therefore sees
every call; :meth:`ApiCallMeter.counting_pynamodb` counts at the storage layer's one DynamoDB
entry point (``DynamoDBPhysical._call``) too, so a run can prove the two agree.

The wrapper also measures the calling thread's CPU spent inside those methods (serialisation,
signing, HTTP, parsing; waiting for the network costs no CPU), so that
"our CPU" = thread CPU - CPU inside the AWS client code.

Replay mode answers each call with a response recorded earlier instead of calling AWS, so our
code can be profiled with no AWS client code at all.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

Send = Callable[[], dict[str, Any]]


class ApiCallMeter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.cpu = 0.0  # thread CPU seconds inside AWS client calls, summed over threads
        self.wall = 0.0  # wall seconds inside AWS client calls (network waits included)
        self.pynamodb_calls = 0
        self._recording: list[tuple[str, bytes]] | None = None
        self._replay: list[tuple[str, bytes]] | None = None
        self._replay_index = 0
        self._replay_wait = 0.0

    def install(self) -> ApiCallMeter:
        from botocore.client import BaseClient

        from chalicelib.core.leanaws import LeanClient

        self._wrap(BaseClient, "_make_api_call", lambda c: c.meta.service_model.service_name)
        self._wrap(LeanClient, "call", lambda c: c.service_name)
        return self

    def _wrap(self, cls: type, method: str, service_of: Callable[[Any], str]) -> None:
        original = getattr(cls, method)
        meter = self

        def timed(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started, wall_started = time.thread_time(), time.perf_counter()
            try:
                send = lambda: original(client, operation, params)  # noqa: E731
                return meter._call(service_of(client), operation, send)
            finally:
                meter.cpu += time.thread_time() - started
                meter.wall += time.perf_counter() - wall_started

        setattr(cls, method, timed)

    @contextlib.contextmanager
    def counting_pynamodb(self) -> Iterator[None]:
        """Also count at the storage layer's one DynamoDB entry point meanwhile,
        ``DynamoDBPhysical._call`` (to check that no DynamoDB call bypasses the meter; the
        name is from when pynamodb made every call). Only while counting calls: in CPU
        rounds the extra wrapper would be counted as the server's CPU."""
        from chalicelib.storage.dynamodb import DynamoDBPhysical

        original = DynamoDBPhysical._call
        meter = self

        def _call(physical: Any, operation: str, params: dict[str, Any]) -> Any:
            meter.pynamodb_calls += 1
            return original(physical, operation, params)

        DynamoDBPhysical._call = _call  # type: ignore[method-assign]
        try:
            yield
        finally:
            DynamoDBPhysical._call = original  # type: ignore[method-assign]

    def _call(self, service: str, operation: str, send: Send) -> Any:
        self.calls[f"{service}:{operation}"] += 1
        if self._replay is not None:
            return self._replayed(operation)
        response = send()
        if self._recording is not None:
            self._recording.append((operation, pickle.dumps(response)))
        return response

    def snapshot(self) -> tuple[Counter[str], float]:
        return Counter(self.calls), self.cpu

    # --- record and replay ------------------------------------------------------------

    def record(self) -> None:
        """Keep every response from now on, in order, for :meth:`replay`."""
        self._recording = []

    def replay(self, wait: float = 0.0) -> None:
        """Answer calls, cyclically, with the responses recorded since :meth:`record`, each
        after sleeping ``wait`` seconds (an idle round trip: no CPU, cold caches after)."""
        assert self._recording, "nothing recorded"
        self._replay, self._recording = self._recording, None
        self._replay_index = 0
        self._replay_wait = wait

    def live(self) -> None:
        self._replay = self._recording = None

    def _replayed(self, operation: str) -> Any:
        assert self._replay is not None
        expected, blob = self._replay[self._replay_index]
        self._replay_index = (self._replay_index + 1) % len(self._replay)
        if expected != operation:
            raise RuntimeError(f"replay out of step: {operation} where {expected} was recorded")
        if self._replay_wait:
            time.sleep(self._replay_wait)
        return pickle.loads(blob)

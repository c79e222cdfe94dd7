"""Count and time every AWS API call at botocore's lowest common point.

Both boto3 clients (KMS) and pynamodb (DynamoDB) end in
``botocore.client.BaseClient._make_api_call``: pynamodb 6's
``Connection._make_api_call`` delegates to ``self.client._make_api_call``. One class-level
wrapper therefore sees every call; :meth:`ApiCallMeter.counting_pynamodb` counts at pynamodb's
level too so a run can prove the two agree.

The wrapper also measures the calling thread's CPU spent inside botocore (serialisation,
signing, HTTP, parsing; waiting for the network costs no CPU), so that
"our CPU" = thread CPU - CPU inside botocore.

Replay mode answers each call with a response recorded earlier instead of calling botocore,
so our code can be profiled with no AWS client code at all.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

ApiCall = Callable[[Any, str, dict[str, Any]], dict[str, Any]]


class ApiCallMeter:
    def __init__(self) -> None:
        from botocore.client import BaseClient

        self._client_class = BaseClient
        self._original: ApiCall = BaseClient._make_api_call
        self._backend: ApiCall = self._original
        self.calls: Counter[str] = Counter()
        self.cpu = 0.0  # thread CPU seconds inside _make_api_call, summed over threads
        self.wall = 0.0  # wall seconds inside _make_api_call (network waits included)
        self.pynamodb_calls = 0
        self._recording: list[tuple[str, bytes]] | None = None
        self._replay: list[tuple[str, bytes]] = []
        self._replay_index = 0
        self._replay_wait = 0.0

    def install(self) -> ApiCallMeter:
        meter = self

        def _make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started, wall_started = time.thread_time(), time.perf_counter()
            try:
                return meter._call(client, operation, params)
            finally:
                meter.cpu += time.thread_time() - started
                meter.wall += time.perf_counter() - wall_started

        self._client_class._make_api_call = _make_api_call  # type: ignore[method-assign]
        return self

    @contextlib.contextmanager
    def counting_pynamodb(self) -> Iterator[None]:
        """Also count at pynamodb's own level meanwhile (to check that no DynamoDB call
        bypasses botocore). Only while counting calls: in CPU rounds the extra wrapper would
        be counted as the server's CPU."""
        from pynamodb.connection.base import Connection

        original = Connection._make_api_call
        meter = self

        def _make_api_call(connection: Any, operation: str, kwargs: dict[str, Any]) -> Any:
            meter.pynamodb_calls += 1
            return original(connection, operation, kwargs)

        Connection._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield
        finally:
            Connection._make_api_call = original  # type: ignore[method-assign]

    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        self.calls[f"{service}:{operation}"] += 1
        if self._backend is not self._original:
            return self._backend(client, operation, params)
        response = self._original(client, operation, params)
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
        self._backend = self._replayed

    def live(self) -> None:
        self._backend = self._original
        self._recording = None

    def _replayed(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        expected, blob = self._replay[self._replay_index]
        self._replay_index = (self._replay_index + 1) % len(self._replay)
        if expected != operation:
            raise RuntimeError(f"replay out of step: {operation} where {expected} was recorded")
        if self._replay_wait:
            time.sleep(self._replay_wait)
        return pickle.loads(blob)

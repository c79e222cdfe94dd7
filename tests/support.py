"""Helpers shared by the test suites (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

REGION = "us-east-1"
ROOT_TOKEN = "root"


def reset_process_state() -> None:
    """Forget every per-process cache, as a fresh Lambda container would."""
    from chalicelib.core.runtime import runtime
    from chalicelib.engines.registry import backend_for
    from chalicelib.seal.kms import kms_client
    from chalicelib.settings import settings

    for cached in (settings, runtime, kms_client, backend_for):
        cached.cache_clear()



class FakeClock:
    """A monotonic clock the test moves by hand (``clock.now += seconds``)."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class VaultHTTP:
    """A thin HTTP client for API tests: status and parsed JSON, nothing hidden."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.session = requests.Session()

    def request(
        self, method: str, path: str, json: Any = None, *, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        chosen = self.token if token is None else token
        if chosen:
            headers["X-Vault-Token"] = chosen
        return self.session.request(
            method, f"{self.url}/v1/{path}", json=json, headers=headers, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def list(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("LIST", path, **kwargs)




def creds(vault: VaultHTTP, role: str = "app", mount: str = "database") -> dict[str, Any]:
    """A dynamic credential (``<mount>/creds/<role>``), asserted to be issued."""
    reply = vault.get(f"{mount}/creds/{role}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def free_port() -> int:
    """A loopback TCP port free right now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for sock in held:
            sock.close()
        listener.close()


def conflict_on(operation: str, times: int) -> Any:
    """A `DynamoDBPhysical._call` that refuses `operation` the first `times` times as
    DynamoDB does while another transaction holds its items: a transaction is cancelled
    with TransactionConflict reasons, a plain write gets TransactionConflictException."""
    from botocore.exceptions import ClientError

    from chalicelib.storage.dynamodb import DynamoDBPhysical

    original = DynamoDBPhysical._call
    left = [times]

    def refusing(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == operation and left[0] > 0:
            left[0] -= 1
            if name == "TransactWriteItems":
                reasons = [{"Code": "TransactionConflict"} for _ in params["TransactItems"]]
                error = {"Code": "TransactionCanceledException"}
                raise ClientError({"Error": error, "CancellationReasons": reasons}, name)
            raise ClientError({"Error": {"Code": "TransactionConflictException"}}, name)
        return original(self, name, params)

    return refusing

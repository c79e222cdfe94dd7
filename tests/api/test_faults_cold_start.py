"""Outages at a cold start and on a warm container, in one process: a clear 503 in Vault's
envelope while AWS is away, sensible seal endpoints, and recovery on the next request
once it is back -- no new container, no failure kept, no half-loaded runtime.

Also botocore's part: its ``standard`` retries absorb a transient throttle, and give up
after ``MAX_ATTEMPTS`` with nothing retried on top.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from chalicelib.core.awsfaults import MAX_ATTEMPTS
from chalicelib.core.runtime import Runtime, runtime
from tests.api.fault_support import (
    DYNAMODB,
    FAULTS,
    KMS,
    Injector,
    fault_injector,  # noqa: F401 (fixture)
)
from tests.support import VaultHTTP

SECRET = "secret/data/cold"
KMS_UNREACHABLE = FAULTS["EndpointConnectionError"]._replace(services=KMS)
DYNAMODB_UNREACHABLE = FAULTS["EndpointConnectionError"]._replace(services=DYNAMODB)
UNREACHABLE = {"errors": ["cannot reach AWS (EndpointConnectionError); retry later"]}


@pytest.fixture
def stored(vault: VaultHTTP) -> VaultHTTP:
    assert vault.post(SECRET, {"data": {"k": "v"}}).status_code == 200
    return vault


def new_container() -> Runtime:
    """What a cold start sees: this process's clients, a runtime not yet loaded."""
    runtime.cache_clear()
    return runtime()


def assert_reads_again(vault: VaultHTTP, container: Runtime) -> None:
    reply = vault.get(SECRET)
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["data"] == {"k": "v"}
    assert runtime() is container  # the same container recovered


def assert_unavailable(reply: Any, body: dict[str, Any], retry_after: str = "5") -> None:
    assert reply.status_code == 503, reply.text
    assert reply.json() == body
    assert reply.headers["Retry-After"] == retry_after


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_cold_start_without_kms_is_sealed_and_unseals_when_kms_is_back(
    stored: VaultHTTP,
    injector: Injector,
    caplog: pytest.LogCaptureFixture,
) -> None:
    container = new_container()
    with injector.down(KMS_UNREACHABLE):
        caplog.clear()
        assert_unavailable(stored.get(SECRET), UNREACHABLE)
        [line] = errors_logged(caplog)  # one line, no traceback
        assert line.exc_info is None and "EndpointConnectionError" in line.getMessage()
        # The seal endpoints answer as OpenBao's do while sealed.
        status = stored.get("sys/seal-status")
        assert status.status_code == 200
        assert status.json()["initialized"] is True and status.json()["sealed"] is True
        health = stored.get("sys/health")
        assert health.status_code == 503
        assert health.json()["sealed"] is True and health.json()["initialized"] is True
        assert stored.get("sys/health", params={"sealedcode": 200}).status_code == 200
        assert [str(call) for call in injector.failed].count("kms:Decrypt") == 4  # 1/request
    assert_reads_again(stored, container)
    assert stored.get("sys/seal-status").json()["sealed"] is False
    assert stored.get("sys/health").status_code == 200


def test_kms_throttling_at_a_cold_start_says_retry_in_a_second(
    stored: VaultHTTP,
    injector: Injector,
) -> None:
    container = new_container()
    with injector.down(FAULTS["ThrottlingException"]._replace(services=KMS)):
        reply = stored.get(SECRET)
        assert_unavailable(
            reply, {"errors": ["AWS throttled Decrypt (ThrottlingException); retry later"]}, "1"
        )
    assert_reads_again(stored, container)


def test_a_job_on_a_cold_container_unseals_once_kms_is_back(
    stored: VaultHTTP, injector: Injector
) -> None:
    container = new_container()  # scheduled jobs call begin() without a request
    with injector.down(KMS_UNREACHABLE):
        for _ in range(2):
            container.begin([])
            assert container.sealed
    assert [str(call) for call in injector.failed] == ["kms:Decrypt"] * 2  # one per run
    container.begin([])
    assert not container.sealed
    assert_reads_again(stored, container)


@pytest.mark.parametrize("path", [SECRET, "sys/health", "sys/seal-status"])
def test_a_cold_start_without_dynamodb_answers_503_then_loads(
    stored: VaultHTTP,
    injector: Injector,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    container = new_container()
    with injector.down(DYNAMODB_UNREACHABLE):
        caplog.clear()
        # Nothing is known yet, not even whether the cluster is initialised.
        assert_unavailable(stored.get(path), UNREACHABLE)
        [line] = errors_logged(caplog)
        assert line.exc_info is None and line.getMessage() == "AWS unavailable"
    assert stored.get("sys/seal-status").json()["sealed"] is False
    assert_reads_again(stored, container)


def test_a_warm_container_never_answers_from_what_it_read_before(
    stored: VaultHTTP,
    injector: Injector,
) -> None:
    container = runtime()
    with injector.down(DYNAMODB_UNREACHABLE):
        for path in (SECRET, "sys/mounts", "sys/health"):
            assert_unavailable(stored.get(path), UNREACHABLE)
    assert_reads_again(stored, container)


def test_keys_left_unprocessed_round_after_round_give_a_503(
    stored: VaultHTTP,
    injector: Injector,
) -> None:
    injector.restart()
    with injector.down(FAULTS["UnprocessedKeys"]):
        reply = stored.get(SECRET)
    assert_unavailable(
        reply, {"errors": ["AWS throttled BatchGetItem (UnprocessedKeys); retry later"]}, "1"
    )
    assert [str(call) for call in injector.failed] == ["dynamodb:BatchGetItem"] * 5
    assert_reads_again(stored, runtime())


class _Body:
    """The raw stream botocore reads an HTTP response body from."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


class ThrottledSends:
    """Throttles the next ``budget`` DynamoDB sends below botocore's retry loop
    (``before-send``, before moto answers), counting them."""

    BODY = b'{"__type": "ProvisionedThroughputExceededException", "message": "injected"}'

    def __init__(self) -> None:
        self.budget = 0
        self.sent = 0

    def send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.sent >= self.budget:
            return None
        self.sent += 1
        return AWSResponse(request.url, 400, {}, _Body(self.BODY))


@pytest.fixture
def throttled(stored: VaultHTTP, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThrottledSends]:
    from botocore.retries.standard import ExponentialBackoff

    from chalicelib.settings import settings
    from chalicelib.storage.dynamotable import connection_of, item_class

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    config = settings()
    client = connection_of(item_class(config.table_name, config.region, config.endpoint_url)).client
    sends = ThrottledSends()
    client.meta.events.register_first("before-send.dynamodb", sends.send, unique_id="throttle")
    try:
        yield sends
    finally:
        client.meta.events.unregister("before-send.dynamodb", unique_id="throttle")


def test_botocore_retries_a_throttle_and_nothing_retries_on_top(
    stored: VaultHTTP, throttled: ThrottledSends
) -> None:
    throttled.budget = MAX_ATTEMPTS - 1  # every attempt but the last is throttled
    assert stored.get(SECRET).status_code == 200
    assert throttled.sent == MAX_ATTEMPTS - 1
    throttled.budget, throttled.sent = 100, 0  # throttled for good
    reply = stored.get(SECRET)
    message = "AWS throttled BatchGetItem (ProvisionedThroughputExceededException); retry later"
    assert_unavailable(reply, {"errors": [message]}, "1")
    assert throttled.sent == MAX_ATTEMPTS  # botocore's attempts, and no more

"""The one mapping from AWS failures to what a client is told (chalicelib.core.awsfaults)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from pynamodb.exceptions import GetError, TransactWriteError

from chalicelib.core.awsfaults import client_error, unavailable
from chalicelib.core.errors import InternalError, Unavailable
from chalicelib.core.render import render_error


def aws_error(code: str, status: int = 400, operation: str = "GetItem") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "secret-looking detail"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    ],
)
def test_throttling_is_a_503_retry_after_one_second(code: str) -> None:
    error = unavailable(aws_error(code))
    assert error is not None and error.status == 503
    assert error.message == f"AWS throttled GetItem ({code}); retry later"
    assert error.headers == {"Retry-After": "1"}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InternalServerError", 500),
        ("ServiceUnavailableException", 503),
        ("KMSInternalException", 500),
        ("SomethingNew", 502),  # any 5xx
    ],
)
def test_service_faults_are_a_503_retry_after_five_seconds(code: str, status: int) -> None:
    error = unavailable(aws_error(code, status, "Decrypt"))
    assert error is not None
    assert error.message == f"AWS could not serve Decrypt ({code}); retry later"
    assert error.headers == {"Retry-After": "5"}


@pytest.mark.parametrize(
    "cause",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.invalid"),
        ConnectTimeoutError(endpoint_url="https://dynamodb.invalid"),
        ReadTimeoutError(endpoint_url="https://dynamodb.invalid"),
        NoCredentialsError(),
    ],
)
def test_unreachable_aws_is_a_503(cause: Exception) -> None:
    error = unavailable(cause)
    assert error is not None
    assert error.message == f"cannot reach AWS ({type(cause).__name__}); retry later"


def test_pynamodb_wrappers_are_seen_through() -> None:
    # pynamodb keeps botocore's error as `.cause`, without `raise ... from`.
    error = unavailable(GetError("Failed to get item", aws_error("ThrottlingException")))
    assert error is not None and error.status == 503
    wrapped = TransactWriteError("failed", EndpointConnectionError(endpoint_url="x"))
    assert unavailable(wrapped) is not None


@pytest.mark.parametrize(
    "error",
    [
        aws_error("AccessDeniedException"),
        aws_error("ValidationException"),
        aws_error("ConditionalCheckFailedException"),
        ValueError("a bug"),
    ],
)
def test_refusals_and_bugs_are_not_outages(error: Exception) -> None:
    assert unavailable(error) is None
    assert isinstance(client_error(error, "secret/data/x"), InternalError)


def test_the_envelope_carries_retry_after() -> None:
    reply = render_error(Unavailable("AWS throttled GetItem (X); retry later", retry_after="1"))
    assert reply.status == 503
    assert reply.body == {"errors": ["AWS throttled GetItem (X); retry later"]}
    assert reply.headers["Retry-After"] == "1"
    assert reply.headers["Content-Type"] == "application/json"


def test_every_client_makes_at_most_three_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_ATTEMPTS counts the first call (botocore's `max_attempts` would count retries
    only: one more attempt, and 4 x 7 s could pass API Gateway's 29 s)."""
    import botocore.session
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    from chalicelib.core.awsfaults import CLIENT_CONFIG, MAX_ATTEMPTS

    monkeypatch.setattr("time.sleep", lambda _seconds: None)  # the retries' backoff
    client = botocore.session.get_session().create_client(
        "kms", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b",
        config=Config(**CLIENT_CONFIG),
    )
    attempts = []

    def throttled(request: Any, **_: Any) -> AWSResponse:
        attempts.append(request)
        body = b'{"__type": "ThrottlingException", "message": "slow down"}'
        raw = type("Raw", (), {"stream": lambda *_a, **_k: [body]})()
        return AWSResponse(request.url, 400, {}, raw)

    client.meta.events.register("before-send.kms.ListKeys", throttled)
    with pytest.raises(ClientError):
        client.list_keys()
    assert len(attempts) == MAX_ATTEMPTS == 3

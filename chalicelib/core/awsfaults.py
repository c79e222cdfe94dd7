"""How an AWS failure reaches a client: the one mapping from botocore errors to Vault's.

Every AWS client of the runtime (DynamoDB, KMS, Firehose) runs botocore's ``standard``
retry mode with :data:`MAX_ATTEMPTS` attempts: throttling, 5xx answers and connection
errors are retried there, with jittered exponential backoff and botocore's retry quota
(a client stops retrying when most of its recent calls failed). Nothing above botocore
retries those again. What is still failing after that reaches the client as a 503 with
``Retry-After``: the request did not happen, or happened atomically, and can be sent
again. Anything else is a 500 whose cause is logged.

Timeouts keep the worst case (every attempt timing out, plus backoff) inside API
Gateway's 29 s: 3 x (2 s + 5 s) + up to 3 s of backoff.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core.errors import InternalError, Unavailable, VaultError
from chalicelib.observability import logger

MAX_ATTEMPTS = 3  # botocore counts the first call: two retries
CONNECT_TIMEOUT = 2  # seconds
READ_TIMEOUT = 5  # seconds
CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
    "retries": {"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
}

# Throttled: the service refused the call before doing anything; come back in a moment.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "LimitExceededException",
    }
)
# The service could not answer now (its own fault, or a dependency of it).
UNAVAILABLE_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
    }
)
THROTTLED_RETRY_AFTER = "1"  # seconds
UNAVAILABLE_RETRY_AFTER = "5"  # seconds: an outage lasts longer than a burst


def unavailable(error: BaseException) -> Unavailable | None:
    """The 503 for an AWS failure that a later retry may not meet; None for anything else.

    Follows causes (``raise ... from``, pynamodb's ``.cause``), so wrappers such as
    pynamodb's PutError are seen through. Messages name the AWS operation and error code
    only, never a parameter.
    """
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
    )

    # Connection refused or reset, timeouts, no credentials (the role's not served yet).
    unreachable = (ConnectionError, HTTPClientError, NoCredentialsError, CredentialRetrievalError)
    cause: BaseException | None = error
    for _ in range(4):  # pynamodb wraps at most twice
        if cause is None:
            return None
        if isinstance(cause, Unavailable):
            return cause
        if isinstance(cause, ClientError):
            return _from_client_error(cause)
        if isinstance(cause, unreachable):
            return Unavailable(
                f"cannot reach AWS ({type(cause).__name__}); retry later",
                retry_after=UNAVAILABLE_RETRY_AFTER,
            )
        # pynamodb keeps botocore's error as `.cause` (PutError, DeleteError, ...).
        cause = getattr(cause, "cause", None) or cause.__cause__
    return None


def _from_client_error(error: Any) -> Unavailable | None:
    code = str(error.response.get("Error", {}).get("Code", ""))
    operation = error.operation_name
    if code in THROTTLING_CODES:
        return Unavailable(
            f"AWS throttled {operation} ({code}); retry later", retry_after=THROTTLED_RETRY_AFTER
        )
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in UNAVAILABLE_CODES or status >= 500:
        return Unavailable(
            f"AWS could not serve {operation} ({code or status}); retry later",
            retry_after=UNAVAILABLE_RETRY_AFTER,
        )
    return None


def client_error(error: Exception, path: str) -> VaultError:
    """What an unexpected exception gives the client: an AWS outage its 503 (one log line,
    no traceback: the outage is not a bug), anything else a 500 with the traceback logged."""
    mapped = unavailable(error)
    if mapped is not None:
        logger.error("AWS unavailable", extra={"path": path, "error": mapped.message})
        return mapped
    logger.exception("unhandled error", extra={"path": path})
    return InternalError()

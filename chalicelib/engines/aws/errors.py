"""AWS failures as client-facing errors, the way Vault's AWS engine reports them.

Vault answers "<what failed>: <AWS error>" with 400, and 502 when AWS throttles
(awsutil.CheckAWSError). AWS error codes and messages name users, ARNs and actions,
never credentials, so they are safe to show; botocore's own errors (no credentials,
endpoint unreachable) are reported the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

from chalicelib.core.errors import BadRequest, VaultError

NO_SUCH_ENTITY = "NoSuchEntity"
_THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})


class UpstreamRateLimited(VaultError):
    status = HTTPStatus.BAD_GATEWAY

    def __init__(self) -> None:
        super().__init__("upstream rate limited")


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for any other exception)."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def describe(error: Exception) -> str:
    """``Code: message`` for an AWS error (as Go's awserr prints), botocore's text otherwise."""
    code = error_code(error)
    if code:
        message = getattr(error, "response", {}).get("Error", {}).get("Message", "")
        return f"{code}: {message}" if message else code
    return str(error)


@contextmanager
def reported_as(action: str) -> Iterator[None]:
    """Turn a botocore failure inside the block into Vault's "<action>: <error>" answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as error:
        if error_code(error) in _THROTTLED:
            raise UpstreamRateLimited() from None
        raise BadRequest(f"{action}: {describe(error)}") from None

"""Errors that reach a client, each carrying the HTTP status Vault uses for it.

Messages are shown to clients verbatim, so they must never contain a secret.
"""

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType


class VaultError(Exception):
    """Base of every client-facing error; rendered as ``{"errors": [message]}``."""

    status: int = HTTPStatus.INTERNAL_SERVER_ERROR
    # Extra response headers (Retry-After on a 503); most errors have none.
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class BadRequest(VaultError):
    status = HTTPStatus.BAD_REQUEST


class PermissionDenied(VaultError):
    """403. Vault deliberately says the same thing for a missing, invalid or revoked token."""

    status = HTTPStatus.FORBIDDEN

    def __init__(self, message: str = "permission denied") -> None:
        super().__init__(message)


class NotFound(VaultError):
    status = HTTPStatus.NOT_FOUND


class UnsupportedOperation(VaultError):
    status = HTTPStatus.METHOD_NOT_ALLOWED

    def __init__(self, message: str = "unsupported operation") -> None:
        super().__init__(message)


class Sealed(VaultError):
    status = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, message: str = "Vault is sealed") -> None:
        super().__init__(message)


class Unavailable(VaultError):
    """503: AWS could not serve the request now (throttled, down, unreachable); nothing was
    left half done, so the client may send it again after ``Retry-After`` seconds."""

    status = HTTPStatus.SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: str) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": retry_after}


class PreconditionFailed(VaultError):
    """412: a conditional write lost a race, or a newer state is needed."""

    status = HTTPStatus.PRECONDITION_FAILED


class EntryTooLarge(BadRequest):
    """A value that cannot fit in one DynamoDB item (400 KB)."""


def multierror(message: str) -> str:
    """Vault's backends report through a Go multierror, and clients see its exact text."""
    return multierrors([message])


def multierrors(messages: Sequence[str]) -> str:
    """Go's multierror text for several errors at once ("2 errors occurred: ...")."""
    count = "1 error occurred" if len(messages) == 1 else f"{len(messages)} errors occurred"
    return f"{count}:\n" + "".join(f"\t* {message}\n" for message in messages) + "\n"


class InternalError(VaultError):
    """500 with a generic message; the cause is logged, never shown."""

    def __init__(self, message: str = "internal error") -> None:
        super().__init__(message)


class RateLimited(VaultError):
    """429: the client is over its rate-limit quota (chalicelib.quotas). ``headers``:
    Retry-After and, when enabled, the X-Ratelimit-* ones; ``audited`` as the quota
    config asks (OpenBao audits a refusal only then)."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, message: str, headers: dict[str, str], *, audited: bool) -> None:
        super().__init__(message)
        self.headers = headers
        self.audited = audited

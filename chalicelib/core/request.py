"""The transport-neutral request and response that every layer of the pipeline shares."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib.core.operation import Operation

if TYPE_CHECKING:
    from chalicelib.core.mounts import MountEntry
    from chalicelib.framework.login import Auth
    from chalicelib.identity.resolve import ResolvedIdentity
    from chalicelib.leases.secret import Secret
    from chalicelib.storage.view import StorageView
    from chalicelib.tokens.entry import TokenEntry


def new_request_id() -> str:
    """A random (version 4) UUID in its canonical text form, as ``str(uuid.uuid4())`` gives.

    Every request gets one; building and printing the stdlib's UUID object costs more than
    twice as many instructions.
    """
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]  # RFC 4122: the two high bits are 10
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


# Request and Response are plain classes with __slots__, not dataclasses: both are defined
# on every cold start, where a dataclass costs ~50x more to define (it compiles methods).
class Request:
    """One client request, as Vault's logical.Request.

    Transports fill the first block; the pipeline fills the rest as it routes.
    """

    __slots__ = (
        "body", "client_token", "data", "headers", "identity", "mount", "mount_path",
        "operation", "path", "remote_address", "reply_headers", "request_id", "storage", "token",
        "wrap_ttl",
    )

    def __init__(
        self,
        operation: Operation,
        path: str,
        data: dict[str, Any] | None = None,
        client_token: str = "",
        wrap_ttl: int | None = None,
        headers: dict[str, str] | None = None,
        remote_address: str = "",
        request_id: str | None = None,
        # A body the HTTP layer hands over unparsed (not JSON: an OCSP request's DER), as
        # Vault's logical.Request carries the HTTP request for the paths that read it.
        body: bytes | None = None,
        # Set by the pipeline.
        mount: MountEntry | None = None,
        mount_path: str = "",
        storage: StorageView | None = None,
        token: TokenEntry | None = None,
    ) -> None:
        self.operation = operation
        self.path = path
        self.data: dict[str, Any] = {} if data is None else data
        self.client_token = client_token
        self.wrap_ttl = wrap_ttl
        self.headers: dict[str, str] = {} if headers is None else headers
        self.remote_address = remote_address
        self.request_id = new_request_id() if request_id is None else request_id
        self.body = body
        self.mount = mount
        self.mount_path = mount_path
        self.storage = storage
        self.token = token
        # The token's entity as this request sees it (set with the token; None: no entity).
        self.identity: ResolvedIdentity | None = None
        # Headers the pipeline adds to whatever reply it sends (the rate-limit headers).
        self.reply_headers: dict[str, str] | None = None

    @property
    def relative_path(self) -> str:
        """The path below the mount point: what an engine routes on."""
        return self.path[len(self.mount_path):]


class Response:
    """What a handler returns; the pipeline turns it into Vault's JSON envelope.

    ``raw`` bypasses the envelope for the few endpoints (seal-status, health, init…)
    whose body Vault sends bare, and ``status`` overrides the default 200/204.
    """

    __slots__ = (
        "auth", "data", "headers", "lease_duration", "lease_id", "legacy_top_level", "login",
        "raw", "renewable", "secret", "status", "warnings", "wrap_info",
    )

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        warnings: list[str] | None = None,
        auth: dict[str, Any] | None = None,
        lease_id: str = "",
        lease_duration: int = 0,
        renewable: bool = False,
        # Set by an engine handing out a leased secret; the pipeline registers the lease.
        secret: Secret | None = None,
        wrap_info: dict[str, Any] | None = None,
        raw: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        # Top-level keys some sys endpoints repeat beside "data" for old clients (sys/mounts).
        legacy_top_level: bool = False,
        # Set by an auth method's login; the pipeline issues the token and fills ``auth``.
        login: Auth | None = None,
    ) -> None:
        self.data = data
        self.warnings: list[str] = [] if warnings is None else warnings
        self.auth = auth
        self.lease_id = lease_id
        self.lease_duration = lease_duration
        self.renewable = renewable
        self.secret = secret
        self.wrap_info = wrap_info
        self.raw = raw
        self.status = status
        self.headers: dict[str, str] = {} if headers is None else headers
        self.legacy_top_level = legacy_top_level
        self.login = login


def tidy_started() -> Response:
    """What OpenBao answers when a tidy starts: 202 with its warning (ours completes within
    the request, but clients read the same text)."""
    return Response(
        warnings=[
            "Tidy operation successfully started. Any information from the operation will "
            "be printed to OpenBao's server logs."
        ],
        status=202,
    )


# A NamedTuple: one is built per request, and a frozen dataclass's __init__ costs several
# times more (an object.__setattr__ per field).
class HttpReply(NamedTuple):
    """The transport-facing result: status, headers and a JSON-ready body (or None)."""

    status: int
    body: Any
    headers: dict[str, str]

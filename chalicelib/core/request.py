"""The transport-neutral request and response that every layer of the pipeline shares."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.operation import Operation

if TYPE_CHECKING:
    from chalicelib.core.mounts import MountEntry
    from chalicelib.leases.secret import Secret
    from chalicelib.storage.view import StorageView
    from chalicelib.tokens.entry import TokenEntry


@dataclass(slots=True)
class Request:
    """One client request, as Vault's logical.Request.

    Transports fill the first block; the pipeline fills the rest as it routes.
    """

    operation: Operation
    path: str
    data: dict[str, Any] = field(default_factory=dict)
    client_token: str = ""
    wrap_ttl: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    remote_address: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Set by the pipeline.
    mount: MountEntry | None = None
    mount_path: str = ""
    storage: StorageView | None = None
    token: TokenEntry | None = None

    @property
    def relative_path(self) -> str:
        """The path below the mount point: what an engine routes on."""
        return self.path[len(self.mount_path):]


@dataclass(slots=True)
class Response:
    """What a handler returns; the pipeline turns it into Vault's JSON envelope.

    ``raw`` bypasses the envelope for the few endpoints (seal-status, health, init…)
    whose body Vault sends bare, and ``status`` overrides the default 200/204.
    """

    data: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    auth: dict[str, Any] | None = None
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    # Set by an engine handing out a leased secret; the pipeline registers the lease.
    secret: Secret | None = None
    wrap_info: dict[str, Any] | None = None
    raw: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Top-level keys some sys endpoints repeat beside "data" for old clients (e.g. sys/mounts).
    legacy_top_level: bool = False


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


@dataclass(frozen=True, slots=True)
class HttpReply:
    """The transport-facing result: status, headers and a JSON-ready body (or None)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

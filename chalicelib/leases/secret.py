"""How an engine asks for a lease, and the callbacks the lease manager calls later.

An engine's handler returns ``Response(data=..., secret=Secret(...))``; the pipeline's
lease step turns that into a stored lease and the envelope's ``lease_id``,
``lease_duration`` and ``renewable``. The engine declares one ``SecretType`` per kind of
secret it hands out (``Backend.secrets``); the manager calls its ``revoke`` (on
``sys/leases/revoke``, on the token's death, or from the sweeper) and ``renew`` (on
``sys/leases/renew``). Engines never schedule anything themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

# NamedTuples, not frozen dataclasses: defined on every cold start, they cost ~7x less.


class Secret(NamedTuple):
    """A handler's request for a lease.

    ``internal`` is the engine's private data kept with the lease (e.g. the IAM user name
    to delete) and handed back to its callbacks; it never reaches a client. ``ttl`` and
    ``max_ttl`` of 0 mean the mount's (or the system's) default and maximum.
    """

    type: str
    internal: Mapping[str, Any] = MappingProxyType({})
    ttl: int = 0
    max_ttl: int = 0
    renewable: bool = True


class LeaseInfo(NamedTuple):
    """What a callback is told about the lease it acts on."""

    lease_id: str
    internal: Mapping[str, Any]
    issue_time: datetime
    expire_time: datetime
    # Seconds the client asked to extend by (renew only; 0 = the engine's default).
    increment: int = 0


# Undo the secret (delete the user, drop the credentials). Idempotent: a retry after a
# partial failure, or a second sweep, must succeed when there is nothing left to undo.
RevokeCallback = Callable[["StorageView", LeaseInfo], None]
# Decide the renewed lease: return a Secret whose ttl/max_ttl the manager then caps by the
# mount and system maxima (0 = no engine-specific limit). Raise a VaultError to refuse.
RenewCallback = Callable[["StorageView", LeaseInfo], Secret]


class SecretType(NamedTuple):
    """One kind of secret an engine issues, with its lease callbacks (Vault's framework.Secret).

    ``renew`` None: leases of this type are not renewable (e.g. STS credentials).
    """

    name: str
    revoke: RevokeCallback
    renew: RenewCallback | None = None

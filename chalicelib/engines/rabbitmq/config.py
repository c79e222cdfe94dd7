"""The mount's stored configuration: how to reach the management API
(`config/connection`, Vault's JSON names, the admin password included: the barrier
encrypts every value) and the lease settings (`config/lease`, in seconds; Vault stores
Go nanosecond Durations there).

Keys inside the mount's view:
  config/connection   ConnectionConfig
  config/lease        LeaseConfig
  role/<name>         a role (see role.py)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.records import build

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

CONNECTION_KEY = "config/connection"
LEASE_KEY = "config/lease"
# Vault's default for rabbitmq: the caller's display name and a UUID.
DEFAULT_USERNAME_TEMPLATE = '{{ printf "%s-%s" (.DisplayName) (uuid) }}'


@dataclass(frozen=True, slots=True)
class ConnectionConfig:
    """config/connection. Empty when none was written (creds then fail to connect, as in
    Vault)."""

    connection_uri: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    password_policy: str = ""
    username_template: str = ""

    @classmethod
    def from_storage(cls, raw: dict[str, Any] | None) -> ConnectionConfig:
        return build(cls, raw or {})

    @property
    def template(self) -> str:
        return self.username_template or DEFAULT_USERNAME_TEMPLATE


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """config/lease: the TTL and maximum TTL of credentials (0: the mount's)."""

    ttl: int = 0
    max_ttl: int = 0


def read_connection(view: StorageView) -> ConnectionConfig:
    return ConnectionConfig.from_storage(view.get_json(CONNECTION_KEY))


def write_connection(view: StorageView, config: ConnectionConfig) -> None:
    view.put_json(CONNECTION_KEY, asdict(config))


def read_lease(view: StorageView) -> LeaseConfig | None:
    raw = view.get_json(LEASE_KEY)
    return None if raw is None else LeaseConfig(int(raw["ttl"]), int(raw["max_ttl"]))


def write_lease(view: StorageView, config: LeaseConfig) -> None:
    view.put_json(LEASE_KEY, asdict(config))

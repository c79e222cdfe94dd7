"""The mount's stored configuration: the root credentials (`config/root`) and the lease
settings for IAM users (`config/lease`). config/root keeps Vault's JSON field names;
config/lease holds seconds (Vault stores Go nanosecond Durations there).

Keys inside the mount's view:
  config/root     RootConfig (the secret key too: the barrier encrypts every value)
  config/lease    LeaseConfig, in seconds
  role/<name>     a role (see role.py)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chalicelib.core.records import build

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

ROOT_KEY = "config/root"
LEASE_KEY = "config/lease"
# botocore's own retry policy (Vault: aws.UseServiceDefaultRetries).
DEFAULT_MAX_RETRIES = -1
# Vault's default: STS names fit in 32 characters, IAM user names in 64.
DEFAULT_USERNAME_TEMPLATE = (
    '{{ if (eq .Type "STS") }}'
    '{{ printf "vault-%s-%s"  (unix_time) (random 20) | truncate 32 }}'
    "{{ else }}"
    '{{ printf "vault-%s-%s-%s" (printf "%s-%s" (.DisplayName) (.PolicyName) | truncate 42) '
    "(unix_time) (random 20) | truncate 64 }}"
    "{{ end }}"
)


@dataclass(frozen=True, slots=True)
class RootConfig:
    """config/root. No keys means the default credential chain (the Lambda's own role)."""

    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    region: str = ""
    iam_endpoint: str = ""
    sts_endpoint: str = ""
    max_retries: int = DEFAULT_MAX_RETRIES
    username_template: str = DEFAULT_USERNAME_TEMPLATE

    @classmethod
    def from_storage(cls, raw: dict[str, Any] | None) -> RootConfig:
        config = build(cls, raw or {})
        # An empty template in storage means the default, as Vault reads it.
        if not config.username_template:
            return replace(config, username_template=DEFAULT_USERNAME_TEMPLATE)
        return config

    def to_storage(self) -> dict[str, Any]:
        return asdict(self)

    def to_api(self) -> dict[str, Any]:
        """What a read shows: everything but the secret key."""
        shown = self.to_storage()
        del shown["secret_key"]
        return shown

    @property
    def has_static_keys(self) -> bool:
        return bool(self.access_key and self.secret_key)


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """config/lease: the TTL and maximum TTL of IAM user leases (0: the mount's)."""

    lease: int = 0
    lease_max: int = 0


def read_root(view: StorageView) -> RootConfig:
    """The root configuration; defaults when none was written (as Vault's readConfig)."""
    return RootConfig.from_storage(view.get_json(ROOT_KEY))


def write_root(
    view: StorageView, config: RootConfig, *, expected_version: int | None = None
) -> None:
    view.put_json(ROOT_KEY, config.to_storage(), expected_version=expected_version)


def read_lease(view: StorageView) -> LeaseConfig | None:
    raw = view.get_json(LEASE_KEY)
    return None if raw is None else LeaseConfig(int(raw["lease"]), int(raw["lease_max"]))


def write_lease(view: StorageView, config: LeaseConfig) -> None:
    view.put_json(LEASE_KEY, asdict(config))

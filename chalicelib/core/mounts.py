"""The mount tables (secrets engines and auth methods), persisted through the barrier."""

from __future__ import annotations

import secrets
import uuid
from typing import Any, NamedTuple

MOUNTS_KEY = "core/mounts"
AUTH_KEY = "core/auth"

# Mount points that can never be taken by a user mount (Vault's protected prefixes).
RESERVED_PREFIXES = ("sys/", "auth/", "cubbyhole/", "identity/")

# The types below are NamedTuples: they are defined on every cold start, and a frozen
# dataclass costs ~7x more to define (it compiles its generated methods).


class MountConfig(NamedTuple):
    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    force_no_cache: bool = False
    listing_visibility: str = ""
    passthrough_request_headers: tuple[str, ...] = ()
    allowed_response_headers: tuple[str, ...] = ()
    audit_non_hmac_request_keys: tuple[str, ...] = ()
    audit_non_hmac_response_keys: tuple[str, ...] = ()
    # Auth mounts: what a login's "default" token type becomes ("" = default-service).
    token_type: str = ""
    # Auth mounts with lockout: the tuned settings (seconds), None = the defaults.
    user_lockout_config: dict[str, Any] | None = None

    @property
    def effective_token_type(self) -> str:
        return self.token_type or "default-service"

    def to_api(self, *, auth: bool = False) -> dict[str, Any]:
        """The ``config`` object of sys/mounts: empty optional lists are omitted, as Vault."""
        out: dict[str, Any] = {
            "default_lease_ttl": self.default_lease_ttl,
            "force_no_cache": self.force_no_cache,
            "max_lease_ttl": self.max_lease_ttl,
        }
        if self.listing_visibility:
            out["listing_visibility"] = self.listing_visibility
        for name in (
            "passthrough_request_headers",
            "allowed_response_headers",
            "audit_non_hmac_request_keys",
            "audit_non_hmac_response_keys",
        ):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        if auth:
            out["token_type"] = self.effective_token_type
        if self.user_lockout_config is not None:
            out["user_lockout_config"] = lockout_view(self.user_lockout_config)
        return out


def lockout_view(config: dict[str, Any]) -> dict[str, Any]:
    """Tuned lockout settings as OpenBao shows them (0 = the default applies)."""
    return {
        "user_lockout_counter_reset_duration": config.get("counter_reset", 0),
        "user_lockout_threshold": config.get("threshold", 0),
        "user_lockout_duration": config.get("duration", 0),
        "user_lockout_disable": config.get("disable", False),
    }


class MountEntry(NamedTuple):
    """One row of a mount table: where an engine lives and how it is tuned."""

    path: str
    type: str
    uuid: str
    accessor: str
    description: str = ""
    config: MountConfig = MountConfig()
    options: dict[str, str] | None = None
    local: bool = False
    seal_wrap: bool = False
    table: str = "mounts"

    @classmethod
    def new(cls, path: str, type_name: str, **kwargs: Any) -> MountEntry:
        # Vault's shape: "kv_1a2b3c4d", and "auth_userpass_1a2b3c4d" for auth mounts.
        kind = f"auth_{type_name}" if kwargs.get("table") == "auth" else type_name
        accessor = f"{kind}_{secrets.token_hex(4)}"
        return cls(path=path, type=type_name, uuid=str(uuid.uuid4()), accessor=accessor, **kwargs)

    @property
    def storage_prefix(self) -> str:
        """Where this mount's engine keeps its data: a barrier view confined to the mount."""
        if self.type == "system":
            return "sys/"
        if self.type == "identity":  # one store for every auth mount (chalicelib.identity)
            return "identity/"
        root = "auth" if self.table == "auth" else "logical"
        return f"{root}/{self.uuid}/"

    @property
    def router_path(self) -> str:
        """The request path prefix: ``auth/`` is implied for auth mounts."""
        return f"auth/{self.path}" if self.table == "auth" else self.path

    def tuned(self, **changes: Any) -> MountEntry:
        return self._replace(**changes)

    def to_storage(self) -> dict[str, Any]:
        options = None if self.options is None else dict(self.options)
        return {**self._asdict(), "config": self.config._asdict(), "options": options}

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> MountEntry:
        config = raw.get("config") or {}
        config = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
        return cls(**{**raw, "config": MountConfig(**config)})

    def to_api(self) -> dict[str, Any]:
        """The entry as sys/mounts and sys/auth show it."""
        out: dict[str, Any] = {
            "accessor": self.accessor,
            "config": self.config.to_api(auth=self.table == "auth"),
            "description": self.description,
            "external_entropy_access": False,
            "local": self.local,
            "options": self.options,
            "plugin_version": "",
            "running_plugin_version": "",
            "running_sha256": "",
            "seal_wrap": self.seal_wrap,
            "type": self.type,
            "uuid": self.uuid,
        }
        return out


class MountTable(NamedTuple):
    entries: tuple[MountEntry, ...] = ()

    def find(self, path: str) -> MountEntry | None:
        """The entry mounted exactly at ``path`` (with trailing slash)."""
        return next((e for e in self.entries if e.path == path), None)

    def longest_prefix(self, request_path: str) -> MountEntry | None:
        best: MountEntry | None = None
        for entry in self.entries:
            prefix = entry.router_path
            if (request_path.startswith(prefix) or request_path + "/" == prefix) and (
                best is None or len(prefix) > len(best.router_path)
            ):
                best = entry
        return best

    def conflicts(self, path: str) -> MountEntry | None:
        """An existing mount that is a prefix of ``path`` or has it as a prefix."""
        return next(
            (e for e in self.entries if e.path.startswith(path) or path.startswith(e.path)), None
        )

    def with_entry(self, entry: MountEntry) -> MountTable:
        kept = tuple(e for e in self.entries if e.uuid != entry.uuid)
        return MountTable((*kept, entry))

    def without(self, entry: MountEntry) -> MountTable:
        return MountTable(tuple(e for e in self.entries if e.uuid != entry.uuid))

    def to_storage(self) -> list[dict[str, Any]]:
        return [e.to_storage() for e in self.entries]

    @classmethod
    def from_storage(cls, raw: list[dict[str, Any]] | None) -> MountTable:
        return cls(tuple(MountEntry.from_storage(item) for item in raw or []))


# The system mount is routable before init and while sealed (seal-status, init, unseal…).
SYSTEM_MOUNT = MountEntry(
    path="sys/",
    type="system",
    uuid="system",
    accessor="system",
    description="system endpoints used for control, policy and debugging",
    seal_wrap=True,
)

"""config/<name>: a database connection, stored as Vault's DatabaseConfig.

``connection_details`` holds what the plugin is given (connection_url, username,
password, pool limits, plugin options); the barrier encrypts it all. A read never shows
the password, nor a password written into the URL itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from chalicelib.core import jsonio
from chalicelib.core.errors import BadRequest
from chalicelib.core.globs import globbed_match
from chalicelib.engines.database.plugin import Connection

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

CONFIG_PREFIX = "config/"
DEFAULT_TIMEOUT = 10.0  # seconds: a dead database answers well inside API Gateway's 29 s
DEFAULT_MAX_OPEN = 4  # Vault's; max_idle_connections 0 means as many as open
_SECRET_DETAILS = ("password", "private_key")
_POOL_DETAILS = ("max_open_connections", "max_idle_connections", "max_connection_lifetime")


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    plugin_name: str
    connection_details: dict[str, Any] = field(default_factory=dict, repr=False)
    allowed_roles: list[str] = field(default_factory=list)
    root_credentials_rotate_statements: list[str] = field(default_factory=list)
    password_policy: str = ""
    # rotate-root's write-ahead: the admin password being set, until the database took it.
    pending_root_password: str = field(default="", repr=False)
    version: int = 0  # the storage entry's: pools are dropped when it changes

    @classmethod
    def from_storage(cls, raw: dict[str, Any], version: int) -> DatabaseConfig:
        return cls(
            raw["plugin_name"], raw.get("connection_details") or {}, raw.get("allowed_roles") or [],
            raw.get("root_credentials_rotate_statements") or [], raw.get("password_policy", ""),
            raw.get("pending_root_password", ""), version,
        )

    def to_storage(self) -> dict[str, Any]:
        return {
            "plugin_name": self.plugin_name,
            "connection_details": self.connection_details,
            "allowed_roles": self.allowed_roles,
            "root_credentials_rotate_statements": self.root_credentials_rotate_statements,
            "password_policy": self.password_policy,
            "pending_root_password": self.pending_root_password,
        }

    def to_api(self) -> dict[str, Any]:
        details = {k: v for k, v in self.connection_details.items() if k not in _SECRET_DETAILS}
        if isinstance(details.get("connection_url"), str):
            details["connection_url"] = redacted_url(details["connection_url"])
        shown = {**self.to_storage(), "connection_details": details, "plugin_version": ""}
        del shown["pending_root_password"]
        return shown

    def allows(self, role_name: str) -> bool:
        """Vault: "*" or a glob of allowed_roles matches the role's name."""
        return any(glob == "*" or globbed_match(glob, role_name) for glob in self.allowed_roles)

    def check_allowed(self, role_name: str) -> None:
        if not self.allows(role_name):
            # Vault answers 500 with this text; it is the client's input, so 400.
            raise BadRequest(f'"{role_name}" is not an allowed role')

    @property
    def username_template(self) -> str:
        return str(self.connection_details.get("username_template") or "")

    def connection(self, name: str, *, password: str | None = None) -> Connection:
        """What the plugin needs; ``password`` replaces the stored one (root rotation)."""
        details = self.connection_details
        options = {
            k: v for k, v in details.items()
            if k not in ("connection_url", "username", "password", *_POOL_DETAILS)
        }
        return Connection(
            name=name,
            connection_url=str(details.get("connection_url", "")),
            username=str(details.get("username", "")),
            password=str(details.get("password", "")) if password is None else password,
            options=options,
            max_open_connections=int(details.get("max_open_connections") or DEFAULT_MAX_OPEN),
            max_idle_connections=int(details.get("max_idle_connections") or 0),
            max_connection_lifetime=int(details.get("max_connection_lifetime") or 0),
            timeout=DEFAULT_TIMEOUT,
            version=self.version,
        )


def redacted_url(url: str) -> str:
    """Go's url.Redacted: the password of a URL shown as "xxxxx" (a template stays)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password or password == "{{password}}":  # noqa: S105 - the template
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:xxxxx@{host}"))


def read_config(view: StorageView, name: str) -> DatabaseConfig | None:
    entry = view.get(CONFIG_PREFIX + name)
    if entry is None:
        return None
    return DatabaseConfig.from_storage(jsonio.loads(entry.value), entry.version)


def require_config(view: StorageView, name: str) -> DatabaseConfig:
    config = read_config(view, name)
    if config is None:
        raise BadRequest(f'failed to find entry for connection with name: "{name}"')
    return config


def write_config(
    view: StorageView, name: str, config: DatabaseConfig, *, expected_version: int | None = None
) -> int:
    key = CONFIG_PREFIX + name
    return view.put_json(key, config.to_storage(), expected_version=expected_version)

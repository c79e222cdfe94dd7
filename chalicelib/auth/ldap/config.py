"""auth/<mount>/config: where the directory is and how users and groups are found.

OpenBao's ldaputil.ConfigEntry with the method's ``token_*`` settings. Stored behind the
barrier; ``bindpass`` and the client key are never returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from chalicelib.auth.ldap import templates
from chalicelib.auth.ldap.tlsconfig import check_certificate, check_client_pair
from chalicelib.core.errors import BadRequest
from chalicelib.core.records import build
from chalicelib.framework import Field, FieldData, FieldType
from chalicelib.framework.tokenfields import TOKEN_FIELDS, TokenSettings
from chalicelib.storage.view import StorageView

CONFIG_KEY = "config"
TLS_VERSIONS = ("tls10", "tls11", "tls12", "tls13")
DEREF_ALIASES = ("never", "finding", "searching", "always")
USER_FILTER_NAMES = ("UserAttr", "Username")
GROUP_FILTER_NAMES = ("UserDN", "Username")
DEFAULT_GROUP_FILTER = "(|(memberUid={{.Username}})(member={{.UserDN}})(uniqueMember={{.UserDN}}))"
USER_FILTER_WARNING = (
    "userfilter configured does not consider userattr and may result in colliding entity "
    "aliases on logins"
)


class LdapConfig(NamedTuple):
    url: str = "ldap://127.0.0.1"
    userdn: str = ""
    anonymous_group_search: bool = False
    groupdn: str = ""
    groupfilter: str = DEFAULT_GROUP_FILTER
    groupattr: str = "cn"
    upndomain: str = ""
    username_as_alias: bool = False
    userfilter: str = "({{.UserAttr}}={{.Username}})"
    userattr: str = "cn"
    certificate: str = ""
    insecure_tls: bool = False
    starttls: bool = False
    binddn: str = ""
    bindpass: str = ""
    deny_null_bind: bool = True
    discoverdn: bool = False
    tls_min_version: str = "tls12"
    tls_max_version: str = "tls12"
    use_token_groups: bool = False
    use_pre111_group_cn_behavior: bool = False
    request_timeout: int = 90
    connection_timeout: int = 30
    dereference_aliases: str = "never"
    max_page_size: int = 0
    case_sensitive_names: bool = False
    client_tls_cert: str = ""
    client_tls_key: str = ""
    token: TokenSettings = TokenSettings()

    def to_storage(self) -> dict[str, Any]:
        return {**self._asdict(), "token": self.token.to_storage()}

    @classmethod
    def from_storage(cls, raw: Mapping[str, Any]) -> LdapConfig:
        # Read on every login: built positionally (records.build), unknown keys ignored.
        return build(cls, raw, token=TokenSettings.from_storage(raw.get("token")))

    def to_api(self) -> dict[str, Any]:
        """OpenBao's PasswordlessMap plus the token fields: no bind password, no client pair."""
        hidden = {"bindpass", "client_tls_cert", "client_tls_key", "token"}
        shown = {name: value for name, value in self._asdict().items() if name not in hidden}
        return {**shown, **self.token.to_api()}

    @property
    def searches_for_user(self) -> bool:
        """Whether the user's DN is found by a search (OpenBao's GetUserBindDN): with
        discoverdn, or with a bind DN and its password."""
        return self.discoverdn or bool(self.binddn and self.bindpass)

    def warnings(self) -> list[str]:
        """OpenBao's checkConfigUserFilter: a filter that ignores userattr may let two
        users share an entity alias."""
        if "{{.UserAttr}}" in self.userfilter or self.userattr in self.userfilter:
            return []
        return [USER_FILTER_WARNING]


_STRINGS = (
    "userdn", "groupdn", "groupattr", "upndomain", "certificate", "binddn", "bindpass",
    "client_tls_cert", "client_tls_key",
)  # fmt: skip
_BOOLS = (
    "anonymous_group_search", "username_as_alias", "insecure_tls", "starttls", "deny_null_bind",
    "discoverdn", "use_token_groups", "use_pre111_group_cn_behavior", "case_sensitive_names",
)  # fmt: skip
_DEFAULTS = LdapConfig()
CONFIG_FIELDS: Mapping[str, Field] = {
    **TOKEN_FIELDS,
    **{name: Field(FieldType.STRING, getattr(_DEFAULTS, name)) for name in _STRINGS},
    **{name: Field(FieldType.BOOL, getattr(_DEFAULTS, name)) for name in _BOOLS},
    "url": Field(FieldType.STRING, _DEFAULTS.url),
    "userattr": Field(FieldType.STRING, _DEFAULTS.userattr),
    "userfilter": Field(FieldType.STRING, _DEFAULTS.userfilter),
    "groupfilter": Field(FieldType.STRING, _DEFAULTS.groupfilter),
    "tls_min_version": Field(FieldType.STRING, "tls12", allowed_values=TLS_VERSIONS),
    "tls_max_version": Field(FieldType.STRING, "tls12", allowed_values=TLS_VERSIONS),
    "request_timeout": Field(FieldType.DURATION, _DEFAULTS.request_timeout),
    "connection_timeout": Field(FieldType.DURATION, _DEFAULTS.connection_timeout),
    "dereference_aliases": Field(FieldType.STRING, "never", allowed_values=DEREF_ALIASES),
    "max_page_size": Field(FieldType.INT, 0),
}
_SETTINGS = tuple(name for name in LdapConfig._fields if name != "token")


def load(view: StorageView) -> LdapConfig:
    """The stored configuration, or the defaults (OpenBao reads an unset config as its
    defaults rather than as an error)."""
    raw = view.get_json(CONFIG_KEY)
    return _DEFAULTS if raw is None else LdapConfig.from_storage(raw)


def save(view: StorageView, config: LdapConfig) -> None:
    view.put_json(CONFIG_KEY, config.to_storage())


def updated(current: LdapConfig, data: FieldData) -> LdapConfig:
    """``current`` with what ``data`` sets, checked as OpenBao's NewConfigEntry."""
    changes: dict[str, Any] = {name: data[name] for name in _SETTINGS if data.is_set(name)}
    if "url" in changes:
        changes["url"] = changes["url"].lower()
    if "userattr" in changes:
        changes["userattr"] = changes["userattr"].lower()
    for name in ("request_timeout", "connection_timeout"):
        if changes.get(name, 0) < 0:
            raise BadRequest(f"'{name}' cannot be negative")
    config = current._replace(**changes, token=current.token.parsed(data))
    _check(config)
    return config


def _check(config: LdapConfig) -> None:
    templates.check("userfilter", config.userfilter, USER_FILTER_NAMES)
    templates.check("groupfilter", config.groupfilter, GROUP_FILTER_NAMES)
    if config.certificate:
        check_certificate(config.certificate)
    check_client_pair(config.client_tls_cert, config.client_tls_key)
    if TLS_VERSIONS.index(config.tls_max_version) < TLS_VERSIONS.index(config.tls_min_version):
        raise BadRequest("'tls_max_version' must be greater than or equal to 'tls_min_version'")

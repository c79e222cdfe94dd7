"""Roles: the stored entry (``role/<name>``) binding tokens' claims to token settings."""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.core import jsonio
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.storage.view import StorageView

ROLE_PREFIX = "role/"
# The deprecated spellings OpenBao's jwt roles still accept (tokenutil.UpgradeValue).
LEGACY_FIELDS = {
    "policies": "token_policies",
    "bound_cidrs": "token_bound_cidrs",
    "num_uses": "token_num_uses",
    "ttl": "token_ttl",
    "max_ttl": "token_max_ttl",
    "period": "token_period",
}
ROLE_JWT, ROLE_OIDC = "jwt", "oidc"


class Role(NamedTuple):
    role_type: str = ROLE_OIDC
    expiration_leeway: int = 0
    not_before_leeway: int = 0
    clock_skew_leeway: int = 0
    bound_audiences: tuple[str, ...] = ()
    bound_subject: str = ""
    bound_claims_type: str = "string"
    bound_claims: dict[str, Any] | None = None  # None: unset (a read shows null)
    claim_mappings: dict[str, str] | None = None
    user_claim: str = ""
    user_claim_json_pointer: bool = False
    groups_claim: str = ""
    oidc_scopes: tuple[str, ...] = ()
    allowed_redirect_uris: tuple[str, ...] = ()
    callback_mode: str = "client"
    verbose_oidc_logging: bool = False
    max_age: int = 0
    token: TokenSettings = TokenSettings()

    def to_api(self) -> dict[str, Any]:
        shown = self._asdict()
        del shown["token"]
        # OpenBao shows an unset list or map as null.
        for name in ("bound_audiences", "oidc_scopes", "allowed_redirect_uris"):
            shown[name] = list(shown[name]) or None
        return {**shown, "oauth2_metadata": None, "token_policies_template_claims": False,
                "oidc_disable_confirmation": False, **self.token.to_api(LEGACY_FIELDS)}

    def to_storage(self) -> dict[str, Any]:
        return {**self._asdict(), "token": self.token.to_storage()}

    @classmethod
    def from_storage(cls, raw: dict[str, Any]) -> Role:
        lists = ("bound_audiences", "oidc_scopes", "allowed_redirect_uris")
        return cls(**{
            **raw,
            **{name: tuple(raw.get(name) or ()) for name in lists},
            "token": TokenSettings.from_storage(raw.get("token")),
        })  # fmt: skip


def role_key(name: str) -> str:
    return ROLE_PREFIX + name.lower()


def load(view: StorageView, name: str) -> Role | None:
    entry = view.get(role_key(name))
    return None if entry is None else Role.from_storage(jsonio.loads(entry.value))


def save(view: StorageView, name: str, role: Role) -> None:
    view.put_json(role_key(name), role.to_storage())

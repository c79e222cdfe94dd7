"""What a JWT login and an OIDC callback share: the role, the key checks, and the
``Auth`` built from verified claims (OpenBao's createIdentity), plus renewal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.auth.jwt import claims as claim_rules
from chalicelib.auth.jwt.config import StoredConfig
from chalicelib.auth.jwt.keys import provider_for
from chalicelib.auth.jwt.roles import Role, load
from chalicelib.auth.jwt.validate import Expected, InvalidToken, validate
from chalicelib.core.cidrs import address_in
from chalicelib.core.errors import BadRequest, PermissionDenied
from chalicelib.core.request import Request
from chalicelib.framework.login import Auth, LoginRenewal
from chalicelib.framework.tokenfields import TokenSettings
from chalicelib.policy.errors import go_quote
from chalicelib.storage.view import StorageView


def role_for(view: StorageView, stored: StoredConfig, name: str) -> tuple[str, Role]:
    """The named role, or the mount's default_role when none is named."""
    name = name or stored.config.default_role
    if not name:
        raise BadRequest("missing role")
    role = load(view, name)
    if role is None:
        raise BadRequest(f"role {go_quote(name)} could not be found")
    return name, role


def check_cidrs(request: Request, role: Role) -> None:
    """A role's token_bound_cidrs also bind who may log in (Vault: 403)."""
    cidrs = role.token.bound_cidrs
    if cidrs and not address_in(request.remote_address, cidrs):
        raise PermissionDenied()


def verify(
    stored: StoredConfig, token: str, expected: Expected, prefix: str = "error validating token: "
) -> dict[str, Any]:
    """The token's verified claims against the mount's keys; 400 with cap's reason."""
    provider = provider_for(stored)
    try:
        return validate(token, provider.keys_for, expected, static=provider.static)
    except InvalidToken as error:
        raise BadRequest(f"{prefix}{error}") from None


def expected_for(stored: StoredConfig, role: Role, **overrides: Any) -> Expected:
    return Expected(
        algorithms=stored.config.algorithms,
        issuer=stored.config.bound_issuer,
        subject=role.bound_subject,
        audiences=role.bound_audiences,
        not_before_leeway=role.not_before_leeway,
        expiration_leeway=role.expiration_leeway,
        clock_skew_leeway=role.clock_skew_leeway,
    )._replace(**overrides)


def auth_for(claims: Mapping[str, Any], role_name: str, role: Role) -> Auth:
    """The login's alias (the user claim), its metadata (claim_mappings and the role's
    name) and group aliases (the groups claim), once the bound claims match."""
    alias = claim_rules.user_name(claims, role.user_claim, role.user_claim_json_pointer)
    metadata = {**claim_rules.metadata(claims, role.claim_mappings or {}), "role": role_name}
    groups = claim_rules.group_names(claims, role.groups_claim) if role.groups_claim else ()
    claim_rules.check_bound_claims(claims, role.bound_claims or {},
                                   use_globs=role.bound_claims_type == "glob")  # fmt: skip
    return Auth(
        alias_name=alias,
        token=role.token,
        metadata=metadata,
        display_name=alias,
        alias_metadata=metadata,
        group_aliases=groups,
        internal={"role": role_name},
    )


def renew_login(view: StorageView, renewal: LoginRenewal) -> TokenSettings:
    """A token renews under its role's current TTLs while the role exists (OpenBao's
    pathLoginRenew)."""
    name = renewal.internal.get("role", "")
    role = load(view, name) if name else None
    if role is None:
        raise BadRequest(f"role {name} does not exist during renewal")
    return role.token

"""role/ (list) and role/:name (create, read, update, delete), as OpenBao's path_role.go."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.auth.jwt.claims import normalize_list
from chalicelib.auth.jwt.roles import (
    LEGACY_FIELDS,
    ROLE_JWT,
    ROLE_OIDC,
    ROLE_PREFIX,
    Role,
    load,
    role_key,
    save,
)
from chalicelib.core.errors import BadRequest
from chalicelib.core.operation import Operation
from chalicelib.core.request import Request, Response
from chalicelib.framework import Field, FieldData, FieldType, Path, crud
from chalicelib.framework.fieldtypes import go_duration
from chalicelib.framework.storage import PAGE_FIELDS, page, view_of
from chalicelib.framework.tokenfields import TOKEN_FIELDS
from chalicelib.policy.errors import go_quote
from chalicelib.system.mount_config import effective_ttls

RESERVED_METADATA = ("role",)
_F = FieldType
ROLE_FIELDS: Mapping[str, Field] = {
    **TOKEN_FIELDS,
    "name": Field(_F.LOWERCASE_STRING),
    "role_type": Field(_F.STRING, ""),
    "policies": Field(_F.COMMA_STRING_LIST, list),
    "num_uses": Field(_F.INT, 0),
    "ttl": Field(_F.DURATION, 0),
    "max_ttl": Field(_F.DURATION, 0),
    "period": Field(_F.DURATION, 0),
    "bound_cidrs": Field(_F.COMMA_STRING_LIST, list),
    "expiration_leeway": Field(_F.DURATION, 150),
    "not_before_leeway": Field(_F.DURATION, 150),
    "clock_skew_leeway": Field(_F.DURATION, 60),
    "bound_subject": Field(_F.STRING, ""),
    "bound_audiences": Field(_F.COMMA_STRING_LIST, list),
    "bound_claims_type": Field(_F.STRING, "string"),
    "bound_claims": Field(_F.MAP, dict),
    "claim_mappings": Field(_F.KV_PAIRS, dict),
    "user_claim": Field(_F.STRING, ""),
    "user_claim_json_pointer": Field(_F.BOOL, False),
    "groups_claim": Field(_F.STRING, ""),
    "oidc_scopes": Field(_F.COMMA_STRING_LIST, list),
    "allowed_redirect_uris": Field(_F.COMMA_STRING_LIST, list),
    "callback_mode": Field(_F.STRING, "client"),
    "verbose_oidc_logging": Field(_F.BOOL, False),
    "max_age": Field(_F.DURATION, 0),
}
# Set from the request only when given (OpenBao's GetOk); the rest keep the stored value.
_WHEN_GIVEN = (
    "expiration_leeway", "not_before_leeway", "clock_skew_leeway", "bound_subject",
    "verbose_oidc_logging", "max_age", "user_claim", "user_claim_json_pointer",
    "groups_claim",
)  # fmt: skip
_LISTS_WHEN_GIVEN = ("bound_audiences", "oidc_scopes", "allowed_redirect_uris")


def _exists(request: Request, data: FieldData) -> bool:
    return load(view_of(request), data["name"]) is not None


def path_role_list(request: Request, data: FieldData) -> Response | None:
    names = page(view_of(request).list(ROLE_PREFIX), data["after"], data["limit"])
    return Response(data={"keys": names}) if names else None


def path_role_read(request: Request, data: FieldData) -> Response | None:
    role = load(view_of(request), data["name"])
    return None if role is None else Response(data=role.to_api())


def path_role_delete(request: Request, data: FieldData) -> None:
    view_of(request).delete(role_key(data["name"]))


def path_role_write(request: Request, data: FieldData) -> Response | None:
    """OpenBao's pathRoleCreateUpdate: checks in its order, warnings as it gives them."""
    assert request.mount is not None
    view = view_of(request)
    role = load(view, data["name"]) or Role()
    # As OpenBao: role_type and bound_claims_type fall back to their defaults on every
    # write that leaves them out, not to the stored value.
    role_type = data["role_type"] or ROLE_OIDC
    if role_type not in (ROLE_JWT, ROLE_OIDC):
        raise BadRequest(f"invalid 'role_type': {role_type}")
    token = role.token.parsed(data, LEGACY_FIELDS)
    max_lease = effective_ttls(request.mount)[1]
    if token.period > max_lease:
        raise BadRequest(
            f"'period' of '{go_quote(go_duration(token.period))}' is greater than the "
            f"backend's maximum lease TTL of '{go_quote(go_duration(max_lease))}'"
        )
    changes: dict[str, Any] = {"role_type": role_type, "token": token}
    changes.update({name: data[name] for name in _WHEN_GIVEN if data.is_set(name)})
    changes.update({n: tuple(data[n]) for n in _LISTS_WHEN_GIVEN if data.is_set(n)})
    changes["bound_claims_type"] = data["bound_claims_type"]
    if changes["bound_claims_type"] not in ("string", "glob"):
        raise BadRequest(f"invalid 'bound_claims_type': {data['bound_claims_type']}")
    if data.is_set("bound_claims"):
        changes["bound_claims"] = _bound_claims(data["bound_claims"], data["bound_claims_type"])
    if data.is_set("claim_mappings"):
        changes["claim_mappings"] = _claim_mappings(data["claim_mappings"])
    if data["callback_mode"] != "client":
        # direct and device callbacks need a browser-facing server session (see README).
        raise BadRequest(f"invalid 'callback_mode': {data['callback_mode']}")
    role = role._replace(**changes)
    _check(role)
    save(view, data["name"], role)
    warnings = []
    if role.token.max_ttl > max_lease:
        warnings.append(
            "token max ttl is greater than the system or backend mount's maximum TTL value; "
            "issued tokens' max TTL value will be truncated"
        )
    if role.verbose_oidc_logging:
        warnings.append(
            "verbose_oidc_logging has been enabled for this role. This is not recommended in "
            "production since sensitive information may be present in OIDC responses."
        )
    return Response(warnings=warnings) if warnings else None


def _bound_claims(bound: dict[str, Any], claims_type: str) -> dict[str, Any]:
    if claims_type == "glob":
        for values in bound.values():
            listed = normalize_list(values)
            if listed is None:
                raise BadRequest(f"claim is not a string or list: {values}")
            for value in listed:
                if not isinstance(value, str):
                    raise BadRequest(f"claim is not a string: {value}")
    return bound


def _claim_mappings(mappings: dict[str, str]) -> dict[str, str]:
    targets: set[str] = set()
    for target in mappings.values():
        if target in RESERVED_METADATA:
            raise BadRequest(
                f"metadata key {go_quote(target)} is reserved and may not be a mapping "
                "destination"
            )
        if target in targets:
            raise BadRequest(f"multiple keys are mapped to metadata key {go_quote(target)}")
        targets.add(target)
    return mappings


def _check(role: Role) -> None:
    if not role.user_claim:
        raise BadRequest("a user claim must be defined on the role")
    if role.role_type == ROLE_OIDC and not role.allowed_redirect_uris:
        raise BadRequest(
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."
        )
    # An OIDC login checks the audience against the client ID; a JWT role needs a bind.
    if role.role_type == ROLE_JWT and not (
        role.bound_audiences or role.token.bound_cidrs or role.bound_subject
        or role.bound_claims
    ):  # fmt: skip
        raise BadRequest("must have at least one bound constraint when creating/updating a role")


def paths() -> list[Path]:
    op = Operation
    return [
        Path("role/?", {op.LIST: path_role_list}, PAGE_FIELDS),
        Path(
            "role/{name}",
            crud(path_role_read, path_role_write, path_role_delete),
            ROLE_FIELDS,
            exists=_exists,
            prefetch=lambda captures: [role_key(captures["name"])],
        ),
    ]

"""Creating a token from a create request, as OpenBao's ``handleCreateCommon``.

The checks run in OpenBao's order, so the first error a client sees is OpenBao's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.core.errors import BadRequest
from chalicelib.framework import FieldData, parse_duration
from chalicelib.framework.fieldtypes import FieldError
from chalicelib.tokens import ids
from chalicelib.tokens.clock import NANOS
from chalicelib.tokens.entry import BATCH, SERVICE, TokenEntry
from chalicelib.tokens.policies import ROOT, PolicyRequest, matches_any_glob, resolve_policies
from chalicelib.tokens.roles import DEFAULT_BATCH, Role
from chalicelib.tokens.ttl import TTLLimits, calculate_ttl

_DISPLAY_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9-]")


@dataclass
class Issue:
    """What a create call asks for, resolved step by step into a new entry."""

    parent: TokenEntry
    is_sudo: bool
    role: Role | None
    entry: TokenEntry
    warnings: list[str] = field(default_factory=list)


def check_parent(parent: TokenEntry) -> None:
    if parent.num_uses < 0:  # this request was its last use: no longer a valid parent
        raise BadRequest("parent token lookup failed: no parent found")
    if parent.type == BATCH:
        raise BadRequest("batch tokens cannot create more tokens")
    if parent.num_uses > 0:
        raise BadRequest("restricted use token cannot generate child tokens")


def token_type(data: FieldData, role: Role | None) -> str:
    """Service or batch, from the call and the role (a role may impose or only default)."""
    wanted = data["type"]
    if role is not None:
        if role.token_type == DEFAULT_BATCH and not wanted:
            wanted = BATCH
        elif role.token_type in (SERVICE, BATCH):
            wanted = role.token_type
    if wanted in ("", SERVICE):
        return SERVICE
    if wanted != BATCH:
        raise BadRequest("invalid 'token_type' value")
    _refuse_batch_options(data)
    return BATCH


def _refuse_batch_options(data: FieldData) -> None:
    # OpenBao checks only the first option that is set (a zero duration passes).
    if data["explicit_max_ttl"]:
        if _seconds(data["explicit_max_ttl"], "'explicit_max_ttl' value could not be parsed"):
            raise BadRequest('batch tokens cannot have "explicit_max_ttl" set')
    elif data["num_uses"]:
        raise BadRequest('batch tokens cannot have "num_uses" set')
    elif data["period"] and _seconds(data["period"], "'period' value could not be parsed"):
        raise BadRequest('batch tokens cannot have "period" set')


def _seconds(text: str, failure: str | None = None) -> int:
    try:
        return parse_duration(text)
    except FieldError as error:
        raise BadRequest(failure or str(error)) from None


def display_name(requested: str) -> str:
    if not requested:
        return "token"
    return _DISPLAY_NAME_UNSAFE.sub("-", "token-" + requested).removesuffix("-")


def base_entry(data: FieldData, path: str, kind: str, role: Role | None, now_ns: int) -> TokenEntry:
    """The entry before policies, parentage and TTLs: path, metadata, uses, name."""
    num_uses = data["num_uses"]
    if num_uses < 0:
        raise BadRequest("number of uses cannot be negative")
    if data["entity_alias"]:
        _check_entity_alias(data["entity_alias"], role)
    entry = TokenEntry(
        accessor="",
        policies=(),
        path=f"auth/token/{path}",
        meta=data["meta"] if data.is_set("meta") else None,
        display_name=display_name(data["display_name"]),
        num_uses=num_uses,
        creation_time=now_ns // NANOS,
        issued_ns=now_ns,
        type=kind,
    )
    if role is None:
        return entry
    uses = role.token_num_uses
    if uses and (not num_uses or uses < num_uses):
        num_uses = uses
    suffix = f"/{role.path_suffix}" if role.path_suffix else ""
    return entry.evolve(role=role.name, num_uses=num_uses, path=entry.path + suffix)


def _check_entity_alias(alias: str, role: Role | None) -> None:
    if role is None:
        raise BadRequest("'entity_alias' is only allowed in combination with token role")
    allowed = role.allowed_entity_aliases or ()
    if alias.lower() not in allowed and not matches_any_glob(allowed, alias.lower()):
        raise BadRequest("invalid 'entity_alias' value")


def resolve_policies_for(issue: Issue, data: FieldData) -> None:
    request = PolicyRequest(
        requested=data["policies"],
        no_default_policy=data["no_default_policy"],
        parent_policies=issue.parent.policies,
        is_sudo=issue.is_sudo,
    )
    policies = resolve_policies(request, issue.role)
    if ROOT in policies:
        if not issue.parent.is_root:
            raise BadRequest("root tokens may not be created without parent token being root")
        if issue.entry.type == BATCH:
            raise BadRequest("batch tokens cannot be root tokens")
    issue.entry = issue.entry.evolve(policies=tuple(policies))


def resolve_parentage(issue: Issue, data: FieldData, *, orphan_path: bool) -> None:
    """Orphan or child (inheriting the parent's entity and, without a role, its CIDRs)."""
    parent = issue.parent
    orphan = orphan_path
    if issue.role is not None:
        orphan = issue.role.orphan
    elif data["no_parent"]:
        if not issue.is_sudo:
            raise BadRequest("root or sudo privileges required to create orphan token")
        orphan = True
    if orphan:
        cidrs = issue.role.effective_bound_cidrs if issue.role else ()
        issue.entry = issue.entry.evolve(parent="", bound_cidrs=cidrs)
        return
    cidrs = issue.role.effective_bound_cidrs if issue.role else parent.bound_cidrs
    issue.entry = issue.entry.evolve(
        parent=parent.salted_id, entity_id=parent.entity_id, bound_cidrs=cidrs
    )


def resolve_ttls(issue: Issue, data: FieldData, limits: TTLLimits, renewable: bool) -> None:
    """TTL, period and explicit max from the call and the role, then the lease itself."""
    explicit, period, ttl = _requested_durations(data, issue.is_sudo)
    explicit_to_use, period_to_use = explicit, period
    role = issue.role
    if role is not None and issue.entry.type != BATCH:
        explicit_to_use = _lesser(
            role.effective_explicit_max_ttl, explicit, issue, "Explicit max TTL"
        )
        period_to_use = _lesser(role.effective_period, period, issue, "Period")
    entry = issue.entry.evolve(explicit_max_ttl=explicit, period=period)
    if period_to_use > 0 or ttl > 0 or ROOT not in entry.policies:
        ttl, warnings = calculate_ttl(
            limits,
            start_ns=entry.issued_ns,
            now_ns=entry.issued_ns,
            backend_ttl=ttl,
            period=period_to_use,
            explicit_max_ttl=explicit_to_use,
        )
        issue.warnings.extend(warnings)
    if ttl == 0 and explicit_to_use > 0:
        ttl = explicit_to_use
    if ttl == 0:
        if issue.parent.ttl != 0:
            raise BadRequest("expiring root tokens cannot create non-expiring root tokens")
        renewable, entry = False, entry.evolve(bound_cidrs=())
    expires = entry.issued_ns + ttl * NANOS if ttl else 0
    if entry.type == BATCH:  # a batch token's lease starts on the whole second
        expires = (entry.creation_time + ttl) * NANOS if ttl else 0
    issue.entry = entry.evolve(ttl=ttl, lease_ttl=ttl, expires_ns=expires, renewable=renewable)


def _requested_durations(data: FieldData, is_sudo: bool) -> tuple[int, int, int]:
    explicit = period = ttl = 0
    if data["explicit_max_ttl"]:
        explicit = _seconds(data["explicit_max_ttl"])
        if explicit < 0:
            raise BadRequest("explicit_max_ttl must be positive")
    if data["period"]:
        period = _seconds(data["period"])
        if period < 0:
            raise BadRequest("period must be positive")
        if period and not is_sudo:
            raise BadRequest("root or sudo privileges required to create periodic token")
    for name in ("ttl", "lease"):
        if data[name]:
            ttl = _seconds(data[name])
            if ttl < 0:
                raise BadRequest(f"{name} must be positive")
            break
    return explicit, period, ttl


def _lesser(from_role: int, requested: int, issue: Issue, label: str) -> int:
    if not from_role:
        return requested
    if not requested:
        return from_role
    chosen = min(from_role, requested)
    issue.warnings.append(
        f"{label} specified both during creation call and in role; "
        f"using the lesser value of {chosen} seconds"
    )
    return chosen


def check_custom_id(token_id: str) -> None:
    if token_id.startswith("hvs."):
        raise BadRequest("custom token ID cannot have the 'hvs.' prefix")
    if token_id.startswith(ids.SERVICE_PREFIX):
        raise BadRequest("custom token ID cannot have the 's.' prefix")
    if "." in token_id:
        raise BadRequest("custom token ID cannot have a '.' in the value")

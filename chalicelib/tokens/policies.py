"""Which policies a new token gets: OpenBao's sanitising, subset and role rules."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.core.errors import BadRequest
from chalicelib.tokens.roles import Role

DEFAULT = "default"
ROOT = "root"
# Policies no token may carry (they are attached only by the system itself).
NON_ASSIGNABLE = frozenset({"response-wrapping"})


def unique_sorted(items: Iterable[str], *, lowercase: bool = True) -> list[str]:
    """Vault's ``strutil.RemoveDuplicates``: trimmed, lowercased, no blanks, sorted."""
    cleaned = (item.strip().lower() if lowercase else item.strip() for item in items)
    return sorted({item for item in cleaned if item})


def sanitize(policies: Iterable[str], *, add_default: bool = False) -> list[str]:
    """Vault's ``SanitizePolicies``: ``root`` stands alone; ``default`` added on request."""
    cleaned = unique_sorted(policies)
    if ROOT in cleaned:
        return [ROOT]
    if add_default and DEFAULT not in cleaned:
        cleaned = sorted([*cleaned, DEFAULT])
    return cleaned


def glob_match(pattern: str, value: str) -> bool:
    """go-glob: ``*`` matches any run of characters; nothing else is special."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.DOTALL) is not None


def matches_any_glob(patterns: Sequence[str], value: str) -> bool:
    return any(glob_match(pattern, value) for pattern in patterns)


def go_quoted(items: Sequence[str]) -> str:
    """A string slice as Go's ``%q`` prints it: ``["a" "b"]``."""
    return "[" + " ".join(json.dumps(item, ensure_ascii=False) for item in items) + "]"


@dataclass(frozen=True, slots=True)
class PolicyRequest:
    requested: list[str]
    no_default_policy: bool
    parent_policies: tuple[str, ...]
    is_sudo: bool


def resolve_policies(request: PolicyRequest, role: Role | None) -> list[str]:
    """The final policy set of a new token, or a 400 with OpenBao's message."""
    if role is not None and role.restricts_policies:
        policies, add_default = _role_policies(request, role), False
    elif not request.requested:
        policies, add_default = sanitize(request.parent_policies), False
    elif not request.is_sudo:
        wanted, held = sanitize(request.requested), set(sanitize(request.parent_policies))
        if not set(wanted) <= held:
            raise BadRequest("child policies must be subset of parent")
        policies = request.requested
        add_default = not request.no_default_policy and DEFAULT in request.parent_policies
    else:
        policies, add_default = request.requested, not request.no_default_policy
    final = sanitize(policies, add_default=add_default)
    if request.no_default_policy:
        final = [name for name in final if name != DEFAULT]
    for name in final:
        if name in NON_ASSIGNABLE:
            raise BadRequest(f'cannot assign policy "{name}"')
    return final


def _role_policies(request: PolicyRequest, role: Role) -> list[str]:
    add_default = not (
        request.no_default_policy
        or role.token_no_default_policy
        or DEFAULT in role.disallowed_policies
        or matches_any_glob(role.disallowed_policies_glob, DEFAULT)
    )
    final = sanitize(request.requested, add_default=add_default) if request.requested else []
    if role.allowed_policies or role.allowed_policies_glob:
        allowed = sanitize(role.allowed_policies, add_default=add_default)
        if not final:
            final = allowed
        else:
            globs = sanitize(role.allowed_policies_glob)
            for name in final:
                if name not in allowed and not matches_any_glob(globs, name):
                    raise BadRequest(
                        f"token policies ({go_quoted(final)}) must be subset of the role's "
                        f"allowed policies ({go_quoted(allowed)}) or glob policies "
                        f"({go_quoted(globs)})"
                    )
    elif not final:
        final = sanitize(request.parent_policies, add_default=add_default)
    disallowed = unique_sorted(role.disallowed_policies)
    disallowed_globs = unique_sorted(role.disallowed_policies_glob)
    for name in final:
        if name in disallowed or matches_any_glob(disallowed_globs, name):
            raise BadRequest(f'token policy "{name}" is disallowed by this role')
    return final

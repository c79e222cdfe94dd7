"""From a decoded path stanza to a validated :class:`PathRule` (OpenBao's
parsePaths checks: capabilities, wrapping TTLs, expiration, wildcards)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from chalicelib.policy.errors import PolicyTextError, go_quote
from chalicelib.policy.model import (
    CAPABILITY_NAMES,
    Capability,
    ParameterMap,
    PathRule,
    freeze_parameters,
)
from chalicelib.policy.path_stanza import RawRule
from chalicelib.policy.scalars import parse_absolute_time, parse_duration_seconds

# The pre-0.5 `policy = "..."` shorthand expands to these capability lists.
_LEGACY_POLICIES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "deny": ("deny",),
        "read": ("read", "list"),
        "write": ("create", "read", "update", "delete", "list"),
        "sudo": ("create", "read", "update", "delete", "list", "sudo"),
    }
)


def derive_path(raw_key: str) -> tuple[str, bool, bool]:
    """From a path key to (match path, is_prefix, has_segment_wildcards)."""
    path = raw_key[1:] if raw_key.startswith("/") else raw_key
    if "+*" in path:
        raise PolicyTextError(
            f"path {go_quote(path)}: invalid use of wildcards ('+*' is forbidden)"
        )
    segment_wildcards = path == "+" or "/+" in path or path.startswith("+/")
    if path.endswith("*") and not segment_wildcards:
        return path[:-1], True, False
    return path, False, segment_wildcards


def _capability_bits(key: str, rule: RawRule) -> Capability | None:
    """Capabilities after the legacy mapping; None means an explicit deny."""
    names = list(rule.capabilities)
    if rule.policy:
        if rule.policy not in _LEGACY_POLICIES:
            raise PolicyTextError(f"path {go_quote(key)}: invalid policy {go_quote(rule.policy)}")
        legacy = _LEGACY_POLICIES[rule.policy]
        names = list(legacy) if rule.policy == "deny" else names + list(legacy)
    bits = Capability(0)
    for name in names:
        if name == "deny":
            return None  # OpenBao stops looking (and validating) at deny
        if name not in CAPABILITY_NAMES:
            raise PolicyTextError(f"path {go_quote(key)}: invalid capability {go_quote(name)}")
        bits |= CAPABILITY_NAMES[name]
    return bits


def _freeze_params(params: dict[str, list[Any]] | None) -> ParameterMap | None:
    if params is None:
        return None
    # Keys are case-insensitive: OpenBao lowercases them (last one wins).
    return freeze_parameters({k.lower(): v for k, v in params.items()})


def _wrapping_bounds(rule: RawRule) -> tuple[int, int]:
    bounds = []
    for label, raw in (("min", rule.min_wrapping_ttl), ("max", rule.max_wrapping_ttl)):
        try:
            bounds.append(parse_duration_seconds(raw))
        except PolicyTextError as exc:
            raise PolicyTextError(f"error parsing {label}_wrapping_ttl: {exc}") from None
    minimum, maximum = bounds
    if minimum and maximum and maximum < minimum:
        raise PolicyTextError("max_wrapping_ttl cannot be less than min_wrapping_ttl")
    return minimum, maximum


def rule_expiration(key: str, rule: RawRule) -> datetime | None:
    """The stanza's ``expiration`` as a time, None when it has none."""
    if not rule.expiration:
        return None
    try:
        return parse_absolute_time(rule.expiration)
    except PolicyTextError as exc:
        raise PolicyTextError(f"path {go_quote(key)}: invalid expiration time: {exc}") from None


def build_rule(key: str, templated: bool, rule: RawRule, expiration: datetime | None) -> PathRule:
    """Validate the decoded stanza for path ``key`` into a :class:`PathRule`."""
    path, is_prefix, segment_wildcards = derive_path(key)
    bits = _capability_bits(key, rule)
    common = {
        "raw_path": key,
        "path": path,
        "is_prefix": is_prefix,
        "has_segment_wildcards": segment_wildcards,
        "templated": templated,
        "expiration": expiration,
    }
    if bits is None:
        return PathRule(capabilities=Capability.DENY, **common)
    minimum, maximum = _wrapping_bounds(rule)
    if rule.response_keys_filter_path and not bits & Capability.LIST:
        raise PolicyTextError(
            "list_scan_response_keys_filter_path needs to be used on a path with the list"
            " capability"
        )
    return PathRule(
        capabilities=bits,
        min_wrapping_ttl_ns=minimum,
        max_wrapping_ttl_ns=maximum,
        allowed_parameters=_freeze_params(rule.allowed_parameters),
        denied_parameters=_freeze_params(rule.denied_parameters),
        required_parameters=tuple(rule.required_parameters),
        mfa_methods=tuple(rule.mfa_methods) if rule.mfa_methods is not None else None,
        pagination_limit=rule.pagination_limit,
        response_keys_filter_path=rule.response_keys_filter_path,
        **common,
    )

"""Claims as OpenBao's jwt plugin reads them (claims.go): plain names or JSON pointers
(``/a/b``), bound claims (exact or glob), claim mappings, the user and groups claims."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.policy.errors import go_quote

_MISSING = object()


def get_claim(claims: Mapping[str, Any], name: str) -> Any:
    """A claim by name, or by RFC 6901 JSON pointer when the name starts with "/";
    None when absent. Numbers read as integers (OpenBao's json.Number of an int)."""
    value = _pointer(claims, name) if name.startswith("/") else claims.get(name)
    if name == "aud" and isinstance(value, str):
        return [value]
    if isinstance(value, float):
        return int(value)
    return value


def _pointer(claims: Mapping[str, Any], pointer: str) -> Any:
    value: Any = claims
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, Mapping):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is _MISSING:
            return None
    return value


def normalize_list(raw: Any) -> list[Any] | None:
    """A list, or a lone string, bool or number as a one-item list; None otherwise."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str | bool | int | float):
        return [raw]
    return None


def user_name(claims: Mapping[str, Any], user_claim: str, json_pointer: bool) -> str:
    raw = get_claim(claims, user_claim) if json_pointer else claims.get(user_claim)
    if raw is None:
        raise BadRequest(f"claim {go_quote(user_claim)} not found in token")
    if not isinstance(raw, str):
        raise BadRequest(f"claim {go_quote(user_claim)} could not be converted to string")
    return raw


def metadata(claims: Mapping[str, Any], mappings: Mapping[str, str]) -> dict[str, str]:
    """Alias metadata from ``claim_mappings`` (claim -> metadata key); a mapped claim
    must be a string."""
    found: dict[str, str] = {}
    for source, target in mappings.items():
        value = get_claim(claims, source)
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadRequest(f"error converting claim '{source}' to string")
        found[target] = value
    return found


def group_names(claims: Mapping[str, Any], groups_claim: str) -> tuple[str, ...]:
    """The groups claim's non-empty names: the login's external group aliases."""
    raw = get_claim(claims, groups_claim)
    if raw is None:
        raise BadRequest(
            f"failed to fetch groups: {go_quote(groups_claim)} claim not found in token"
        )
    groups = normalize_list(raw)
    if groups is None:
        raise BadRequest(f"{go_quote(groups_claim)} claim could not be converted to string list")
    names = []
    for group in groups:
        if not isinstance(group, str):
            raise BadRequest(f"value {group} in groups claim could not be parsed as string")
        if group:
            names.append(group)
    return tuple(names)


def check_bound_claims(
    claims: Mapping[str, Any], bound: Mapping[str, Any], use_globs: bool
) -> None:
    """Every bound claim must be present and match one of its values (OpenBao's
    validateBoundClaims); texts are prefixed "error validating claims: " by the caller."""
    for name, expected in bound.items():
        actual = get_claim(claims, name)
        if actual is None:
            raise BadRequest(f"error validating claims: claim {go_quote(name)} is missing")
        actual_values = normalize_list(actual)
        expected_values = normalize_list(expected)
        if actual_values is None:
            raise BadRequest("error validating claims: received claim is not a string, bool, "
                             "int or list")
        if expected_values is None:
            raise BadRequest("error validating claims: bound claim is not a string, bool, "
                             "int or list")
        if not any(_matches(want, got, use_globs)
                   for want in expected_values for got in actual_values):  # fmt: skip
            raise BadRequest(
                f"error validating claims: claim {go_quote(name)} does not match any "
                "associated bound claim values"
            )


def _matches(want: Any, got: Any, use_globs: bool) -> bool:
    if use_globs:
        return isinstance(want, str) and isinstance(got, str) and glob_match(want, got)
    return _canonical(want) == _canonical(got)


def _canonical(value: Any) -> tuple[str, Any]:
    # A bool is not the number 1, and 5 == 5.0 (JSON numbers are Go's json.Number).
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", int(value))
    return (type(value).__name__, value)


def glob_match(pattern: str, value: str) -> bool:
    """ryanuber/go-glob: "*" matches any run of characters (and "/"); nothing else is
    special, unlike fnmatch's "?" and "[...]"."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, re.DOTALL) is not None


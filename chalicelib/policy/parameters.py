"""Request-time checks on parameters: required, denied and allowed parameter
values, and the ``limit`` of paginated lists (``pagination_limit``).

Each check returns an empty string when the request passes, otherwise the
(internal, log-only) reason for the denial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.core.globs import globbed_match
from chalicelib.policy.model import MapList, ParameterMap
from chalicelib.policy.permissions import Permissions
from chalicelib.policy.scalars import fits_int64


def _deep_equal(policy_value: Any, request_value: Any) -> bool:
    """Go's reflect.DeepEqual between a policy value and a request value.

    Request numbers arrive in OpenBao as ``json.Number`` - a type no policy
    value ever has - so a number never matches anything.  A request ``tuple``
    stands for a repeated query parameter (Go ``[]string``), which no policy
    list equals either.
    """
    if isinstance(policy_value, bool) or isinstance(request_value, bool):
        return type(policy_value) is type(request_value) and policy_value == request_value
    if isinstance(policy_value, str):
        return isinstance(request_value, str) and policy_value == request_value
    if isinstance(policy_value, MapList):
        return False
    if isinstance(policy_value, tuple):
        return (
            isinstance(request_value, list)
            and len(policy_value) == len(request_value)
            and all(_deep_equal(p, r) for p, r in zip(policy_value, request_value, strict=True))
        )
    if isinstance(policy_value, Mapping):
        return (
            isinstance(request_value, dict)
            and policy_value.keys() == request_value.keys()
            and all(_deep_equal(policy_value[k], request_value[k]) for k in policy_value)
        )
    return False  # numbers: Go int/float64 never equal json.Number


def _value_allowed(value: Any, candidates: Sequence[Any]) -> bool:
    """OpenBao's valueInParameterList: an empty list admits any value."""
    if not candidates:
        return True
    for candidate in candidates:
        if value is None:
            continue  # a policy can never hold a null, so null matches nothing
        if isinstance(candidate, str) and isinstance(value, str):
            if globbed_match(candidate, value):
                return True
        elif _deep_equal(candidate, value):
            return True
    return False


def parameters_verdict(perms: Permissions, data: Mapping[str, Any]) -> str:
    """Empty string when the parameters pass, otherwise the (internal) reason."""
    for name in perms.required_parameters:
        if name.lower() not in data:
            return f"missing required parameter {name!r}"
    if not data:
        return ""
    denied = perms.denied_parameters
    if denied:
        if "*" in denied:
            return "all parameters are denied"
        for key, value in data.items():
            values = denied.get(key.lower())
            if values is not None and _value_allowed(value, values):
                return f"parameter {key!r} is denied"
    return _allowed_verdict(perms.allowed_parameters, data)


def _allowed_verdict(allowed: ParameterMap | None, data: Mapping[str, Any]) -> str:
    if not allowed:
        return ""
    allow_all = "*" in allowed
    if allow_all and len(allowed) == 1:
        return ""  # a lone "*" admits everything, whatever its value list
    for key, value in data.items():
        values = allowed.get(key.lower())
        if values is None and not allow_all:
            return f"parameter {key!r} is not allowed"
        if values is not None and not _value_allowed(value, values):
            return f"value of parameter {key!r} is not allowed"
    return ""


def _parse_limit(raw: Any) -> int | None:
    """parseutil.SafeParseInt for a request's ``limit``; None when unparsable."""
    if isinstance(raw, (bool, float)):
        return None
    if isinstance(raw, int):
        return raw if fits_int64(raw) else None
    if not isinstance(raw, str):
        return None
    if raw == "":
        return 0
    body = raw[1:] if raw[:1] in "+-" else raw
    if not body.isascii() or not body.isdigit():
        return None
    value = int(raw)
    return value if fits_int64(value) else None


def pagination_verdict(perms: Permissions, data: Mapping[str, Any]) -> tuple[str, str | None]:
    """(denial reason or "", value to force into ``limit`` or None)."""
    limit = perms.pagination_limit
    if limit <= 0:
        return "", ("0" if data.get("limit") == "max" else None)
    if "limit" not in data:
        if any(name.lower() == "limit" for name in perms.required_parameters):
            return "limit is required by pagination_limit", None
        return "", str(limit)
    requested = _parse_limit(data["limit"])
    if requested is None:
        if data["limit"] == "max":
            return "", str(limit)
        return "limit is not an integer", None
    if requested > limit or requested < 0:
        return f"limit {requested} is outside 0..{limit}", None
    return "", (str(limit) if requested == 0 else None)

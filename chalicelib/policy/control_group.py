"""``control_group`` stanzas: validated exactly as OpenBao validates them, then
ignored (control groups are never enforced)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from chalicelib.policy.decode import (
    FieldNode,
    decode_any,
    decode_bool,
    decode_int,
    decode_string_slice,
    field_nodes,
    invalid_keys,
    object_items,
)
from chalicelib.policy.errors import PolicyTextError, multierror
from chalicelib.policy.scalars import parse_duration_seconds
from chalicelib.policy.syntax import (
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectType,
    filter_items,
)

# Operations a control-group factor may name (logical.AllOperations).
_CONTROL_GROUP_OPERATIONS: Final = frozenset(
    {
        "create",
        "read",
        "update",
        "patch",
        "delete",
        "list",
        "scan",
        "help",
        "alias-lookahead",
        "resolve-role",
        "header",
        "revoke",
        "renew",
        "rollback",
    }
)


@dataclass(slots=True)
class _Factor:
    name: str
    capabilities: list[str] = field(default_factory=list)
    group_names: list[str] = field(default_factory=list)
    approvals: int = 0


def _decode_identity(factor: _Factor, node: FieldNode) -> None:
    items = object_items("root.Identity", node, "struct")
    for value in field_nodes(items, "group_names"):
        decode_string_slice("root.Identity.group_names", value, factor.group_names)
    for value in field_nodes(items, "approvals"):
        if isinstance(value, ObjectType | ListType | LiteralType):
            factor.approvals = decode_int("root.Identity.Approvals", value)


def _decode_factor(item: ObjectItem) -> _Factor:
    """One `factor "name" { ... }` block; errors carry OpenBao's prefixes."""
    prefix = "path control_group factor:"
    bad = invalid_keys(item.value, ("controlled_capabilities", "identity"))
    if bad:
        raise PolicyTextError("\n".join(f"{prefix} {message}" for message in bad))
    factor = _Factor(name="")
    assert isinstance(item.value, ObjectType)
    try:
        for value in field_nodes(item.value.items, "controlled_capabilities"):
            decode_string_slice("root.controlled_capabilities", value, factor.capabilities)
        for value in field_nodes(item.value.items, "identity"):
            _decode_identity(factor, value)
    except PolicyTextError as exc:
        raise PolicyTextError(f"{prefix} {exc}") from None
    if not item.keys:
        raise PolicyTextError(f"{prefix} require name key")
    factor.name = item.keys[0].value
    return factor


def _decode_factors(node: ObjectType) -> list[_Factor]:
    factors: list[_Factor] = []
    problems: list[str] = []
    for item in filter_items(node.items, "factor"):
        try:
            factors.append(_decode_factor(item))
        except PolicyTextError as exc:
            problems.extend(str(exc).split("\n"))
    if problems:
        raise PolicyTextError(f"error handling control_group factor: {multierror(problems)}")
    return factors


def _control_group_problem(node: Node) -> str | None:
    """The first problem OpenBao reports for one control_group stanza."""
    try:
        bad = invalid_keys(node, ("ttl", "self_auth_allowed", "factor"))
    except PolicyTextError as exc:
        return str(exc)
    if bad:
        return bad[0] if len(bad) == 1 else "\n".join(bad)
    assert isinstance(node, ObjectType)
    try:
        ttl_nodes = field_nodes(node.items, "ttl")
        for value in field_nodes(node.items, "self_auth_allowed"):
            if not isinstance(value, list):
                decode_bool("root.self_auth_allowed", value)
        ttl = [decode_any("root.ttl", v) for v in ttl_nodes]
    except PolicyTextError as exc:
        return f"path control_group: {exc}"
    try:
        factors = _decode_factors(node)
    except PolicyTextError as exc:
        return str(exc)
    return _control_group_semantics(ttl[-1] if ttl else None, factors)


def _control_group_semantics(ttl: Any, factors: Sequence[_Factor]) -> str | None:
    try:
        parse_duration_seconds(ttl)
    except PolicyTextError as exc:
        return f"path control_group: invalid ttl: {exc}"
    for factor in factors:
        for operation in factor.capabilities:
            if operation not in _CONTROL_GROUP_OPERATIONS:
                return f"path control_group Operation(s) not valid: {operation}"
    if not factors:
        return "requires at least one factor but had none"
    for index, factor in enumerate(factors):
        if not factor.capabilities:
            return f"factor {index}: missing controlled capabilities"
        if factor.approvals <= 0:
            return f"factor {index}: missing required approvals"
        if not factor.group_names:
            return f"factor {index}: missing approving groups"
    return None


def check_control_group(node: ObjectType) -> None:
    """control_group is validated as OpenBao does, then ignored (never enforced)."""
    problems: list[str] = []
    for group in filter_items(node.items, "control_group"):
        problem = _control_group_problem(group.value)
        if problem is not None:
            problems.extend(problem.split("\n") if problem.startswith("invalid key") else [problem])
    if problems:
        raise PolicyTextError(f"error handling control_group: {multierror(problems)}")

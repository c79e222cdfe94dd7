"""The fields of one ``path`` stanza, decoded as OpenBao's Go struct is decoded
(field by field, in struct order, so that the first error is OpenBao's)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from chalicelib.policy.decode import (
    decode_any,
    decode_int,
    decode_param_map,
    decode_string_slice,
    decode_strings,
    field_nodes,
    scalar_field_nodes,
)
from chalicelib.policy.syntax import ObjectItem, ObjectType

# The keys a path stanza may hold (OpenBao's checkHCLKeys list).
PATH_KEYS: Final = (
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "pagination_limit",
    "expiration",
    "list_scan_response_keys_filter_path",
    "control_group",
)


@dataclass(slots=True)
class RawRule:
    """The fields of one path block as HCL decoding leaves them."""

    policy: str = ""
    capabilities: list[str] = field(default_factory=list)
    expiration: str = ""
    min_wrapping_ttl: Any = None
    max_wrapping_ttl: Any = None
    allowed_parameters: dict[str, list[Any]] | None = None
    denied_parameters: dict[str, list[Any]] | None = None
    required_parameters: list[str] = field(default_factory=list)
    mfa_methods: list[str] | None = None
    pagination_limit: int = 0
    response_keys_filter_path: str = ""


# Struct fields without an `hcl` tag are named after the Go field in errors.
_UNTAGGED_FIELDS: Final = MappingProxyType({"policy": "Policy", "capabilities": "Capabilities"})


def _go_field_name(key: str) -> str:
    return f"root.{_UNTAGGED_FIELDS.get(key, key)}"


def _field_value(rule: RawRule, key: str, empty: Callable[[], Any]) -> Any:
    """The field's current value, created empty on first use (Go's nil slice/map)."""
    current = getattr(rule, key)
    if current is None:
        current = empty()
        setattr(rule, key, current)
    return current


def _decode_scalar_field(rule: RawRule, items: Sequence[ObjectItem], key: str, attr: str) -> None:
    for value in decode_strings(_go_field_name(key), items, key):
        setattr(rule, attr, value)


def _decode_any_field(rule: RawRule, items: Sequence[ObjectItem], key: str) -> None:
    for node in field_nodes(items, key):
        setattr(rule, key, decode_any(_go_field_name(key), node))


def _decode_list_field(rule: RawRule, items: Sequence[ObjectItem], key: str) -> None:
    for node in field_nodes(items, key):
        decode_string_slice(_go_field_name(key), node, _field_value(rule, key, list))


def _decode_map_field(rule: RawRule, items: Sequence[ObjectItem], key: str) -> None:
    for node in field_nodes(items, key):
        decode_param_map(_go_field_name(key), node, _field_value(rule, key, dict))


def _decode_int_field(rule: RawRule, items: Sequence[ObjectItem], key: str) -> None:
    name = _go_field_name(key)
    for node in scalar_field_nodes(name, items, key, "unknown type"):
        rule.pagination_limit = decode_int(name, node)


def decode_rule(node: ObjectType) -> RawRule:
    """Decode a path block in the Go struct's field order (first error wins)."""
    items = node.items
    rule = RawRule()
    _decode_scalar_field(rule, items, "policy", "policy")
    _decode_list_field(rule, items, "capabilities")
    _decode_scalar_field(rule, items, "expiration", "expiration")
    _decode_any_field(rule, items, "min_wrapping_ttl")
    _decode_any_field(rule, items, "max_wrapping_ttl")
    _decode_map_field(rule, items, "allowed_parameters")
    _decode_map_field(rule, items, "denied_parameters")
    _decode_list_field(rule, items, "required_parameters")
    _decode_list_field(rule, items, "mfa_methods")
    _decode_int_field(rule, items, "pagination_limit")
    _decode_scalar_field(
        rule, items, "list_scan_response_keys_filter_path", "response_keys_filter_path"
    )
    return rule

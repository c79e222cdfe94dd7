"""Decoding AST values into Go-typed fields, with hcl.DecodeObject's semantics
and error messages (``root.<field>: unknown type for string ...``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from chalicelib.policy.errors import PolicyTextError, go_quote, multierror, pos_error
from chalicelib.policy.model import MapList
from chalicelib.policy.scalars import go_parse_int0
from chalicelib.policy.syntax import (
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectType,
    filter_items,
    go_type,
    item_pos,
    node_pos,
)

# What hcl's struct decoder hands one field: a value, or a bare ObjectList.
FieldNode = Node | list[ObjectItem]


def raise_type(name: str, node: Node, what: str) -> Any:
    raise PolicyTextError(pos_error(node_pos(node), f"{name}: {what} {go_type(node)}"))


def decode_string(name: str, node: Node) -> str:
    if isinstance(node, LiteralType) and node.kind in ("number", "string", "heredoc"):
        return node.text if node.kind == "number" else str(node.value)
    return raise_type(name, node, "unknown type for string")


def decode_int(name: str, node: Node) -> int:
    if isinstance(node, LiteralType) and node.kind == "number":
        return go_parse_int0(node.text)
    if isinstance(node, LiteralType) and node.kind in ("string", "heredoc"):
        return go_parse_int0(str(node.value))
    return raise_type(name, node, "unknown type")


def decode_bool(name: str, node: Node) -> bool:
    if isinstance(node, LiteralType) and node.kind == "bool":
        return bool(node.value)
    return raise_type(name, node, "unknown type")


def _slice_elements(node: FieldNode) -> list[Node | ObjectItem]:
    if isinstance(node, list):  # an ObjectList of prefix matches
        return list(node)
    if isinstance(node, ListType):
        return list(node.elements)
    if isinstance(node, ObjectType):
        return [node]
    raise PolicyTextError(pos_error(node_pos(node), f"unknown slice type: {go_type(node)}"))


def decode_string_slice(name: str, node: FieldNode, into: list[str]) -> None:
    for index, element in enumerate(_slice_elements(node)):
        if isinstance(element, ObjectItem):
            message = f"{name}[{index}]: unknown type for string *ast.ObjectItem"
            raise PolicyTextError(pos_error(element.keys[0].pos if element.keys else None, message))
        into.append(decode_string(f"{name}[{index}]", element))


def decode_interface(name: str, node: Node | ObjectItem, in_slice: bool) -> Any:
    """Decode into interface{}; objects become maps only directly inside slices."""
    if isinstance(node, ObjectItem):
        message = f"{name}: cannot decode into interface: *ast.ObjectItem"
        raise PolicyTextError(message)
    if isinstance(node, LiteralType):
        if node.kind == "number":
            return go_parse_int0(node.text)
        return node.value
    if isinstance(node, ListType):
        return tuple(decode_interface(f"{name}[{i}]", e, True) for i, e in enumerate(node.elements))
    mapping = _decode_interface_map(name, node.items)
    return mapping if in_slice else MapList((mapping,))


def _decode_interface_map(name: str, items: Sequence[ObjectItem]) -> Mapping[str, Any]:
    result: dict[str, Any] = {}
    for item in items:
        key = item.keys[0].value
        if len(item.keys) == 1:
            result[key] = decode_interface(f"{name}.{key}", item.value, False)
        elif key not in result:  # multi-key items are gathered once, by first key
            items_for_key = ObjectType(filter_items(items, key))
            result[key] = decode_interface(f"{name}.{key}", items_for_key, False)
    return MappingProxyType(result)


def decode_any(name: str, node: FieldNode) -> Any:
    """Decode one struct field of type interface{}."""
    return decode_interface(name, ObjectType(node) if isinstance(node, list) else node, False)


def object_items(name: str, node: FieldNode, target: str) -> list[ObjectItem]:
    """The items of an object decoded into a Go ``target`` (map or struct)."""
    if isinstance(node, LiteralType | ListType):
        message = f"{name}: not an object type for {target} ({go_type(node)})"
        raise PolicyTextError(pos_error(node.pos, message))
    return node.items if isinstance(node, ObjectType) else node


def decode_param_map(name: str, node: FieldNode, into: dict[str, list[Any]]) -> None:
    """Decode ``map[string][]interface{}`` (allowed/denied_parameters)."""
    items = object_items(name, node, "map")
    done: set[str] = set()
    for item in items:
        if not item.keys:
            raise PolicyTextError(f"{name}: map must have string keys")
        key = item.keys[0].value
        if key in done:
            continue
        value: FieldNode = item.value
        if len(item.keys) > 1:
            value = filter_items(items, key)
            done.add(key)
        target = into.setdefault(key, [])
        for index, element in enumerate(_slice_elements(value)):
            target.append(decode_interface(f"{name}.{key}[{index}]", element, True))


def field_nodes(items: Sequence[ObjectItem], key: str) -> list[FieldNode]:
    """What hcl's struct decoder feeds a field: prefix matches, then each value."""
    matches = filter_items(items, key)
    nested = [m for m in matches if m.keys]
    nodes: list[FieldNode] = [nested] if nested else []
    # An object value is handed over as its bare item list (Go: ObjectList).
    nodes.extend(
        m.value.items if isinstance(m.value, ObjectType) else m.value for m in matches if not m.keys
    )
    return nodes


def scalar_field_nodes(
    name: str, items: Sequence[ObjectItem], key: str, what: str
) -> Iterator[Node]:
    """The values of a scalar field, in decoding order; an ObjectList (prefix
    matches) is reported as "<name>: <what> *ast.ObjectList" when reached."""
    for node in field_nodes(items, key):
        if isinstance(node, list):
            message = f"{name}: {what} *ast.ObjectList"
            raise PolicyTextError(pos_error(item_pos(node), message))
        yield node


def decode_strings(name: str, items: Sequence[ObjectItem], key: str) -> list[str]:
    """Each value a string field named ``key`` receives, in decoding order."""
    nodes = scalar_field_nodes(name, items, key, "unknown type for string")
    return [decode_string(name, node) for node in nodes]


def invalid_keys(node: Node, valid: Sequence[str]) -> list[str]:
    """OpenBao's checkHCLKeys messages for the keys of ``node`` not in ``valid``."""
    if not isinstance(node, ObjectType):
        raise PolicyTextError(f"cannot check HCL keys of type {go_type(node)}")
    return [
        f"invalid key {go_quote(item.keys[0].value)} on line {item.assign_line}"
        for item in node.items
        if item.keys[0].value not in valid
    ]


def check_keys(node: Node, valid: Sequence[str]) -> None:
    bad = invalid_keys(node, valid)
    if bad:
        raise PolicyTextError(multierror(bad))

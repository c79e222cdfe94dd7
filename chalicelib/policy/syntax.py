"""A small HCL1-shaped AST, shared by the HCL and JSON front ends.

Node names follow HCL1's ``ast`` package, whose type names appear in
OpenBao's error messages (see :func:`go_type`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Pos = tuple[int, int] | None


@dataclass(slots=True)
class LiteralType:
    kind: str  # "string" | "heredoc" | "number" | "float" | "bool"
    value: Any
    text: str
    pos: Pos = None


@dataclass(slots=True)
class ListType:
    elements: list[Node]
    pos: Pos = None


@dataclass(slots=True)
class ObjectKey:
    value: str
    pos: Pos = None
    text: str = ""  # source spelling, for HCL1's error messages


@dataclass(slots=True)
class ObjectItem:
    keys: list[ObjectKey]
    value: Node
    assign_line: int = 0  # Go reports line 0 for blocks (no '=' token)


@dataclass(slots=True)
class ObjectType:
    items: list[ObjectItem]
    pos: Pos = None
    is_root: bool = False


Node = LiteralType | ListType | ObjectType


def go_type(node: Node) -> str:
    """The Go type name HCL1's decoder reports for ``node``."""
    if isinstance(node, LiteralType):
        return "*ast.LiteralType"
    if isinstance(node, ListType):
        return "*ast.ListType"
    return "*ast.ObjectList" if node.is_root else "*ast.ObjectType"


def item_pos(items: Sequence[ObjectItem]) -> Pos:
    """An ObjectList's position: its first key's, or Go's invalid position."""
    return items[0].keys[0].pos if items and items[0].keys else (0, 0)


def node_pos(node: Node) -> Pos:
    if isinstance(node, ObjectType) and node.pos is None:
        return item_pos(node.items)
    return node.pos


def filter_items(items: Iterable[ObjectItem], key: str) -> list[ObjectItem]:
    """ast.ObjectList.Filter: items whose first key matches, with it removed."""
    return [
        ObjectItem(item.keys[1:], item.value, item.assign_line)
        for item in items
        if item.keys and item.keys[0].value.casefold() == key.casefold()
    ]


class Lines:
    """Offset -> (line, column) in O(log n), both 1-based like HCL1's."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1

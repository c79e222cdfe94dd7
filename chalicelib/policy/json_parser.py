"""HCL1's JSON dialect: a JSON document read into the shared AST, including
HCL1's flattening of objects whose members are all objects."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Final

from chalicelib.policy.errors import PolicyTextError
from chalicelib.policy.syntax import (
    Lines,
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectKey,
    ObjectType,
)

_JSON_NUMBER_RE: Final = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")


class _JsonReader:
    """Recursive-descent reader producing the HCL1 AST for a JSON document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0
        self._lines = Lines(text)

    def pos(self) -> tuple[int, int]:
        """HCL1's JSON parser drops positions; only the ':' line is kept."""
        return (0, 0)

    def line(self) -> int:
        return self._lines.position(self.index)[0]

    def fail(self, message: str) -> PolicyTextError:
        line, col = self._lines.position(self.index)
        return PolicyTextError(f"{line}:{col}: {message}")

    def peek(self) -> str:
        self.index += len(self.text[self.index :]) - len(self.text[self.index :].lstrip(" \t\n\r"))
        return self.text[self.index : self.index + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.index += 1

    def read_object(self) -> ObjectType:
        pos = self.pos()
        self.expect("{")
        items: list[ObjectItem] = []
        while self.peek() != "}":
            key_pos = self.pos()
            key = self.read_string()
            assign_line = self.line()
            self.expect(":")
            items.append(ObjectItem([ObjectKey(key, key_pos)], self.read_value(), assign_line))
            if self.peek() != ",":
                break
            self.index += 1
        self.expect("}")
        return ObjectType(items, pos)

    def read_string(self) -> str:
        if self.peek() != '"':
            raise self.fail("expected: STRING")
        try:
            value, self.index = json.decoder.scanstring(self.text, self.index + 1)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg) from None
        return value

    def read_list(self) -> ListType:
        pos = self.pos()
        self.expect("[")
        elements: list[Node] = []
        while self.peek() != "]":
            value = self.read_value()
            # HCL1's JSON list reader silently skips booleans.
            if not (isinstance(value, LiteralType) and value.kind == "bool"):
                if isinstance(value, ListType):
                    raise self.fail("unexpected token while parsing list: LBRACK")
                elements.append(value)
            if self.peek() != ",":
                break
            self.index += 1
        self.expect("]")
        return ListType(elements, pos)

    def read_value(self) -> Node:
        char = self.peek()
        pos = self.pos()
        if char == "{":
            return self.read_object()
        if char == "[":
            return self.read_list()
        if char == '"':
            value = self.read_string()
            return LiteralType("string", value, value, pos)
        return self.read_scalar(pos)

    def read_scalar(self, pos: tuple[int, int]) -> LiteralType:
        for word, lit in (("true", True), ("false", False)):
            if self.text.startswith(word, self.index):
                self.index += len(word)
                return LiteralType("bool", lit, word, pos)
        if self.text.startswith("null", self.index):
            self.index += 4
            return LiteralType("string", "", "", pos)  # HCL1 turns JSON null into ""
        match = _JSON_NUMBER_RE.match(self.text, self.index)
        if not match:
            raise self.fail("Expected object value, got unknown token")
        self.index = match.end()
        raw = match.group(0)
        if match.group(1) or match.group(2):
            return LiteralType("float", float(raw), raw, pos)
        return LiteralType("number", int(raw), raw, pos)


def _all_objects(nodes: Iterable[Node]) -> bool:
    return all(isinstance(n, ObjectType) for n in nodes)


def _flatten_item(item: ObjectItem) -> list[ObjectItem] | None:
    """One step of HCL1's JSON flattening; None when the item stays as is."""
    value = item.value
    if isinstance(value, ObjectType) and value.items and _all_objects(i.value for i in value.items):
        return [ObjectItem(item.keys + i.keys, i.value, item.assign_line) for i in value.items]
    if isinstance(value, ListType) and value.elements and _all_objects(value.elements):
        return [ObjectItem(item.keys, e, item.assign_line) for e in value.elements]
    return None


def _flatten_list(items: list[ObjectItem]) -> list[ObjectItem]:
    result: list[ObjectItem] = []
    frontier = list(items)
    while frontier:
        item = frontier.pop(0)
        expanded = _flatten_item(item)
        if expanded is None:
            result.append(item)
        else:
            frontier[0:0] = expanded
    for item in result:
        _flatten_node(item.value)
    return result


def _flatten_node(node: Node) -> None:
    if isinstance(node, ObjectType):
        node.items = _flatten_list(node.items)
    elif isinstance(node, ListType):
        for element in node.elements:
            _flatten_node(element)


def parse_json(text: str) -> ObjectType:
    """Parse a JSON policy into the root ObjectList, flattened as HCL1 does."""
    reader = _JsonReader(text)
    root = reader.read_object()  # HCL1 ignores anything after the object
    root.items = _flatten_list(root.items)
    root.is_root = True
    return root

"""Records rebuilt from stored JSON objects: positionally, tolerant of old and new forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pytest

from chalicelib.core.records import build


class Point(NamedTuple):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


@dataclass
class Box:
    name: str
    items: list[int] = field(default_factory=list)
    size: int = 1


def test_a_named_tuple_from_a_stored_object() -> None:
    assert build(Point, {"y": 2, "x": 1, "added_later": True}) == Point(1, 2)
    assert build(Point, {"x": 1, "y": 2}, y=5, tags=("a",)) == Point(1, 5, ("a",))


def test_a_dataclass_takes_its_defaults_and_a_fresh_factory_value() -> None:
    first, second = build(Box, {"name": "a"}), build(Box, {"name": "b"})
    assert first == Box("a") and second == Box("b")
    assert first.items is not second.items
    assert build(Box, {"name": "c", "items": [1], "size": 3}) == Box("c", [1], 3)


def test_a_missing_required_field_is_an_error() -> None:
    with pytest.raises(TypeError, match="Point needs 'x'"):
        build(Point, {"y": 1})


def test_a_one_field_record() -> None:
    class Only(NamedTuple):
        name: str

    assert build(Only, {"name": "x", "other": 1}) == Only("x")

"""JSON decoded as Vault's jsonutil.DecodeJSON decodes a role's `vhosts` and
`vhost_topics`, with Go's error texts, so a bad role gets the 400 Vault gives.

Go's stream decoder reads the first JSON value and ignores what follows; it checks the
whole value's syntax before it converts anything, and reports the first conversion
error. Python's decoder is more lenient (NaN, Infinity), so the syntax is checked here
with Go's scanner rules and words first.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WHITESPACE = " \t\r\n"
_LITERALS = {"n": "null", "t": "true", "f": "false"}
_ESCAPES = '"\\/bfnrtu'
_HEX = "0123456789abcdefABCDEF"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Go refuses nesting past 10000 with this text; Python's recursion stops far earlier, and
# a role is two levels deep, so the limit is lower here.
MAX_DEPTH = 100


class GoJSONError(ValueError):
    """A value Go's decoder refuses; the message is Go's."""


def _quote_char(char: str) -> str:
    # Go's quoteChar: the character in single quotes, escaped as strconv.Quote does.
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char, ensure_ascii=False)[1:-1] + "'"


class _Scanner:
    """Go's encoding/json scanner, enough to find where the first value ends or why
    it is not JSON."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0

    def peek(self) -> str:
        if self.at >= len(self.text):
            raise GoJSONError("unexpected EOF")
        return self.text[self.at]

    def fail(self, context: str) -> GoJSONError:
        return GoJSONError(f"invalid character {_quote_char(self.peek())} {context}")

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in _WHITESPACE:
            self.at += 1

    def value(self) -> None:
        self.skip_space()
        char = self.peek()
        if char == "{":
            self.sequence("}", self.member, "after object key:value pair")
        elif char == "[":
            self.sequence("]", self.value, "after array element")
        elif char == '"':
            self.string()
        elif char == "-" or char.isdigit():
            self.number()
        elif char in _LITERALS:
            self.literal(_LITERALS[char])
        else:
            raise self.fail("looking for beginning of value")

    def sequence(self, close: str, item: Any, after_item: str) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise GoJSONError("exceeded max depth")
        self.at += 1
        self.skip_space()
        if self.peek() != close:
            item()
            self.skip_space()
            while self.peek() == ",":
                self.at += 1
                item()
                self.skip_space()
            if self.peek() != close:
                raise self.fail(after_item)
        self.at += 1
        self.depth -= 1

    def member(self) -> None:
        self.skip_space()
        if self.peek() != '"':
            raise self.fail("looking for beginning of object key string")
        self.string()
        self.skip_space()
        if self.peek() != ":":
            raise self.fail("after object key")
        self.at += 1
        self.value()

    def string(self) -> None:
        self.at += 1
        while (char := self.peek()) != '"':
            if char < " ":
                raise self.fail("in string literal")
            self.at += 1
            if char == "\\":
                if self.peek() not in _ESCAPES:
                    raise self.fail("in string escape code")
                if self.peek() == "u":
                    self.at += 1
                    for _ in range(4):
                        if self.peek() not in _HEX:
                            raise self.fail("in \\u hexadecimal character escape")
                        self.at += 1
                else:
                    self.at += 1
        self.at += 1

    def digits(self, context: str) -> None:
        if not self.peek().isdigit():
            raise self.fail(context)
        while self.at < len(self.text) and self.text[self.at].isdigit():
            self.at += 1

    def number(self) -> None:
        if self.peek() == "-":
            self.at += 1
        if self.peek() == "0":
            self.at += 1
        else:
            self.digits("in numeric literal")
        if self.at < len(self.text) and self.text[self.at] == ".":
            self.at += 1
            self.digits("after decimal point in numeric literal")
        if self.at < len(self.text) and self.text[self.at] in "eE":
            self.at += 1
            if self.peek() in "+-":
                self.at += 1
            self.digits("in exponent of numeric literal")

    def literal(self, word: str) -> None:
        for expected in word:
            if self.peek() != expected:
                raise self.fail(f"in literal {word} (expecting {_quote_char(expected)})")
            self.at += 1


class _Pairs(list):  # type: ignore[type-arg]
    """A JSON object as its (key, value) pairs in order (Go assigns duplicates in turn)."""


def decode_first(text: str) -> Any:
    """The first JSON value of ``text``, objects as ``_Pairs``; GoJSONError as Go's."""
    scanner = _Scanner(text)
    scanner.skip_space()
    if scanner.at == len(text):
        raise GoJSONError("EOF")
    start = scanner.at
    scanner.value()
    return json.loads(text[start:scanner.at], object_pairs_hook=_Pairs)


def kind(value: Any) -> str:
    """Go's name for a JSON value's kind in an UnmarshalTypeError."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "object" if isinstance(value, _Pairs) else "array"


def _pointer(path: list[str]) -> str:
    return "".join("." + key.replace("~", "~0").replace("/", "~1") for key in path)


def type_error(value: Any, path: list[str], go_type: str) -> GoJSONError:
    where = f"Go struct field {_pointer(path)}" if path else "Go value"
    return GoJSONError(f"json: cannot unmarshal {kind(value)} into {where} of type {go_type}")


def clean(text: str) -> str:
    """A decoded string as Go holds it: lone surrogates become U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def decode_map(value: Any, path: list[str], go_type: str) -> list[tuple[str, Any]] | None:
    """An object's pairs, None for null; a type error naming ``go_type`` otherwise."""
    if value is None:
        return None
    if not isinstance(value, _Pairs):
        raise type_error(value, path, go_type)
    return [(clean(key), item) for key, item in value]


def decode_struct(
    value: Any, path: list[str], go_type: str, names: tuple[str, ...]
) -> dict[str, str]:
    """A struct of string fields: keys matched case-insensitively, unknown keys ignored,
    null leaves a field empty; the first mismatched value is Go's type error."""
    struct = dict.fromkeys(names, "")
    for key, item in decode_map(value, path, go_type) or []:
        name = key.lower()
        if name not in struct or item is None:
            continue
        if not isinstance(item, str):
            raise type_error(item, [*path, key], "string")
        struct[name] = clean(item)
    return struct

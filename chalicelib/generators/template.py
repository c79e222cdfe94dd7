"""The subset of Go's text/template that Vault's username templates use.

Vault renders ``username_template`` with Go templates and its sdk/helper/template
functions. This covers what such templates are made of: text, ``{{ pipeline }}``,
``{{ if }}…{{ else }}…{{ end }}``, ``{{-``/``-}}`` trimming, pipes, parenthesised
pipelines, ``.Field`` lookups, string/number literals and the helper functions below.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.generators.gotime import go_format
from chalicelib.tokens.ids import random_base62


class TemplateError(ValueError):
    """A template that does not parse or cannot be rendered; the message is client-safe."""


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
        | (?P<raw>`[^`]*`)
        | (?P<number>-?\d+)
        | (?P<field>\.[A-Za-z_]\w*|\.)
        | (?P<ident>[A-Za-z_]\w*)
        | (?P<punct>[()|])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _truncate(length: int, text: str) -> str:
    if length <= 0:
        raise TemplateError(f"max length must be > 0 but was {length}")
    return text[:length]


def _truncate_sha256(length: int, text: str) -> str:
    # Vault keeps length-8 characters and replaces the rest by 8 hex digits of its SHA-256.
    if length <= 8:
        raise TemplateError(f"max length must be > 8 but was {length}")
    if len(text) <= length:
        return text
    cut = length - 8
    return text[:cut] + hashlib.sha256(text[cut:].encode()).hexdigest()[:8]


def _printf(layout: str, *args: Any) -> str:
    values = iter(args)

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        try:
            return str(next(values))
        except StopIteration:
            return f"%!{match.group(1)}(MISSING)"

    return re.sub(r"%%|%([svdq])", substitute, layout)


def _glob(pattern: str, value: str) -> bool:
    # ryanuber/go-glob, as Vault's helper uses: "*" is the only wildcard.
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), value, re.DOTALL) is not None


def _truthy(value: Any) -> bool:
    return bool(value)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "random": lambda length: random_base62(length),  # Go requires the length
    "truncate": _truncate,
    "truncate_sha256": _truncate_sha256,
    "uppercase": str.upper,
    "lowercase": str.lower,
    "replace": lambda find, new, text: text.replace(find, new),
    "sha256": lambda text: hashlib.sha256(text.encode()).hexdigest(),
    "base64": lambda text: base64.b64encode(text.encode()).decode(),
    "decode_base64": lambda text: base64.b64decode(text, validate=True).decode(),
    "hex": lambda text: text.encode().hex(),
    "decode_hex": lambda text: bytes.fromhex(text).decode(),
    "unix_time": lambda: str(int(time.time())),
    "unix_time_millis": lambda: str(int(time.time() * 1000)),
    "timestamp": lambda layout: go_format(datetime.now().astimezone(), layout),
    "uuid": lambda: str(uuid.uuid4()),
    "glob": _glob,
    "printf": _printf,
    "eq": lambda first, *others: any(first == other for other in others),
    "ne": lambda first, second: first != second,
    "not": lambda value: not _truthy(value),
    "and": lambda *values: all(_truthy(v) for v in values),
    "or": lambda *values: any(_truthy(v) for v in values),
    "len": len,
}


# --- parsing ------------------------------------------------------------------------------

Operand = tuple[str, Any]  # ("literal", value) | ("field", name) | ("call", name) | ("pipe", …)


@dataclass(frozen=True, slots=True)
class Command:
    operands: tuple[Operand, ...]


Pipeline = tuple[Command, ...]


@dataclass(frozen=True, slots=True)
class If:
    condition: Pipeline
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...]


Node = str | Pipeline | If


def _tokens(source: str) -> list[tuple[str, str]]:
    found, position = [], 0
    stripped = source.rstrip()
    while position < len(stripped):
        match = _TOKEN.match(stripped, position)
        if match is None or match.end() == position:
            raise TemplateError(f"unexpected {stripped[position:].strip()[:1]!r} in action")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _literal_string(token: str) -> str:
    if token.startswith("`"):
        return token[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


class _PipelineParser:
    def __init__(self, tokens: Sequence[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.position = 0

    def parse(self) -> Pipeline:
        pipeline = self._pipeline()
        if self.position != len(self.tokens):
            raise TemplateError(f"unexpected {self.tokens[self.position][1]!r} in action")
        return pipeline

    def _pipeline(self) -> Pipeline:
        commands = [self._command()]
        while self._peek() == "|":
            self.position += 1
            commands.append(self._command())
        return tuple(commands)

    def _command(self) -> Command:
        operands: list[Operand] = []
        while self.position < len(self.tokens) and self._peek() not in ("|", ")"):
            operands.append(self._operand())
        if not operands:
            raise TemplateError("missing value for command")
        return Command(tuple(operands))

    def _operand(self) -> Operand:
        kind, text = self.tokens[self.position]
        self.position += 1
        if kind in ("string", "raw"):
            return ("literal", _literal_string(text))
        if kind == "number":
            return ("literal", int(text))
        if kind == "field":
            return ("field", text[1:])
        if kind == "ident":
            if text in ("true", "false"):
                return ("literal", text == "true")
            if text not in FUNCTIONS:
                raise TemplateError(f'function "{text}" not defined')
            return ("call", text)
        if text == "(":
            inner = self._pipeline()
            if self._peek() != ")":
                raise TemplateError("unclosed left paren")
            self.position += 1
            return ("pipe", inner)
        raise TemplateError(f"unexpected {text!r} in operand")

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None


def _split(source: str) -> list[tuple[str, str]]:
    """("text", …) and ("action", …) pieces, with Go's whitespace trimming applied."""
    pieces: list[tuple[str, str]] = []
    position, trim_next = 0, False
    for match in _ACTION.finditer(source):
        text = source[position:match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        if text:
            pieces.append(("text", text))
        pieces.append(("action", match.group(2).strip()))
        position, trim_next = match.end(), bool(match.group(3))
    tail = source[position:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    if trim_next:
        tail = tail.lstrip()
    if tail:
        pieces.append(("text", tail))
    return pieces


def _parse_nodes(pieces: list[tuple[str, str]], start: int) -> tuple[list[Node], int, str]:
    """Nodes up to an ``else``/``end`` (returned as the terminator) or the end of input."""
    nodes: list[Node] = []
    index = start
    while index < len(pieces):
        kind, body = pieces[index]
        index += 1
        if kind == "text":
            nodes.append(body)
        elif body in ("else", "end"):
            return nodes, index, body
        elif body.startswith("if ") or body == "if":
            condition = _PipelineParser(_tokens(body[2:])).parse()
            then, index, ended = _parse_nodes(pieces, index)
            otherwise: list[Node] = []
            if ended == "else":
                otherwise, index, ended = _parse_nodes(pieces, index)
            if ended != "end":
                raise TemplateError("unexpected EOF: missing {{end}}")
            nodes.append(If(condition, tuple(then), tuple(otherwise)))
        else:
            nodes.append(_PipelineParser(_tokens(body)).parse())
    return nodes, index, ""


@dataclass(frozen=True, slots=True)
class Template:
    nodes: tuple[Node, ...]

    @classmethod
    def parse(cls, source: str) -> Template:
        if not source:
            raise TemplateError("missing template")
        nodes, _, ended = _parse_nodes(_split(source), 0)
        if ended:
            raise TemplateError(f"unexpected {{{{{ended}}}}}")
        return cls(tuple(nodes))

    def render(self, values: Mapping[str, Any]) -> str:
        return "".join(_render(node, values) for node in self.nodes)


# --- evaluation ---------------------------------------------------------------------------


def _render(node: Node, values: Mapping[str, Any]) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, If):
        chosen = node.then if _truthy(_run(node.condition, values)) else node.otherwise
        return "".join(_render(child, values) for child in chosen)
    return str(_run(node, values))


def _run(pipeline: Pipeline, values: Mapping[str, Any]) -> Any:
    result: Any = None
    for index, command in enumerate(pipeline):
        piped = () if index == 0 else (result,)
        result = _call(command, values, piped)
    return result


def _call(command: Command, values: Mapping[str, Any], piped: tuple[Any, ...]) -> Any:
    (kind, head), rest = command.operands[0], command.operands[1:]
    args = [*(_value(operand, values) for operand in rest), *piped]
    if kind != "call":
        if args:
            raise TemplateError("can't give argument to non-function")
        return _value((kind, head), values)
    try:
        return FUNCTIONS[head](*args)
    except TemplateError:
        raise
    except (TypeError, ValueError, AttributeError):
        raise TemplateError(f"error calling {head}: wrong arguments") from None


def _value(operand: Operand, values: Mapping[str, Any]) -> Any:
    kind, payload = operand
    if kind == "literal":
        return payload
    if kind == "field":
        if payload == "":
            return values
        if payload not in values:
            raise TemplateError(f"can't evaluate field {payload}")
        return values[payload]
    if kind == "call":
        return _call(Command((operand,)), values, ())
    return _run(payload, values)

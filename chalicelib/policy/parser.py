"""Turn ACL policy text (HCL1 or JSON) into an immutable :class:`Policy`.

OpenBao parses policies with HashiCorp's HCL1 library, whose quirks are part of
what a policy *means*: repeated ``path`` blocks and repeated keys accumulate
instead of overwriting, JSON objects whose members are all objects are flattened
into multi-key items, strings are unescaped Go-style, numbers use Go's literal
syntax.  pyhcl's lexer tokenizes HCL; on top of it we build a small AST shaped
like HCL1's (see "HCL front end" for why pyhcl's own grammar is not used) and
decode it the way OpenBao's decoder would.

Validation errors carry the messages OpenBao returns (``failed to parse
policy: ...``) so clients see the same 400s.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntFlag
from types import MappingProxyType
from typing import Any, Final

from hcl.lexer import Lexer as _PyhclLexer

from chalicelib.core.errors import BadRequest

# ---------------------------------------------------------------------------
# Policy model
# ---------------------------------------------------------------------------


class Capability(IntFlag):
    """Capability bits, in OpenBao's bit order (only used internally)."""

    DENY = 1
    CREATE = 2
    READ = 4
    UPDATE = 8
    DELETE = 16
    LIST = 32
    SUDO = 64
    PATCH = 128
    SCAN = 256


CAPABILITY_NAMES: Final[Mapping[str, Capability]] = MappingProxyType(
    {c.name.lower(): c for c in Capability if c.name}
)

# The pre-0.5 `policy = "..."` shorthand expands to these capability lists.
_LEGACY_POLICIES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "deny": ("deny",),
        "read": ("read", "list"),
        "write": ("create", "read", "update", "delete", "list"),
        "sudo": ("create", "read", "update", "delete", "list", "sudo"),
    }
)

ParameterMap = Mapping[str, tuple[Any, ...]]


class MapList(tuple):
    """Go's ``[]map[string]interface{}``: how HCL decodes an object that is not
    directly inside a list.  It is a distinct Go type, so it never equals any
    request value even though it holds the same data.
    """


@dataclass(frozen=True, slots=True)
class PathRule:
    """One ``path "..." { ... }`` stanza after validation.

    ``path`` is the form used for matching: a trailing ``*`` is stripped for
    plain prefix rules but kept for rules containing ``+`` segments, exactly as
    OpenBao stores them.  Durations are nanoseconds (Go's ``time.Duration``).
    """

    raw_path: str
    path: str
    is_prefix: bool
    has_segment_wildcards: bool
    capabilities: Capability
    templated: bool = False
    min_wrapping_ttl_ns: int = 0
    max_wrapping_ttl_ns: int = 0
    allowed_parameters: ParameterMap | None = None
    denied_parameters: ParameterMap | None = None
    required_parameters: tuple[str, ...] = ()
    mfa_methods: tuple[str, ...] | None = None
    pagination_limit: int = 0
    response_keys_filter_path: str = ""
    expiration: datetime | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed ACL policy; ``raw`` is kept verbatim for ``sys/policy`` reads."""

    name: str
    raw: str
    paths: tuple[PathRule, ...]
    templated: bool = False
    allow_wildcards_in_identity_templates: bool = False
    allow_slashes_in_identity_templates: bool = False


def normalize_policy_name(name: str) -> str:
    """Policy names are case-insensitive and trimmed, as the policy store does."""
    return name.strip().lower()


def decode_policy_text(raw: str) -> str:
    """Accept base64-encoded policy text the way ``sys/policies/acl`` does.

    OpenBao tries a strict standard-base64 decode of every submitted policy and
    silently uses the decoded bytes when it succeeds, so text such as ``"abcd"``
    is really stored as its decoded form.  Go's decoder skips CR/LF characters.
    """
    compact = raw.replace("\r", "").replace("\n", "")
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return raw
    return decoded.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# Error formatting (Go's fmt / multierror / hcl PosError shapes)
# ---------------------------------------------------------------------------


class PolicyTextError(Exception):
    """Error carrying the exact text OpenBao would produce (wrapped in BadRequest)."""


def _multierror(messages: Sequence[str]) -> str:
    count = len(messages)
    head = "1 error occurred" if count == 1 else f"{count} errors occurred"
    bullets = "".join(f"\n\t* {m}" for m in messages)
    return f"{head}:{bullets}\n\n"


def _at(pos: tuple[int, int] | None, message: str) -> str:
    """hcl's PosError text; line 0 is Go's invalid position (all JSON nodes)."""
    if pos is None:
        return message
    if pos[0] <= 0:
        return f"At -: {message}"
    return f"At {pos[0]}:{pos[1]}: {message}"


def _go_quote(text: str) -> str:
    """Approximate Go's %q for the (usually printable) strings in messages."""
    return json.dumps(text, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Go-compatible scalar parsing (durations, integers, timestamps)
# ---------------------------------------------------------------------------

_NANOS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "ns": 1,
        "us": 1_000,
        "\u00b5s": 1_000,
        "\u03bcs": 1_000,
        "ms": 1_000_000,
        "s": 1_000_000_000,
        "m": 60_000_000_000,
        "h": 3_600_000_000_000,
    }
)
_INT64_MAX: Final = (1 << 63) - 1
_DECIMAL_RE: Final = re.compile(r"[+-]?[0-9]+")


def _go_parse_int10(text: str) -> int:
    """strconv.ParseInt(text, 10, 64) including its error messages."""
    if not _DECIMAL_RE.fullmatch(text):
        raise PolicyTextError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not -(1 << 63) <= value <= _INT64_MAX:
        raise PolicyTextError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


_INT_LITERAL_RE: Final = re.compile(r"[+-]?[0-9A-Za-z_]+")


def _go_parse_int0(text: str) -> int:
    """strconv.ParseInt(text, 0, 0): Go literal syntax, a leading 0 means octal."""
    error = PolicyTextError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    if not _INT_LITERAL_RE.fullmatch(text):
        raise error
    sign, body = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
    if re.fullmatch(r"0[0-7_]+", body):
        body = "0o" + body[1:]  # Python spells Go's legacy octal with a prefix
    try:
        value = sign * int(body, 0)
    except ValueError:
        raise error from None
    if not -(1 << 63) <= value <= _INT64_MAX:
        raise PolicyTextError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def _duration_error(text: str) -> PolicyTextError:
    return PolicyTextError(f'time: invalid duration "{text}"')


def _scan_duration_term(text: str, rest: str) -> tuple[int, str]:
    """Consume one ``<number><unit>`` term of a Go duration; return (ns, rest)."""
    match = re.match(r"([0-9]*)(?:\.([0-9]*))?", rest)
    whole, frac = (match.group(1), match.group(2)) if match else ("", None)
    if not whole and not frac:
        raise _duration_error(text)
    rest = rest[match.end() if match else 0 :]
    unit_match = re.match(r"[^0-9.]+", rest)
    if not unit_match:
        raise PolicyTextError(f'time: missing unit in duration "{text}"')
    unit = unit_match.group(0)
    if unit not in _NANOS:
        raise PolicyTextError(f'time: unknown unit "{unit}" in duration "{text}"')
    scale = _NANOS[unit]
    value = int(whole or "0") * scale
    if frac:
        # Go adds the fraction through float64, truncating; mirror that.
        value += int(float(int(frac)) * (scale / 10 ** len(frac)))
    if value > _INT64_MAX:
        raise _duration_error(text)
    return value, rest[unit_match.end() :]


def go_parse_duration(text: str) -> int:
    """time.ParseDuration, returning nanoseconds."""
    sign, rest = 1, text
    if rest[:1] in "+-" and rest:
        sign, rest = (-1 if rest[0] == "-" else 1), rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise _duration_error(text)
    total = 0
    while rest:
        value, rest = _scan_duration_term(text, rest)
        total += value
        if total > _INT64_MAX:
            raise _duration_error(text)
    return sign * total


def parse_duration_seconds(value: Any) -> int:
    """parseutil.ParseDurationSecond: bare numbers are seconds; returns nanoseconds.

    Accepts what OpenBao accepts for TTL-like fields: ints and floats (whole
    seconds, truncated), numeric strings, ``"<n>d"`` days and Go durations.
    """
    second = 1_000_000_000
    if value is None:
        return 0
    if isinstance(value, bool):
        raise PolicyTextError("could not parse duration from input")
    if isinstance(value, int):
        return value * second
    if isinstance(value, float):
        return math.trunc(value) * second
    if not isinstance(value, str):
        raise PolicyTextError("could not parse duration from input")
    if value == "":
        return 0
    if _DECIMAL_RE.fullmatch(value):
        return _go_parse_int10(value) * second
    if value.endswith("d"):
        return _go_parse_int10(value[:-1]) * 86_400 * second
    return go_parse_duration(value)


_RFC3339_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
)


def _parse_absolute_time(text: str) -> datetime:
    """parseutil.ParseAbsoluteTime for strings: RFC 3339 or unix seconds."""
    if _RFC3339_RE.fullmatch(text):
        trimmed = re.sub(r"\.(\d{6})\d+", r".\1", text).replace("Z", "+00:00")
        try:
            return datetime.fromisoformat(trimmed)
        except ValueError:
            pass
    elif _DECIMAL_RE.fullmatch(text):
        try:
            return datetime.fromtimestamp(_go_parse_int10(text), tz=UTC)
        except (OverflowError, OSError, ValueError, PolicyTextError):
            pass
    raise PolicyTextError("could not parse string as date and time")


# ---------------------------------------------------------------------------
# A small HCL1-shaped AST shared by the HCL and JSON front ends
# ---------------------------------------------------------------------------

Pos = tuple[int, int] | None


@dataclass(slots=True)
class _Lit:
    kind: str  # "string" | "heredoc" | "number" | "float" | "bool"
    value: Any
    text: str
    pos: Pos = None


@dataclass(slots=True)
class _List:
    elements: list[_Node]
    pos: Pos = None


@dataclass(slots=True)
class _Key:
    value: str
    pos: Pos = None
    text: str = ""  # source spelling, for HCL1's error messages


@dataclass(slots=True)
class _Item:
    keys: list[_Key]
    value: _Node
    assign_line: int = 0  # Go reports line 0 for blocks (no '=' token)


@dataclass(slots=True)
class _Obj:
    items: list[_Item]
    pos: Pos = None
    is_root: bool = False


_Node = _Lit | _List | _Obj


def _go_type(node: _Node) -> str:
    if isinstance(node, _Lit):
        return "*ast.LiteralType"
    if isinstance(node, _List):
        return "*ast.ListType"
    return "*ast.ObjectList" if node.is_root else "*ast.ObjectType"


def _item_pos(items: Sequence[_Item]) -> Pos:
    """An ObjectList's position: its first key's, or Go's invalid position."""
    return items[0].keys[0].pos if items and items[0].keys else (0, 0)


def _node_pos(node: _Node) -> Pos:
    if isinstance(node, _Obj) and node.pos is None:
        return _item_pos(node.items)
    return node.pos


def _filter(items: Iterable[_Item], key: str) -> list[_Item]:
    """ast.ObjectList.Filter: items whose first key matches, with it removed."""
    return [
        _Item(item.keys[1:], item.value, item.assign_line)
        for item in items
        if item.keys and item.keys[0].value.casefold() == key.casefold()
    ]


# ---------------------------------------------------------------------------
# HCL front end: pyhcl's lexer, HCL1's item grammar
# ---------------------------------------------------------------------------
#
# pyhcl's yacc grammar is not used: it rejects valid HCL1 (a number as the last
# list element, booleans in lists, nested lists), accepts non-HCL1 expressions,
# and collapses repeated keys.  Its lexer is sound, so we parse its token stream
# with HCL1's own (tiny) grammar: items are `keys = value` or `keys { ... }`.


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # HCL1's token names: STRING, IDENT, NUMBER, LBRACE, ...
    value: Any
    text: str
    pos: tuple[int, int]

    def describe(self) -> str:
        """Go's token.String(): position, type and source text."""
        return f"{self.pos[0]}:{self.pos[1]} {self.kind} {self.text}"


# pyhcl token names -> HCL1's; tokens absent here do not exist in HCL1.
_TOKEN_KINDS: Final = MappingProxyType(
    {
        "LEFTBRACE": "LBRACE",
        "RIGHTBRACE": "RBRACE",
        "LEFTBRACKET": "LBRACK",
        "RIGHTBRACKET": "RBRACK",
        "EQUAL": "ASSIGN",
        "IDENTIFIER": "IDENT",
        "COMMA": "COMMA",
        "STRING": "STRING",
        "NUMBER": "NUMBER",
        "FLOAT": "FLOAT",
        "BOOL": "BOOL",
        "EPLUS": "EXPONENT",
        "EMINUS": "EXPONENT",
    }
)


def _position(data: str, offset: int) -> tuple[int, int]:
    line = data.count("\n", 0, offset) + 1
    return line, offset - data.rfind("\n", 0, offset)


class _Lines:
    """Offset -> (line, column) in O(log n), both 1-based like HCL1's."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


_SIMPLE_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}
_ESCAPE_RE: Final = re.compile(
    r"\\(?:([abfnrtv\\\"])|([0-7]{3})|x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))"
)


def _unquote_hcl(raw: str, pos: tuple[int, int]) -> str:
    """HCL1's Unquote: Go escapes outside ``${...}``, verbatim inside.

    ``pos`` is where the opening quote sits; a bad escape is reported at the
    character after its backslash, as HCL1's scanner does.
    """
    out: list[str] = []
    index, end = 1, len(raw) - 1
    while index < end:
        if raw.startswith("${", index):
            close = _interpolation_end(raw, index + 2, end)
            out.append(raw[index:close])
            index = close
        elif raw[index] == "\\":
            match = _ESCAPE_RE.match(raw, index)
            if match is None:
                raise PolicyTextError(_at((pos[0], pos[1] + index + 1), "illegal char escape"))
            out.append(_escape_value(match))
            index = match.end()
        else:
            out.append(raw[index])
            index += 1
    return "".join(out)


def _interpolation_end(raw: str, index: int, end: int) -> int:
    depth = 1
    while index < end and depth:
        depth += {"{": 1, "}": -1}.get(raw[index], 0)
        index += 1
    return index


def _escape_value(match: re.Match[str]) -> str:
    simple, octal, hex2, hex4, hex8 = match.groups()
    if simple:
        return _SIMPLE_ESCAPES[simple]
    code = int(octal, 8) if octal else int(hex2 or hex4 or hex8, 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


@functools.cache
def _pyhcl_lexer() -> Any:
    """pyhcl's PLY lexer, built once: building validates rules by reading sources."""
    return _PyhclLexer().lex


_IDENT_RE: Final = re.compile(r"[^\W\d][\w.-]*")


def _go_string_end(data: str, quote: int) -> tuple[int, bool]:
    """Where HCL1's scanner ends the string opened at ``quote``, and whether it
    found the closing quote (a newline or the end of input come first otherwise).

    pyhcl's lexer treats the quote after an escaped backslash (``"a\\\\"``) as
    escaped too, so string boundaries are taken from this scan instead.
    """
    braces, index = 0, quote + 1
    while index < len(data):
        char = data[index]
        if braces == 0 and char in '"\n':
            return index + 1, char == '"'
        if braces == 0 and data.startswith("${", index):
            braces, index = 1, index + 1
        elif braces and char in "{}":
            braces += 1 if char == "{" else -1
        elif char == "\\":
            index += 1  # the escaped character is validated when unquoting
        index += 1
    return index, False  # past the end when a final backslash read "EOF"


class _HclTokens:
    """pyhcl's lexer, re-labelled with HCL1 token kinds, positions and raw text."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines = _Lines(text)
        self._ply = _pyhcl_lexer().clone()  # private state, shared compiled rules
        self._ply.input(text)

    def next(self) -> _Tok:
        heredoc_mark = getattr(self._ply, "here_start", None)
        try:
            tok = self._ply.token()
        except ValueError as exc:  # pyhcl reports illegal input this way
            if self._ply.lexstate not in ("string", "stringdollar"):
                raise PolicyTextError(str(exc)) from None
            self._ply.begin("INITIAL")  # pyhcl ran off the end of a string
            return self._string_token()
        if tok is None:  # HCL1 places EOF one column past the end
            line, column = self._lines.position(len(self._text))
            return _Tok("EOF", None, "", (line, column + 1))
        if tok.type == "STRING":
            if getattr(self._ply, "here_start", None) != heredoc_mark:
                return self._heredoc_token(tok)
            return self._string_token()
        if tok.type == "BOOL":
            tok = self._identifier_starting_with_bool(tok)
        kind = _TOKEN_KINDS.get(tok.type, "ILLEGAL")
        text = self._text[tok.lexpos : self._ply.lexpos]
        return _Tok(kind, tok.value, text, self._lines.position(tok.lexpos))

    def _identifier_starting_with_bool(self, tok: Any) -> Any:
        """pyhcl reads `trueish` as BOOL + IDENT; HCL1 reads one identifier."""
        match = _IDENT_RE.match(self._text, tok.lexpos)
        if match is None or match.end() == self._ply.lexpos:
            return tok
        self._ply.lexpos = match.end()
        tok.type, tok.value = "IDENTIFIER", match.group(0)
        return tok

    def _heredoc_token(self, tok: Any) -> _Tok:
        start = self._text.rfind("<<", 0, self._ply.here_start)  # HCL1 points at `<<`
        return _Tok("HEREDOC", tok.value, tok.value, self._lines.position(start))

    def _unterminated_at(self, start_pos: tuple[int, int], end: int) -> tuple[int, int]:
        """HCL1 reports where its scanner stopped at end of input (maybe one past it,
        after a trailing backslash); for a newline we give the string's start."""
        size = len(self._text)
        if end < size:
            return start_pos
        line, column = self._lines.position(size)
        return line, column + end - size

    def _string_token(self) -> _Tok:
        """The string pyhcl just started, with HCL1's boundaries and unescaping."""
        start = self._ply.abs_start - 1
        start_pos = self._lines.position(start)
        end, terminated = _go_string_end(self._text, start)
        if not terminated:
            raise PolicyTextError(
                _at(self._unterminated_at(start_pos, end), "literal not terminated")
            )
        self._ply.lexpos = end  # resume lexing after HCL1's closing quote
        raw = self._text[start:end]
        return _Tok("STRING", _unquote_hcl(raw, start_pos), raw, start_pos)


class _HclReader:
    """Recursive descent over HCL1's grammar, producing the shared AST."""

    def __init__(self, text: str) -> None:
        self._tokens = _HclTokens(text)
        self._pending: _Tok | None = None

    def scan(self) -> _Tok:
        if self._pending is not None:
            tok, self._pending = self._pending, None
            return tok
        return self._tokens.next()

    def unscan(self, tok: _Tok) -> None:
        self._pending = tok

    def object_list(self, in_object: bool) -> list[_Item]:
        items: list[_Item] = []
        while True:
            tok = self.scan()
            self.unscan(tok)
            if (in_object and tok.kind == "RBRACE") or tok.kind == "EOF":
                return items
            item = self.object_item()
            if item is None:  # `key =` at end of input: HCL1 drops it
                return items
            items.append(item)
            tok = self.scan()
            if tok.kind != "COMMA":
                self.unscan(tok)

    def object_item(self) -> _Item | None:
        keys, tok = self.object_keys()
        if tok.kind == "ASSIGN":
            value = self.value()
            return None if value is None else _Item(keys, value, tok.pos[0])
        if tok.kind == "LBRACE":
            return _Item(keys, self.object_body(tok), 0)
        label = " ".join(k.text for k in keys)
        message = f"key '{label}' expected start of object ('{{') or assignment ('=')"
        raise PolicyTextError(_at(tok.pos, message))

    def object_keys(self) -> tuple[list[_Key], _Tok]:
        keys: list[_Key] = []
        while True:
            tok = self.scan()
            if tok.kind not in ("IDENT", "STRING"):
                self._check_key_terminator(tok, len(keys))
                return keys, tok
            keys.append(_Key(str(tok.value), tok.pos, tok.text))

    @staticmethod
    def _check_key_terminator(tok: _Tok, count: int) -> None:
        if tok.kind == "ASSIGN" and count > 1:
            raise PolicyTextError(_at(tok.pos, "nested object expected: LBRACE got: ASSIGN"))
        if tok.kind == "ASSIGN" and count == 0:
            raise PolicyTextError(_at(tok.pos, "no object keys found!"))
        if tok.kind == "LBRACE" and count == 0:
            raise PolicyTextError(_at(tok.pos, "expected: IDENT | STRING got: LBRACE"))
        if tok.kind in ("ASSIGN", "LBRACE") or (tok.kind in ("EOF", "RBRACE") and count):
            return
        if tok.kind == "ILLEGAL":
            raise PolicyTextError(_at(tok.pos, "illegal character"))
        expected = "expected: IDENT | STRING | ASSIGN | LBRACE got: "
        raise PolicyTextError(_at(tok.pos, expected + tok.kind))

    def value(self) -> _Node | None:
        tok = self.scan()
        if tok.kind in ("NUMBER", "FLOAT", "BOOL", "STRING", "HEREDOC"):
            return self.literal(tok)
        if tok.kind == "LBRACE":
            return self.object_body(tok)
        if tok.kind == "LBRACK":
            return self.list_body(tok)
        if tok.kind == "EOF":
            return None
        raise PolicyTextError(_at(tok.pos, f"Unknown token: {tok.describe()}"))

    def literal(self, tok: _Tok) -> _Lit:
        if tok.kind in ("NUMBER", "FLOAT"):
            return self.number(tok)
        kind = {"BOOL": "bool", "STRING": "string", "HEREDOC": "heredoc"}[tok.kind]
        return _Lit(kind, tok.value, tok.text, tok.pos)

    def number(self, tok: _Tok) -> _Lit:
        """pyhcl splits `1e5` into NUMBER EXPONENT NUMBER; HCL1 has one FLOAT."""
        exponent = self.scan()
        if exponent.kind != "EXPONENT":
            self.unscan(exponent)
            kind = "float" if tok.kind == "FLOAT" else "number"
            return _Lit(kind, tok.value, tok.text, tok.pos)
        digits = self.scan()
        if digits.kind != "NUMBER":
            raise PolicyTextError(_at(digits.pos, "illegal character"))
        text = tok.text + exponent.text + digits.text
        return _Lit("float", float(text), text, tok.pos)

    def object_body(self, lbrace: _Tok) -> _Obj:
        items = self.object_list(in_object=True)
        tok = self.scan()
        if tok.kind != "RBRACE":
            raise PolicyTextError(_at(tok.pos, f"object expected closing RBRACE got: {tok.kind}"))
        return _Obj(items, lbrace.pos)

    def list_body(self, lbrack: _Tok) -> _List:
        elements: list[_Node] = []
        need_comma = False
        while True:
            tok = self.scan()
            if need_comma and tok.kind not in ("COMMA", "RBRACK"):
                message = f"error parsing list, expected comma or list end, got: {tok.kind}"
                raise PolicyTextError(_at(tok.pos, message))
            if tok.kind == "RBRACK":
                return _List(elements, lbrack.pos)
            need_comma = self._list_element(tok, elements)

    def _list_element(self, tok: _Tok, elements: list[_Node]) -> bool:
        """Append one element; return whether a comma must follow it."""
        if tok.kind in ("BOOL", "NUMBER", "FLOAT", "STRING", "HEREDOC"):
            elements.append(self.literal(tok))
            return True
        if tok.kind == "COMMA":
            return False
        if tok.kind == "LBRACE":
            elements.append(self._nested(tok, self.object_body, "object"))
            return True
        if tok.kind == "LBRACK":
            elements.append(self._nested(tok, self.list_body, "list"))
            return False  # HCL1 quirk: no comma is required after a nested list
        raise PolicyTextError(_at(tok.pos, f"unexpected token while parsing list: {tok.kind}"))

    @staticmethod
    def _nested(tok: _Tok, parse: Callable[[_Tok], _Node], what: str) -> _Node:
        try:
            return parse(tok)
        except PolicyTextError as exc:
            message = f"error while trying to parse {what} within list: {exc}"
            raise PolicyTextError(_at(tok.pos, message)) from None


def _parse_hcl(text: str) -> _Obj:
    text = text.replace("\r\n", "\n")  # HCL1 normalises line endings first
    root = _Obj(_HclReader(text).object_list(in_object=False))
    root.is_root = True
    return root


# ---------------------------------------------------------------------------
# JSON front end (HCL1's JSON dialect, including its flattening)
# ---------------------------------------------------------------------------

_JSON_NUMBER_RE: Final = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")


class _JsonReader:
    """Recursive-descent reader producing the HCL1 AST for a JSON document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0

    def pos(self) -> tuple[int, int]:
        """HCL1's JSON parser drops positions; only the ':' line is kept."""
        return (0, 0)

    def line(self) -> int:
        return _position(self.text, self.index)[0]

    def fail(self, message: str) -> PolicyTextError:
        line, col = _position(self.text, self.index)
        return PolicyTextError(f"{line}:{col}: {message}")

    def peek(self) -> str:
        self.index += len(self.text[self.index :]) - len(self.text[self.index :].lstrip(" \t\n\r"))
        return self.text[self.index : self.index + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}")
        self.index += 1

    def read_object(self) -> _Obj:
        pos = self.pos()
        self.expect("{")
        items: list[_Item] = []
        while self.peek() != "}":
            key_pos = self.pos()
            key = self.read_string()
            assign_line = self.line()
            self.expect(":")
            items.append(_Item([_Key(key, key_pos)], self.read_value(), assign_line))
            if self.peek() != ",":
                break
            self.index += 1
        self.expect("}")
        return _Obj(items, pos)

    def read_string(self) -> str:
        if self.peek() != '"':
            raise self.fail("expected: STRING")
        try:
            value, self.index = json.decoder.scanstring(self.text, self.index + 1)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg) from None
        return value

    def read_list(self) -> _List:
        pos = self.pos()
        self.expect("[")
        elements: list[_Node] = []
        while self.peek() != "]":
            value = self.read_value()
            # HCL1's JSON list reader silently skips booleans.
            if not (isinstance(value, _Lit) and value.kind == "bool"):
                if isinstance(value, _List):
                    raise self.fail("unexpected token while parsing list: LBRACK")
                elements.append(value)
            if self.peek() != ",":
                break
            self.index += 1
        self.expect("]")
        return _List(elements, pos)

    def read_value(self) -> _Node:
        char = self.peek()
        pos = self.pos()
        if char == "{":
            return self.read_object()
        if char == "[":
            return self.read_list()
        if char == '"':
            value = self.read_string()
            return _Lit("string", value, value, pos)
        return self.read_scalar(pos)

    def read_scalar(self, pos: tuple[int, int]) -> _Lit:
        for word, lit in (("true", True), ("false", False)):
            if self.text.startswith(word, self.index):
                self.index += len(word)
                return _Lit("bool", lit, word, pos)
        if self.text.startswith("null", self.index):
            self.index += 4
            return _Lit("string", "", "", pos)  # HCL1 turns JSON null into ""
        match = _JSON_NUMBER_RE.match(self.text, self.index)
        if not match:
            raise self.fail("Expected object value, got unknown token")
        self.index = match.end()
        raw = match.group(0)
        if match.group(1) or match.group(2):
            return _Lit("float", float(raw), raw, pos)
        return _Lit("number", int(raw), raw, pos)


def _all_objects(nodes: Iterable[_Node]) -> bool:
    return all(isinstance(n, _Obj) for n in nodes)


def _flatten_item(item: _Item) -> list[_Item] | None:
    """One step of HCL1's JSON flattening; None when the item stays as is."""
    value = item.value
    if isinstance(value, _Obj) and value.items and _all_objects(i.value for i in value.items):
        return [_Item(item.keys + i.keys, i.value, item.assign_line) for i in value.items]
    if isinstance(value, _List) and value.elements and _all_objects(value.elements):
        return [_Item(item.keys, e, item.assign_line) for e in value.elements]
    return None


def _flatten_list(items: list[_Item]) -> list[_Item]:
    result: list[_Item] = []
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


def _flatten_node(node: _Node) -> None:
    if isinstance(node, _Obj):
        node.items = _flatten_list(node.items)
    elif isinstance(node, _List):
        for element in node.elements:
            _flatten_node(element)


def _parse_json(text: str) -> _Obj:
    reader = _JsonReader(text)
    root = reader.read_object()  # HCL1 ignores anything after the object
    root.items = _flatten_list(root.items)
    root.is_root = True
    return root


def _parse_document(text: str) -> _Obj:
    if text.strip().startswith("{"):
        return _parse_json(text)
    return _parse_hcl(text)


# ---------------------------------------------------------------------------
# Decoding AST values into Go-typed fields (hcl.DecodeObject semantics)
# ---------------------------------------------------------------------------


def _decode_string(name: str, node: _Node) -> str:
    if isinstance(node, _Lit) and node.kind in ("number", "string", "heredoc"):
        return node.text if node.kind == "number" else str(node.value)
    return _raise_type(name, node, "unknown type for string")


def _decode_int(name: str, node: _Node) -> int:
    if isinstance(node, _Lit) and node.kind == "number":
        return _go_parse_int0(node.text)
    if isinstance(node, _Lit) and node.kind in ("string", "heredoc"):
        return _go_parse_int0(str(node.value))
    return _raise_type(name, node, "unknown type")


def _raise_type(name: str, node: _Node, what: str) -> Any:
    raise PolicyTextError(_at(_node_pos(node), f"{name}: {what} {_go_type(node)}"))


def _slice_elements(node: _Node | list[_Item]) -> list[_Node | _Item]:
    if isinstance(node, list):  # an ObjectList of prefix matches
        return list(node)
    if isinstance(node, _List):
        return list(node.elements)
    if isinstance(node, _Obj):
        return [node]
    raise PolicyTextError(_at(_node_pos(node), f"unknown slice type: {_go_type(node)}"))


def _decode_string_slice(name: str, node: _Node | list[_Item], into: list[str]) -> None:
    for index, element in enumerate(_slice_elements(node)):
        if isinstance(element, _Item):
            message = f"{name}[{index}]: unknown type for string *ast.ObjectItem"
            raise PolicyTextError(_at(element.keys[0].pos if element.keys else None, message))
        into.append(_decode_string(f"{name}[{index}]", element))


def _decode_interface(name: str, node: _Node | _Item, in_slice: bool) -> Any:
    """Decode into interface{}; objects become maps only directly inside slices."""
    if isinstance(node, _Item):
        message = f"{name}: cannot decode into interface: *ast.ObjectItem"
        raise PolicyTextError(message)
    if isinstance(node, _Lit):
        if node.kind == "number":
            return _go_parse_int0(node.text)
        return node.value
    if isinstance(node, _List):
        return tuple(
            _decode_interface(f"{name}[{i}]", e, True) for i, e in enumerate(node.elements)
        )
    mapping = _decode_interface_map(name, node.items)
    return mapping if in_slice else MapList((mapping,))


def _decode_interface_map(name: str, items: Sequence[_Item]) -> Mapping[str, Any]:
    result: dict[str, Any] = {}
    for item in items:
        key = item.keys[0].value
        if len(item.keys) == 1:
            result[key] = _decode_interface(f"{name}.{key}", item.value, False)
        elif key not in result:  # multi-key items are gathered once, by first key
            result[key] = _decode_interface(f"{name}.{key}", _Obj(_filter(items, key)), False)
    return MappingProxyType(result)


def _decode_param_map(name: str, node: _Node | list[_Item], into: dict[str, list[Any]]) -> None:
    """Decode ``map[string][]interface{}`` (allowed/denied_parameters)."""
    if isinstance(node, _Lit | _List):
        raise PolicyTextError(
            _at(node.pos, f"{name}: not an object type for map ({_go_type(node)})")
        )
    items = node.items if isinstance(node, _Obj) else node
    done: set[str] = set()
    for item in items:
        if not item.keys:
            raise PolicyTextError(f"{name}: map must have string keys")
        key = item.keys[0].value
        if key in done:
            continue
        value: _Node | list[_Item] = item.value
        if len(item.keys) > 1:
            value = _filter(items, key)
            done.add(key)
        target = into.setdefault(key, [])
        for index, element in enumerate(_slice_elements(value)):
            target.append(_decode_interface(f"{name}.{key}[{index}]", element, True))


# ---------------------------------------------------------------------------
# Policy-level validation (OpenBao's parsePaths)
# ---------------------------------------------------------------------------

_TOP_LEVEL_KEYS: Final = ("name", "path")
_PATH_KEYS: Final = (
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


def _invalid_keys(node: _Node, valid: Sequence[str]) -> list[str]:
    if not isinstance(node, _Obj):
        raise PolicyTextError(f"cannot check HCL keys of type {_go_type(node)}")
    return [
        f"invalid key {_go_quote(item.keys[0].value)} on line {item.assign_line}"
        for item in node.items
        if item.keys[0].value not in valid
    ]


def _check_keys(node: _Node, valid: Sequence[str]) -> None:
    bad = _invalid_keys(node, valid)
    if bad:
        raise PolicyTextError(_multierror(bad))


@dataclass(slots=True)
class _RawRule:
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


def _field_nodes(items: Sequence[_Item], key: str) -> list[_Node | list[_Item]]:
    """What hcl's struct decoder feeds a field: prefix matches, then each value."""
    matches = _filter(items, key)
    nested = [m for m in matches if m.keys]
    nodes: list[_Node | list[_Item]] = [nested] if nested else []
    # An object value is handed over as its bare item list (Go: ObjectList).
    nodes.extend(
        m.value.items if isinstance(m.value, _Obj) else m.value for m in matches if not m.keys
    )
    return nodes


def _decode_scalar_field(rule: _RawRule, items: Sequence[_Item], key: str, attr: str) -> None:
    name = _go_field_name(key)
    for node in _field_nodes(items, key):
        if isinstance(node, list):
            message = f"{name}: unknown type for string *ast.ObjectList"
            raise PolicyTextError(_at(_item_pos(node), message))
        setattr(rule, attr, _decode_string(name, node))


def _decode_any_field(rule: _RawRule, items: Sequence[_Item], key: str) -> None:
    for node in _field_nodes(items, key):
        value = _Obj(node) if isinstance(node, list) else node
        setattr(rule, key, _decode_interface(_go_field_name(key), value, False))


def _decode_list_field(rule: _RawRule, items: Sequence[_Item], key: str) -> None:
    for node in _field_nodes(items, key):
        current = getattr(rule, key)
        if current is None:
            current = []
            setattr(rule, key, current)
        _decode_string_slice(_go_field_name(key), node, current)


def _decode_map_field(rule: _RawRule, items: Sequence[_Item], key: str) -> None:
    for node in _field_nodes(items, key):
        current = getattr(rule, key)
        if current is None:
            current = {}
            setattr(rule, key, current)
        _decode_param_map(_go_field_name(key), node, current)


def _decode_int_field(rule: _RawRule, items: Sequence[_Item], key: str) -> None:
    name = _go_field_name(key)
    for node in _field_nodes(items, key):
        if isinstance(node, list):
            raise PolicyTextError(_at(_item_pos(node), f"{name}: unknown type *ast.ObjectList"))
        rule.pagination_limit = _decode_int(name, node)


def _decode_rule(node: _Obj) -> _RawRule:
    """Decode a path block in the Go struct's field order (first error wins)."""
    items = node.items
    rule = _RawRule()
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


def _decode_bool(name: str, node: _Node) -> bool:
    if isinstance(node, _Lit) and node.kind == "bool":
        return bool(node.value)
    return _raise_type(name, node, "unknown type")


def _decode_identity(factor: _Factor, node: _Node | list[_Item]) -> None:
    if isinstance(node, _Lit | _List):
        message = f"root.Identity: not an object type for struct ({_go_type(node)})"
        raise PolicyTextError(_at(node.pos, message))
    items = node.items if isinstance(node, _Obj) else node
    for value in _field_nodes(items, "group_names"):
        _decode_string_slice("root.Identity.group_names", value, factor.group_names)
    for value in _field_nodes(items, "approvals"):
        if isinstance(value, _Obj | _List | _Lit):
            factor.approvals = _decode_int("root.Identity.Approvals", value)


def _decode_factor(item: _Item) -> _Factor:
    """One `factor "name" { ... }` block; errors carry OpenBao's prefixes."""
    prefix = "path control_group factor:"
    bad = _invalid_keys(item.value, ("controlled_capabilities", "identity"))
    if bad:
        raise PolicyTextError("\n".join(f"{prefix} {message}" for message in bad))
    factor = _Factor(name="")
    assert isinstance(item.value, _Obj)
    try:
        for value in _field_nodes(item.value.items, "controlled_capabilities"):
            _decode_string_slice("root.controlled_capabilities", value, factor.capabilities)
        for value in _field_nodes(item.value.items, "identity"):
            _decode_identity(factor, value)
    except PolicyTextError as exc:
        raise PolicyTextError(f"{prefix} {exc}") from None
    if not item.keys:
        raise PolicyTextError(f"{prefix} require name key")
    factor.name = item.keys[0].value
    return factor


def _decode_factors(node: _Obj) -> list[_Factor]:
    factors: list[_Factor] = []
    problems: list[str] = []
    for item in _filter(node.items, "factor"):
        try:
            factors.append(_decode_factor(item))
        except PolicyTextError as exc:
            problems.extend(str(exc).split("\n"))
    if problems:
        raise PolicyTextError(f"error handling control_group factor: {_multierror(problems)}")
    return factors


def _control_group_problem(node: _Node) -> str | None:
    """The first problem OpenBao reports for one control_group stanza."""
    try:
        bad = _invalid_keys(node, ("ttl", "self_auth_allowed", "factor"))
    except PolicyTextError as exc:
        return str(exc)
    if bad:
        return bad[0] if len(bad) == 1 else "\n".join(bad)
    assert isinstance(node, _Obj)
    try:
        ttl_nodes = _field_nodes(node.items, "ttl")
        for value in _field_nodes(node.items, "self_auth_allowed"):
            if not isinstance(value, list):
                _decode_bool("root.self_auth_allowed", value)
        ttl = [
            _decode_interface("root.ttl", _Obj(v) if isinstance(v, list) else v, False)
            for v in ttl_nodes
        ]
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


def _check_control_group(node: _Obj) -> None:
    """control_group is validated as OpenBao does, then ignored (never enforced)."""
    problems: list[str] = []
    for group in _filter(node.items, "control_group"):
        problem = _control_group_problem(group.value)
        if problem is not None:
            problems.extend(problem.split("\n") if problem.startswith("invalid key") else [problem])
    if problems:
        raise PolicyTextError(f"error handling control_group: {_multierror(problems)}")


# ---------------------------------------------------------------------------
# Identity templating ({{identity.entity.id}} and friends)
# ---------------------------------------------------------------------------


def template_validity(text: str) -> bool:
    """Whether ``text`` contains ``{{...}}`` directives; raises if unbalanced."""
    pieces = text.split("{{")
    if "}}" in pieces[0]:
        raise PolicyTextError("unbalanced templating characters")
    for piece in pieces[1:]:
        if len(piece.split("}}")) != 2:
            raise PolicyTextError("unbalanced templating characters")
    return len(pieces) > 1


def render_template(text: str, resolve: Callable[[str], str], blocked: Sequence[str]) -> str:
    """Substitute every ``{{ selector }}`` via ``resolve``; errors propagate."""
    pieces = text.split("{{")
    out = [pieces[0]]
    for piece in pieces[1:]:
        selector, tail = piece.split("}}")
        value = resolve(selector.strip())
        for token in blocked:
            if token in value:
                raise PolicyTextError(
                    f"template substitution contains forbidden value {_go_quote(token)}"
                )
        out.extend((value, tail))
    return "".join(out)


def derive_path(raw_key: str) -> tuple[str, bool, bool]:
    """From a path key to (match path, is_prefix, has_segment_wildcards)."""
    path = raw_key[1:] if raw_key.startswith("/") else raw_key
    if "+*" in path:
        raise PolicyTextError(
            f"path {_go_quote(path)}: invalid use of wildcards ('+*' is forbidden)"
        )
    segment_wildcards = path == "+" or "/+" in path or path.startswith("+/")
    if path.endswith("*") and not segment_wildcards:
        return path[:-1], True, False
    return path, False, segment_wildcards


# ---------------------------------------------------------------------------
# Building PathRules
# ---------------------------------------------------------------------------


def _capability_bits(key: str, rule: _RawRule) -> Capability | None:
    """Capabilities after the legacy mapping; None means an explicit deny."""
    names = list(rule.capabilities)
    if rule.policy:
        if rule.policy not in _LEGACY_POLICIES:
            raise PolicyTextError(f"path {_go_quote(key)}: invalid policy {_go_quote(rule.policy)}")
        legacy = _LEGACY_POLICIES[rule.policy]
        names = list(legacy) if rule.policy == "deny" else names + list(legacy)
    bits = Capability(0)
    for name in names:
        if name == "deny":
            return None  # OpenBao stops looking (and validating) at deny
        if name not in CAPABILITY_NAMES:
            raise PolicyTextError(f"path {_go_quote(key)}: invalid capability {_go_quote(name)}")
        bits |= CAPABILITY_NAMES[name]
    return bits


def _freeze_params(params: dict[str, list[Any]] | None) -> ParameterMap | None:
    if params is None:
        return None
    # Keys are case-insensitive: OpenBao lowercases them (last one wins).
    return MappingProxyType({k.lower(): tuple(v) for k, v in params.items()})


def _wrapping_bounds(rule: _RawRule) -> tuple[int, int]:
    bounds = []
    for label, raw in (("min", rule.min_wrapping_ttl), ("max", rule.max_wrapping_ttl)):
        try:
            bounds.append(parse_duration_seconds(raw))
        except PolicyTextError as exc:
            raise PolicyTextError(f"error parsing {label}_wrapping_ttl: {exc}") from None
    minimum, maximum = bounds
    if minimum and maximum and maximum < minimum:
        raise PolicyTextError("max_wrapping_ttl cannot be less than min_wrapping_ttl")
    return minimum, maximum


def _expiration(key: str, rule: _RawRule) -> datetime | None:
    if not rule.expiration:
        return None
    try:
        return _parse_absolute_time(rule.expiration)
    except PolicyTextError as exc:
        raise PolicyTextError(f"path {_go_quote(key)}: invalid expiration time: {exc}") from None


def _build_rule(key: str, templated: bool, rule: _RawRule, expiration: datetime | None) -> PathRule:
    path, is_prefix, segment_wildcards = derive_path(key)
    bits = _capability_bits(key, rule)
    common = {
        "raw_path": key,
        "path": path,
        "is_prefix": is_prefix,
        "has_segment_wildcards": segment_wildcards,
        "templated": templated,
        "expiration": expiration,
    }
    if bits is None:
        return PathRule(capabilities=Capability.DENY, **common)
    minimum, maximum = _wrapping_bounds(rule)
    if rule.response_keys_filter_path and not bits & Capability.LIST:
        raise PolicyTextError(
            "list_scan_response_keys_filter_path needs to be used on a path with the list"
            " capability"
        )
    return PathRule(
        capabilities=bits,
        min_wrapping_ttl_ns=minimum,
        max_wrapping_ttl_ns=maximum,
        allowed_parameters=_freeze_params(rule.allowed_parameters),
        denied_parameters=_freeze_params(rule.denied_parameters),
        required_parameters=tuple(rule.required_parameters),
        mfa_methods=tuple(rule.mfa_methods) if rule.mfa_methods is not None else None,
        pagination_limit=rule.pagination_limit,
        response_keys_filter_path=rule.response_keys_filter_path,
        **common,
    )


def _parse_path_item(key: str, value: _Node, now: datetime) -> PathRule | None:
    """Validate one path block; None when it has already expired."""
    try:
        templated = template_validity(key)
    except PolicyTextError as exc:
        raise PolicyTextError(f"failed to validate policy templating: {exc}") from None
    _check_keys(value, _PATH_KEYS)
    assert isinstance(value, _Obj)
    _check_control_group(value)
    try:
        rule = _decode_rule(value)
    except PolicyTextError as exc:
        raise PolicyTextError(f"path {_go_quote(key)}: {exc}") from None
    expiration = _expiration(key, rule)
    if expiration is not None and now > expiration:
        return None  # expired stanzas vanish before any further validation
    return _build_rule(key, templated, rule, expiration)


def _parse_paths(root: _Obj, now: datetime) -> tuple[PathRule, ...]:
    rules: list[PathRule] = []
    for item in _filter(root.items, "path"):
        key = item.keys[0].value if item.keys else "path"
        try:
            parsed = _parse_path_item(key, item.value, now)
        except PolicyTextError as exc:
            raise PolicyTextError(f"path {_go_quote(key)}: {exc}") from None
        if parsed is not None:
            rules.append(parsed)
    return tuple(rules)


def _check_name_field(root: _Obj) -> None:
    for node in _field_nodes(root.items, "name"):
        if isinstance(node, list):
            raise PolicyTextError(
                _at(_item_pos(node), "root.name: unknown type for string *ast.ObjectList")
            )
        _decode_string("root.name", node)


def parse_policy(
    name: str,
    text: str,
    *,
    allow_wildcards_in_identity_templates: bool = False,
    allow_slashes_in_identity_templates: bool = False,
    now: datetime | None = None,
) -> Policy:
    """Parse and validate ``text`` exactly as OpenBao's policy store would.

    Raises :class:`BadRequest` with OpenBao's message when the policy is invalid.
    Path stanzas whose ``expiration`` lies in the past are dropped, as OpenBao
    drops them.  The two ``allow_*`` flags are the policy-level options of
    ``sys/policies/acl`` that relax what identity templates may substitute.
    """
    moment = now or datetime.now(UTC)
    try:
        root = _parse_document(text)
        _check_keys(root, _TOP_LEVEL_KEYS)
        _check_name_field(root)
        paths = _parse_paths(root, moment)
    except PolicyTextError as exc:
        raise BadRequest(f"failed to parse policy: {exc}") from None
    return Policy(
        name=normalize_policy_name(name),
        raw=text,
        paths=paths,
        templated=any(rule.templated for rule in paths),
        allow_wildcards_in_identity_templates=allow_wildcards_in_identity_templates,
        allow_slashes_in_identity_templates=allow_slashes_in_identity_templates,
    )

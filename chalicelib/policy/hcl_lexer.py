"""HCL1 tokens from pyhcl's lexer, with the fixes that make them HCL1's.

pyhcl's lexer is sound on the whole, but it differs from HCL1's scanner in a
few places that change what a policy means: where a string ends after an
escaped backslash, which escapes are legal, ``trueish`` read as BOOL + IDENT,
and what it reports at end of input.  :class:`HclTokens` corrects those and
labels every token with HCL1's kind, position and source text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from hcl.lexer import Lexer as _PyhclLexer

from chalicelib.policy.errors import PolicyTextError, pos_error
from chalicelib.policy.syntax import Lines


@dataclass(frozen=True, slots=True)
class Token:
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
_IDENT_RE: Final = re.compile(r"[^\W\d][\w.-]*")


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
                where = (pos[0], pos[1] + index + 1)
                raise PolicyTextError(pos_error(where, "illegal char escape"))
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


class HclTokens:
    """pyhcl's lexer, re-labelled with HCL1 token kinds, positions and raw text."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines = Lines(text)
        self._ply = _pyhcl_lexer().clone()  # private state, shared compiled rules
        self._ply.input(text)

    def next(self) -> Token:
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
            return Token("EOF", None, "", (line, column + 1))
        if tok.type == "STRING":
            if getattr(self._ply, "here_start", None) != heredoc_mark:
                return self._heredoc_token(tok)
            return self._string_token()
        if tok.type == "BOOL":
            tok = self._identifier_starting_with_bool(tok)
        kind = _TOKEN_KINDS.get(tok.type, "ILLEGAL")
        text = self._text[tok.lexpos : self._ply.lexpos]
        return Token(kind, tok.value, text, self._lines.position(tok.lexpos))

    def _identifier_starting_with_bool(self, tok: Any) -> Any:
        """pyhcl reads `trueish` as BOOL + IDENT; HCL1 reads one identifier."""
        match = _IDENT_RE.match(self._text, tok.lexpos)
        if match is None or match.end() == self._ply.lexpos:
            return tok
        self._ply.lexpos = match.end()
        tok.type, tok.value = "IDENTIFIER", match.group(0)
        return tok

    def _heredoc_token(self, tok: Any) -> Token:
        start = self._text.rfind("<<", 0, self._ply.here_start)  # HCL1 points at `<<`
        return Token("HEREDOC", tok.value, tok.value, self._lines.position(start))

    def _unterminated_at(self, start_pos: tuple[int, int], end: int) -> tuple[int, int]:
        """HCL1 reports where its scanner stopped at end of input (maybe one past it,
        after a trailing backslash); for a newline we give the string's start."""
        size = len(self._text)
        if end < size:
            return start_pos
        line, column = self._lines.position(size)
        return line, column + end - size

    def _string_token(self) -> Token:
        """The string pyhcl just started, with HCL1's boundaries and unescaping."""
        start = self._ply.abs_start - 1
        start_pos = self._lines.position(start)
        end, terminated = _go_string_end(self._text, start)
        if not terminated:
            raise PolicyTextError(
                pos_error(self._unterminated_at(start_pos, end), "literal not terminated")
            )
        self._ply.lexpos = end  # resume lexing after HCL1's closing quote
        raw = self._text[start:end]
        return Token("STRING", _unquote_hcl(raw, start_pos), raw, start_pos)

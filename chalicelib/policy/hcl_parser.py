"""HCL1's item grammar over :mod:`hcl_lexer` tokens, producing the shared AST.

pyhcl's yacc grammar is not used: it rejects valid HCL1 (a number as the last
list element, booleans in lists, nested lists), accepts non-HCL1 expressions,
and collapses repeated keys.  Its lexer is sound, so we parse its token stream
with HCL1's own (tiny) grammar: items are `keys = value` or `keys { ... }`.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.policy.errors import PolicyTextError, pos_error
from chalicelib.policy.hcl_lexer import HclTokens, Token
from chalicelib.policy.syntax import (
    ListType,
    LiteralType,
    Node,
    ObjectItem,
    ObjectKey,
    ObjectType,
)

_LITERAL_KINDS = ("NUMBER", "FLOAT", "BOOL", "STRING", "HEREDOC")


class _HclReader:
    """Recursive descent over HCL1's grammar, producing the shared AST."""

    def __init__(self, text: str) -> None:
        self._tokens = HclTokens(text)
        self._pending: Token | None = None

    def scan(self) -> Token:
        if self._pending is not None:
            tok, self._pending = self._pending, None
            return tok
        return self._tokens.next()

    def unscan(self, tok: Token) -> None:
        self._pending = tok

    def object_list(self, in_object: bool) -> list[ObjectItem]:
        items: list[ObjectItem] = []
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

    def object_item(self) -> ObjectItem | None:
        keys, tok = self.object_keys()
        if tok.kind == "ASSIGN":
            value = self.value()
            return None if value is None else ObjectItem(keys, value, tok.pos[0])
        if tok.kind == "LBRACE":
            return ObjectItem(keys, self.object_body(tok), 0)
        label = " ".join(k.text for k in keys)
        message = f"key '{label}' expected start of object ('{{') or assignment ('=')"
        raise PolicyTextError(pos_error(tok.pos, message))

    def object_keys(self) -> tuple[list[ObjectKey], Token]:
        keys: list[ObjectKey] = []
        while True:
            tok = self.scan()
            if tok.kind not in ("IDENT", "STRING"):
                self._check_key_terminator(tok, len(keys))
                return keys, tok
            keys.append(ObjectKey(str(tok.value), tok.pos, tok.text))

    @staticmethod
    def _check_key_terminator(tok: Token, count: int) -> None:
        if tok.kind == "ASSIGN" and count > 1:
            raise PolicyTextError(pos_error(tok.pos, "nested object expected: LBRACE got: ASSIGN"))
        if tok.kind == "ASSIGN" and count == 0:
            raise PolicyTextError(pos_error(tok.pos, "no object keys found!"))
        if tok.kind == "LBRACE" and count == 0:
            raise PolicyTextError(pos_error(tok.pos, "expected: IDENT | STRING got: LBRACE"))
        if tok.kind in ("ASSIGN", "LBRACE") or (tok.kind in ("EOF", "RBRACE") and count):
            return
        if tok.kind == "ILLEGAL":
            raise PolicyTextError(pos_error(tok.pos, "illegal character"))
        expected = "expected: IDENT | STRING | ASSIGN | LBRACE got: "
        raise PolicyTextError(pos_error(tok.pos, expected + tok.kind))

    def value(self) -> Node | None:
        tok = self.scan()
        if tok.kind in _LITERAL_KINDS:
            return self.literal(tok)
        if tok.kind == "LBRACE":
            return self.object_body(tok)
        if tok.kind == "LBRACK":
            return self.list_body(tok)
        if tok.kind == "EOF":
            return None
        raise PolicyTextError(pos_error(tok.pos, f"Unknown token: {tok.describe()}"))

    def literal(self, tok: Token) -> LiteralType:
        if tok.kind in ("NUMBER", "FLOAT"):
            return self.number(tok)
        kind = {"BOOL": "bool", "STRING": "string", "HEREDOC": "heredoc"}[tok.kind]
        return LiteralType(kind, tok.value, tok.text, tok.pos)

    def number(self, tok: Token) -> LiteralType:
        """pyhcl splits `1e5` into NUMBER EXPONENT NUMBER; HCL1 has one FLOAT."""
        exponent = self.scan()
        if exponent.kind != "EXPONENT":
            self.unscan(exponent)
            kind = "float" if tok.kind == "FLOAT" else "number"
            return LiteralType(kind, tok.value, tok.text, tok.pos)
        digits = self.scan()
        if digits.kind != "NUMBER":
            raise PolicyTextError(pos_error(digits.pos, "illegal character"))
        text = tok.text + exponent.text + digits.text
        return LiteralType("float", float(text), text, tok.pos)

    def object_body(self, lbrace: Token) -> ObjectType:
        items = self.object_list(in_object=True)
        tok = self.scan()
        if tok.kind != "RBRACE":
            message = f"object expected closing RBRACE got: {tok.kind}"
            raise PolicyTextError(pos_error(tok.pos, message))
        return ObjectType(items, lbrace.pos)

    def list_body(self, lbrack: Token) -> ListType:
        elements: list[Node] = []
        need_comma = False
        while True:
            tok = self.scan()
            if need_comma and tok.kind not in ("COMMA", "RBRACK"):
                message = f"error parsing list, expected comma or list end, got: {tok.kind}"
                raise PolicyTextError(pos_error(tok.pos, message))
            if tok.kind == "RBRACK":
                return ListType(elements, lbrack.pos)
            need_comma = self._list_element(tok, elements)

    def _list_element(self, tok: Token, elements: list[Node]) -> bool:
        """Append one element; return whether a comma must follow it."""
        if tok.kind in _LITERAL_KINDS:
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
        message = f"unexpected token while parsing list: {tok.kind}"
        raise PolicyTextError(pos_error(tok.pos, message))

    @staticmethod
    def _nested(tok: Token, parse: Callable[[Token], Node], what: str) -> Node:
        try:
            return parse(tok)
        except PolicyTextError as exc:
            message = f"error while trying to parse {what} within list: {exc}"
            raise PolicyTextError(pos_error(tok.pos, message)) from None


def parse_hcl(text: str) -> ObjectType:
    """Parse HCL1 text into the root ObjectList."""
    text = text.replace("\r\n", "\n")  # HCL1 normalises line endings first
    root = ObjectType(_HclReader(text).object_list(in_object=False))
    root.is_root = True
    return root

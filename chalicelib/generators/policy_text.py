"""Password policy text (HCL1 or JSON) into a :class:`StringGenerator`, as OpenBao reads it.

OpenBao decodes the text into a map with HCL1, then into its generator with mapstructure:
``length`` is an integer (a float is truncated), each ``rule "<type>" { ... }`` block is one
rule (only ``charset`` exists), field names match case-insensitively, unknown keys are
ignored, and a repeated key keeps its last value. The HCL front end is the one ACL policies
use, so that repeated ``rule`` blocks each count, as in HCL1.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.generators.generator import CharsetRule, GeneratorError, StringGenerator
from chalicelib.policy.errors import PolicyTextError
from chalicelib.policy.hcl_parser import parse_hcl
from chalicelib.policy.json_parser import parse_json
from chalicelib.policy.syntax import ListType, LiteralType, Node, ObjectItem, ObjectType

_DECODING = "decoding failed due to the following error(s):\n\n"
_CHARSET_CONTEXT = "unable to parse rule charset: failed to parse charset restriction: "


class PolicyError(ValueError):
    """Policy text OpenBao would refuse; the message is OpenBao's, client-safe."""


def parse_password_policy(text: str) -> StringGenerator:
    """OpenBao's random.ParsePolicy: the generator, validated; PolicyError otherwise."""
    try:
        root = parse_json(text) if text.lstrip().startswith("{") else parse_hcl(text)
    except PolicyTextError as error:
        raise PolicyError(f"unable to decode: {error}") from None
    length = _int_field(root.items, "length", "failed to decode configuration: ")
    blocks = _rule_blocks(root.items)
    try:
        rules = tuple(_rule(kind, body) for kind, body in blocks)
    except PolicyError as error:
        raise PolicyError(f"unable to parse rules: {error}") from None
    generator = StringGenerator(length, rules)
    try:
        generator.validate()
    except GeneratorError as error:
        raise PolicyError(str(error)) from None
    return generator


def _rule_blocks(items: Sequence[ObjectItem]) -> list[tuple[str, Node]]:
    """(type, body) of each ``rule`` block, in order: ``rule "charset" { ... }`` in HCL,
    ``"rule": [{"charset": [{ ... }]}]`` in JSON, ``rule { charset { ... } }`` too."""
    blocks: list[tuple[str, Node]] = []
    for item in items:
        if item.keys[0].value != "rule":  # a map lookup in OpenBao: case matters here
            continue
        if len(item.keys) > 1:
            blocks.append((item.keys[1].value, _nested(item.keys[2:], item.value)))
        elif isinstance(item.value, LiteralType):
            got = _go_type(item.value)
            raise PolicyError(
                f"unable to retrieve rules: '' source data must be an array or slice, got {got}"
            )
        else:
            blocks.extend(_typed_bodies(item.value))
    return blocks


def _typed_bodies(node: Node) -> list[tuple[str, Node]]:
    if isinstance(node, ObjectType):
        return [(item.keys[0].value, _nested(item.keys[1:], item.value)) for item in node.items]
    return [block for element in getattr(node, "elements", ()) for block in _typed_bodies(element)]


def _nested(keys: Sequence[object], value: Node) -> Node:
    # `rule "charset" "x" { ... }` nests one more object level: its fields are then unknown.
    return ObjectType([]) if keys else value


def _rule(kind: str, body: Node) -> CharsetRule:
    if kind != "charset":
        raise PolicyError(f"unable to parse rule {kind}: unrecognized rule type {kind}")
    if isinstance(body, ListType):  # JSON: a rule's body is the first of a list
        body = body.elements[0] if body.elements else ObjectType([])
    items = body.items if isinstance(body, ObjectType) else []
    return CharsetRule(_charset_field(items), _int_field(items, "min-chars", _CHARSET_CONTEXT))


def _field(items: Sequence[ObjectItem], name: str) -> Node | None:
    """The last value given to ``name`` (mapstructure matches names case-insensitively)."""
    found = [i.value for i in items if len(i.keys) == 1 and i.keys[0].value.lower() == name]
    return found[-1] if found else None


def _int_field(items: Sequence[ObjectItem], name: str, context: str) -> int:
    node = _field(items, name)
    if node is None:
        return 0
    if isinstance(node, LiteralType) and node.kind in ("number", "float"):
        return int(node.value)
    got = _go_type(node)
    raise PolicyError(
        f"{context}{_DECODING}'{name}' expected type 'int', got unconvertible type '{got}'"
    )


def _charset_field(items: Sequence[ObjectItem]) -> str:
    """A string, or (as mapstructure decodes into runes) a list of code points."""
    node = _field(items, "charset")
    if node is None:
        return ""
    if isinstance(node, LiteralType) and node.kind in ("string", "heredoc"):
        return str(node.value)
    if isinstance(node, ListType):
        return "".join(_code_point(index, element) for index, element in enumerate(node.elements))
    got = _go_type(node)
    raise PolicyError(
        f"{_CHARSET_CONTEXT}{_DECODING}'charset' source data must be an array or slice, got {got}"
    )


def _code_point(index: int, node: Node) -> str:
    if isinstance(node, LiteralType) and node.kind in ("number", "float"):
        try:
            return chr(int(node.value))
        except (ValueError, OverflowError):
            pass  # beyond Unicode: not a character any password could hold
    got = _go_type(node)
    raise PolicyError(
        f"{_CHARSET_CONTEXT}{_DECODING}'charset[{index}]' expected type 'int32', "
        f"got unconvertible type '{got}'"
    )


def _go_type(node: Node) -> str:
    """The Go type HCL1 decodes ``node`` into, as mapstructure names it."""
    if isinstance(node, LiteralType):
        return {"number": "int", "float": "float64", "bool": "bool"}.get(node.kind, "string")
    if isinstance(node, ListType):
        return "[]interface {}"
    return "[]map[string]interface {}"

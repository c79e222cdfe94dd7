"""Password policy text (HCL1 or JSON) into a :class:`StringGenerator`, as OpenBao reads it.

OpenBao decodes the text into a map with HCL1 and then into its generator with
mapstructure: ``length`` is an integer, each ``rule "<type>" { ... }`` block is one rule
(only ``charset`` exists), and unknown keys are ignored. The HCL front end is the one ACL
policies use, so repeated ``rule`` blocks each count, as in HCL1.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.credentials.generator import CharsetRule, GeneratorError, StringGenerator
from chalicelib.policy.errors import PolicyTextError
from chalicelib.policy.hcl_parser import parse_hcl
from chalicelib.policy.json_parser import parse_json
from chalicelib.policy.syntax import ListType, LiteralType, Node, ObjectItem, ObjectType


class PolicyError(ValueError):
    """Policy text OpenBao would refuse; the message is OpenBao's, client-safe."""


def parse_password_policy(text: str) -> StringGenerator:
    """OpenBao's random.ParsePolicy: the generator, validated; PolicyError otherwise."""
    try:
        root = parse_json(text) if text.lstrip().startswith("{") else parse_hcl(text)
    except PolicyTextError as error:
        raise PolicyError(f"unable to decode: {error}") from None
    length = _int_field(root.items, "length", "failed to decode configuration")
    try:
        rules = tuple(_rule(kind, body) for kind, body in _rule_blocks(root.items))
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
    ``"rule": [{"charset": [{ ... }]}]`` in JSON."""
    blocks: list[tuple[str, Node]] = []
    for item in items:
        if item.keys[0].value != "rule":
            continue
        if len(item.keys) > 1:
            blocks.append((item.keys[1].value, _nested(item.keys[2:], item.value)))
        else:
            blocks.extend(_typed_bodies(item.value))
    return blocks


def _typed_bodies(node: Node) -> list[tuple[str, Node]]:
    if isinstance(node, ListType):
        return [block for element in node.elements for block in _typed_bodies(element)]
    if isinstance(node, ObjectType):
        return [(item.keys[0].value, _nested(item.keys[1:], item.value)) for item in node.items]
    raise PolicyError("unable to get rule info: rule is empty")


def _nested(keys: Sequence[object], value: Node) -> Node:
    # `rule "charset" "x" { ... }` nests one more object level; its fields are then unknown.
    return ObjectType([]) if keys else value


def _rule(kind: str, body: Node) -> CharsetRule:
    if kind != "charset":
        raise PolicyError(f"unable to parse rule {kind}: unrecognized rule type {kind}")
    if isinstance(body, ListType):  # JSON: the rule's body is the first of a list
        body = body.elements[0] if body.elements else ObjectType([])
    if not isinstance(body, ObjectType):
        raise PolicyError("unable to get rule info: rule info cannot be empty")
    context = "unable to parse rule charset: failed to parse charset restriction"
    return CharsetRule(
        _string_field(body.items, "charset", context),
        _int_field(body.items, "min-chars", context),
    )


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
    raise PolicyError(f"{context}: {_type_error(name, 'int', node)}")


def _string_field(items: Sequence[ObjectItem], name: str, context: str) -> str:
    node = _field(items, name)
    if node is None:
        return ""
    if isinstance(node, LiteralType) and node.kind in ("string", "heredoc"):
        return str(node.value)
    raise PolicyError(f"{context}: {_type_error(name, '[]int32', node)}")


def _type_error(name: str, expected: str, node: Node) -> str:
    """mapstructure's complaint about a value of the wrong type."""
    if isinstance(node, LiteralType):
        got = {"string": "string", "heredoc": "string", "bool": "bool"}.get(node.kind, "int")
        value = node.value if node.kind != "bool" else str(node.value).lower()
    else:
        got, value = "[]map[string]interface {}", "..."
    return f"'{name}' expected type '{expected}', got unconvertible type '{got}', value: '{value}'"

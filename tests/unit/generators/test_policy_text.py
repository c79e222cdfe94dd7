"""Password policy text as OpenBao reads it: HCL1 or JSON, mapstructure's decoding and texts."""

from __future__ import annotations

import pytest

from chalicelib.generators.generator import CharsetRule, StringGenerator
from chalicelib.generators.policy_text import PolicyError, parse_password_policy

DOCS_EXAMPLE = """
length = 20

rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 1
}
rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 1
}
rule "charset" {
  charset = "0123456789"
  min-chars = 1
}
rule "charset" {
  charset = "!@#$%^&*"
  min-chars = 1
}
"""
DECODING = "decoding failed due to the following error(s):\n\n"
CHARSET = (
    "unable to parse rules: unable to parse rule charset: failed to parse charset restriction: "
)


def test_the_documented_example_keeps_every_repeated_rule() -> None:
    generator = parse_password_policy(DOCS_EXAMPLE)
    assert generator.length == 20
    assert [rule.min_chars for rule in generator.rules] == [1, 1, 1, 1]
    assert generator.rules[3] == CharsetRule("!@#$%^&*", 1)


@pytest.mark.parametrize(
    "text",
    [
        '{"length": 12, "rule": [{"charset": [{"charset": "xy", "min-chars": 2}]}]}',
        'length = 12\nrule = [{charset = [{charset = "xy", min-chars = 2}]}]',
        'length = 12\nrule {\n charset {\n  charset = "xy"\n  min-chars = 2\n }\n}',
        'LENGTH = 12.9\nrule "charset" {\n CHARSET = "xy"\n Min-Chars = 2\n}',
        'length = 12\nrule "charset" {\n charset = [120, 121]\n min-chars = 2\n}',
        'length = 3\nlength = 12\nfoo = "ignored"\nrule "charset" {\n charset = "ab"\n'
        ' charset = "xy"\n min-chars = 2\n}',
    ],
    ids=["json", "hcl-lists", "nested-blocks", "case-and-float", "code-points", "last-wins"],
)
def test_the_shapes_openbao_accepts(text: str) -> None:
    assert parse_password_policy(text) == StringGenerator(12, (CharsetRule("xy", 2),))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'length = "20"',
            f"failed to decode configuration: {DECODING}'length' expected type "
            "'int', got unconvertible type 'string'",
        ),
        (
            "length = true",
            f"failed to decode configuration: {DECODING}'length' expected type "
            "'int', got unconvertible type 'bool'",
        ),
        (
            "length = [1]",
            f"failed to decode configuration: {DECODING}'length' expected type "
            "'int', got unconvertible type '[]interface {}'",
        ),
        (
            'length = 20\nrule "charset" {\n charset = 5\n}',
            f"{CHARSET}{DECODING}'charset' source data must be an array or slice, got int",
        ),
        (
            'length = 20\nrule "charset" {\n charset = 1.5\n}',
            f"{CHARSET}{DECODING}'charset' source data must be an array or slice, got float64",
        ),
        (
            'length = 20\nrule "charset" {\n charset = ["ab"]\n}',
            f"{CHARSET}{DECODING}'charset[0]' expected type 'int32', "
            "got unconvertible type 'string'",
        ),
        (
            'length = 20\nrule "charset" {\n charset = "ab"\n min-chars = "3"\n}',
            f"{CHARSET}{DECODING}'min-chars' expected type 'int', got unconvertible type 'string'",
        ),
        (
            'length = 20\nrule "charset" {\n charset = "ab"\n min-chars = {a = 1}\n}',
            f"{CHARSET}{DECODING}'min-chars' expected type 'int', got unconvertible type "
            "'[]map[string]interface {}'",
        ),
        (
            'length = 20\nrule "foo" {\n charset = "ab"\n}',
            "unable to parse rules: unable to parse rule foo: unrecognized rule type foo",
        ),
        (
            "length = 20\nrule = 5",
            "unable to retrieve rules: '' source data must be an array or slice, got int",
        ),
        (
            "length = 20 rule {",
            "unable to decode: At 1:20: object expected closing RBRACE got: EOF",
        ),
        ('rule "charset" {\n charset = "ab"\n}', "1 error occurred:\n\t* length must be > 0\n\n"),
        ("length = 20", "1 error occurred:\n\t* no charset specified\n\n"),
        (
            'length = 20\nrule "charset" "y" {\n charset = "ab"\n}',
            "1 error occurred:\n\t* no charset specified\n\n",
        ),
        (
            'length = 20\nrule "charset" {\n charset = "ab"\n min-chars = 30\n}',
            "1 error occurred:\n\t* specified rules require at least 30 characters but 20 is "
            "specified\n\n",
        ),
    ],
)
def test_refusals_carry_openbaos_text(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_password_policy(text)
    assert str(raised.value) == message

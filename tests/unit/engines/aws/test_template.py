"""The Go-template subset behind username_template."""

import re

import pytest

from chalicelib.engines.aws.config import DEFAULT_USERNAME_TEMPLATE
from chalicelib.engines.aws.usernames import generate
from chalicelib.generators.template import Template, TemplateError


def render(source: str, **values) -> str:
    return Template.parse(source).render(values)


def test_default_template_names_iam_users_and_sts_sessions():
    iam = generate(DEFAULT_USERNAME_TEMPLATE, sts=False, display_name="token", policy_name="dev")
    assert re.fullmatch(r"vault-token-dev-\d+-[A-Za-z0-9]{20}", iam)
    sts = generate(DEFAULT_USERNAME_TEMPLATE, sts=True)
    assert len(sts) == 32 and sts.startswith("vault-")


def test_default_template_truncates_long_names_and_normalises_characters():
    name = generate(
        DEFAULT_USERNAME_TEMPLATE, sts=False, display_name="userpass-al!ce", policy_name="r" * 80
    )
    assert len(name) == 64
    assert name.startswith("vault-userpass-al_ce-rrrr")


@pytest.mark.parametrize(
    ("source", "values", "expected"),
    [
        ('{{ printf "%s-%s" .A .B }}', {"A": "x", "B": "y"}, "x-y"),
        ("{{ .A | uppercase }}/{{ .A | lowercase }}", {"A": "Ab"}, "AB/ab"),
        ('{{ replace "-" "_" .A }}', {"A": "a-b-c"}, "a_b_c"),
        ("{{ .A | truncate 3 }}", {"A": "abcdef"}, "abc"),
        ("{{ .A | truncate_sha256 10 }}", {"A": "abcdefghijklmnop"}, "ab936d7cdc"),
        ("{{ .A | truncate_sha256 10 }}", {"A": "short"}, "short"),
        ('{{ if eq .T "STS" }}s{{ else }}i{{ end }}', {"T": "IAM"}, "i"),
        ('{{ if (eq .T "STS") }}s{{ else }}i{{ end }}', {"T": "STS"}, "s"),
        ("a {{- .A -}} b", {"A": "x"}, "axb"),
        ("{{ .A | sha256 | truncate 8 }}", {"A": "x"}, "2d711642"),
        ("{{ .A | base64 }} {{ .A | hex }}", {"A": "hi"}, "aGk= 6869"),
        ("{{ `raw` }}{{ 12 }}", {}, "raw12"),
        ("{{ .A | decode_base64 }} {{ .B | decode_hex }}", {"A": "aGk=", "B": "6869"}, "hi hi"),
        ('{{ if glob "dev-*" .A }}y{{ else }}n{{ end }}', {"A": "dev-ci"}, "y"),
        ('{{ if glob "dev-*" .A }}y{{ else }}n{{ end }}', {"A": "prod"}, "n"),
    ],
)
def test_functions_pipes_and_conditionals(source, values, expected):
    assert render(source, **values) == expected


def test_generated_values_change_per_render():
    template = Template.parse("{{ random 20 }}-{{ uuid }}-{{ unix_time }}")
    first, second = template.render({}), template.render({})
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9]{20}-[0-9a-f-]{36}-\d+", first)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "missing template"),
        ("{{ nope }}", 'function "nope" not defined'),
        ("{{ if .A }}x", "missing {{end}}"),
        ("x{{ end }}", "unexpected {{end}}"),
        ("{{ (eq .A }}", "unclosed left paren"),
        ("{{ .A", "unclosed action"),
        ("{{ .A | truncate 0 }}", "max length must be > 0 but was 0"),
        ("{{ .Missing }}", "can't evaluate field Missing"),
    ],
)
def test_broken_templates_say_why(source, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(source, A="a")


def test_names_over_the_limits_are_refused():
    from chalicelib.core.errors import BadRequest

    with pytest.raises(BadRequest, match="exceeds the IAM username length limits of 64 chars"):
        generate('{{ printf "%s%s" .PolicyName .PolicyName }}', sts=False, policy_name="p" * 40)
    with pytest.raises(BadRequest, match="exceeds the STS username length limits of 32 chars"):
        generate("{{ random 33 }}", sts=True)

"""Parsing ACL policy text: HCL and JSON forms, OpenBao's quirks and its error messages."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.policy import (
    Capability,
    Policy,
    decode_policy_text,
    normalize_policy_name,
    parse_duration_seconds,
    parse_policy,
)
from chalicelib.policy.parser import MapList, go_parse_duration

SECOND = 1_000_000_000


def only_rule(text: str):
    (rule,) = parse_policy("p", text).paths
    return rule


def error_of(text: str) -> str:
    with pytest.raises(BadRequest) as error:
        parse_policy("p", text)
    return error.value.message


# -- basic shapes ---------------------------------------------------------------


def test_hcl_policy_with_capabilities():
    policy = parse_policy("Dev ", 'path "secret/data/app" {\n  capabilities = ["read", "list"]\n}')
    assert isinstance(policy, Policy)
    assert policy.name == "dev"  # names are trimmed and lower-cased, like the store does
    (rule,) = policy.paths
    assert rule.path == "secret/data/app"
    assert not rule.is_prefix and not rule.has_segment_wildcards
    assert rule.capabilities == Capability.READ | Capability.LIST


def test_json_policy_is_equivalent_to_hcl():
    hcl_rule = only_rule('path "a/*" { capabilities = ["update"] }')
    json_rule = only_rule('{"path": {"a/*": {"capabilities": ["update"]}}}')
    assert json_rule == hcl_rule


def test_json_policy_may_list_path_objects():
    policy = parse_policy(
        "p", '{"path": [{"a": {"capabilities": ["read"]}}, {"b": {"policy": "read"}}]}'
    )
    assert [r.path for r in policy.paths] == ["a", "b"]


def test_empty_policy_has_no_rules():
    assert parse_policy("p", "   \n").paths == ()


def test_glob_suffix_becomes_prefix_rule():
    rule = only_rule('path "secret/*" { capabilities = ["read"] }')
    assert (rule.path, rule.is_prefix, rule.has_segment_wildcards) == ("secret/", True, False)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("secret/+/foo", "secret/+/foo"),
        ("secret/+/foo*", "secret/+/foo*"),  # the glob stays for "+" rules
        ("+", "+"),
        ("+/x", "+/x"),
        ("a/+b", "a/+b"),  # "/+" anywhere marks the rule, even mid-segment
    ],
)
def test_plus_rules_keep_their_glob(key: str, expected: str):
    rule = only_rule(f'path "{key}" {{ capabilities = ["read"] }}')
    assert rule.path == expected and rule.has_segment_wildcards and not rule.is_prefix


def test_plus_inside_a_segment_start_is_literal():
    rule = only_rule('path "a+b/c" { capabilities = ["read"] }')
    assert not rule.has_segment_wildcards


def test_leading_slash_is_dropped():
    assert only_rule('path "/kv/a" { capabilities = ["read"] }').path == "kv/a"


# -- legacy `policy = ...` and deny ---------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("read", Capability.READ | Capability.LIST),
        (
            "write",
            Capability.CREATE
            | Capability.READ
            | Capability.UPDATE
            | Capability.DELETE
            | Capability.LIST,
        ),
        (
            "sudo",
            Capability.CREATE
            | Capability.READ
            | Capability.UPDATE
            | Capability.DELETE
            | Capability.LIST
            | Capability.SUDO,
        ),
        ("deny", Capability.DENY),
    ],
)
def test_legacy_policy_shorthand(legacy: str, expected: Capability):
    assert only_rule(f'path "a" {{ policy = "{legacy}" }}').capabilities == expected


def test_legacy_policy_adds_to_capabilities():
    rule = only_rule('path "a" { policy = "read"\n capabilities = ["patch"] }')
    assert rule.capabilities == Capability.PATCH | Capability.READ | Capability.LIST


def test_deny_discards_everything_else_even_invalid_entries():
    rule = only_rule(
        'path "a" { capabilities = ["read", "deny", "bogus"]\n min_wrapping_ttl = "nonsense" }'
    )
    assert rule.capabilities == Capability.DENY
    assert rule.min_wrapping_ttl_ns == 0


def test_no_capabilities_is_a_rule_granting_nothing():
    assert only_rule('path "a" {}').capabilities == Capability(0)


# -- HCL1 accumulation quirks ------------------------------------------------------------


def test_repeated_blocks_are_kept_separately():
    policy = parse_policy(
        "p", 'path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }'
    )
    assert [r.capabilities for r in policy.paths] == [Capability.READ, Capability.LIST]


def test_repeated_keys_accumulate():
    rule = only_rule('path "a" {\n capabilities = ["read"]\n capabilities = ["list"]\n}')
    assert rule.capabilities == Capability.READ | Capability.LIST


def test_json_duplicate_keys_are_kept():
    policy = parse_policy(
        "p", '{"path": {"a": {"capabilities": ["read"]}, "a": {"capabilities": ["list"]}}}'
    )
    assert len(policy.paths) == 2


def test_json_lists_silently_drop_booleans():
    rule = only_rule('{"path": {"a": {"capabilities": ["read", true, "list"]}}}')
    assert rule.capabilities == Capability.READ | Capability.LIST


def test_path_assignment_targets_a_path_named_path():
    assert only_rule('path = { capabilities = ["read"] }').path == "path"


def test_extra_block_labels_are_ignored():
    assert only_rule('path "a" "b" { capabilities = ["read"] }').path == "a"


def test_hcl_lists_accept_numbers_booleans_nested_lists_and_objects():
    rule = only_rule(
        'path "a" { capabilities = ["create"]\n'
        '  allowed_parameters = { "X" = ["s", 1, 1.5, true, ["n", 2], {"k" = "v"}] } }'
    )
    (values,) = rule.allowed_parameters.values()
    assert list(rule.allowed_parameters) == ["x"]  # keys are lower-cased
    assert values[:4] == ("s", 1, 1.5, True)
    assert values[4] == ("n", 2)
    assert dict(values[5]) == {"k": "v"}


def test_object_outside_a_list_decodes_as_go_map_slice():
    rule = only_rule(
        'path "a" { capabilities = ["create"]\n'
        ' allowed_parameters = { "x" = [{"k" = {"n" = "v"}}] } }'
    )
    (values,) = rule.allowed_parameters.values()
    assert isinstance(values[0]["k"], MapList)


def test_strings_are_unescaped_like_go():
    assert only_rule('path "a\\u002fb\\tc" { capabilities = ["read"] }').path == "a/b\tc"


def test_interpolation_is_kept_verbatim():
    assert only_rule('path "a/${x\\n}" { capabilities = ["read"] }').path == "a/${x\\n}"


def test_numbers_use_go_base_prefixes():
    assert (
        only_rule('path "a" { capabilities = ["list"]\n pagination_limit = 010 }').pagination_limit
        == 8
    )
    assert (
        only_rule(
            'path "a" { capabilities = ["list"]\n pagination_limit = "0x10" }'
        ).pagination_limit
        == 16
    )


def test_comments_are_ignored():
    text = '# one\n// two\n/* three\n */ path "a" { capabilities = ["read"] } # four'
    assert only_rule(text).capabilities == Capability.READ


# -- parameters, TTLs, other fields ----------------------------------------------------


def test_wrapping_ttls():
    rule = only_rule(
        'path "a" { capabilities = ["read"]\n min_wrapping_ttl = 90\n max_wrapping_ttl = "1h30m" }'
    )
    assert rule.min_wrapping_ttl_ns == 90 * SECOND
    assert rule.max_wrapping_ttl_ns == 5400 * SECOND


def test_required_parameters_keep_their_case():
    rule = only_rule('path "a" { capabilities = ["read"]\n required_parameters = ["Foo", "bar"] }')
    assert rule.required_parameters == ("Foo", "bar")


def test_other_openbao_fields_are_accepted():
    rule = only_rule(
        'path "a" { capabilities = ["list"]\n comment = "x"\n mfa_methods = ["m"]\n'
        ' pagination_limit = 5\n list_scan_response_keys_filter_path = "{{ .path }}" }'
    )
    assert rule.mfa_methods == ("m",)
    assert rule.pagination_limit == 5
    assert rule.response_keys_filter_path == "{{ .path }}"


def test_valid_control_group_is_accepted_and_ignored():
    text = (
        'path "a" {\n capabilities = ["read"]\n control_group = {\n  ttl = "4h"\n'
        '  factor "ops" {\n   controlled_capabilities = ["read"]\n'
        '   identity {\n    group_names = ["ops"]\n    approvals = 1\n   }\n  }\n }\n}'
    )
    assert only_rule(text).capabilities == Capability.READ


def test_expired_stanzas_vanish_before_validation():
    text = (
        'path "a" { capabilities = ["bogus"]\n expiration = "2001-01-01T00:00:00Z" }\n'
        'path "b" { capabilities = ["read"]\n expiration = "2999-01-01T00:00:00+02:00" }'
    )
    (rule,) = parse_policy("p", text).paths
    assert rule.path == "b"
    assert rule.expiration == datetime(2998, 12, 31, 22, tzinfo=UTC)


def test_expiration_accepts_unix_seconds():
    rule = only_rule('path "a" { capabilities = ["read"]\n expiration = 4102444800 }')
    assert rule.expiration == datetime(2100, 1, 1, tzinfo=UTC)


def test_expiration_is_judged_against_now():
    text = 'path "a" { capabilities = ["read"]\n expiration = "2030-01-01T00:00:00Z" }'
    later = datetime(2031, 1, 1, tzinfo=UTC)
    assert parse_policy("p", text, now=later).paths == ()


def test_templated_paths_are_flagged():
    policy = parse_policy(
        "p", 'path "a/{{identity.entity.id}}" { capabilities = ["read"] }\npath "b" {}'
    )
    assert policy.templated
    assert [r.templated for r in policy.paths] == [True, False]


def test_policy_objects_are_immutable():
    policy = parse_policy(
        "p", 'path "a" { capabilities = ["read"]\n allowed_parameters = { "x" = [] } }'
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.paths[0].path = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.paths[0].allowed_parameters["y"] = ()  # type: ignore[index]


# -- error messages (verified against OpenBao 2.7.2) -----------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'path "a" { capabilities = ["read", "bogus"] }',
            'path "a": path "a": invalid capability "bogus"',
        ),
        ('path "a" { policy = "foo" }', 'path "a": path "a": invalid policy "foo"'),
        (
            'path "/a/+*" { capabilities = ["read"] }',
            'path "/a/+*": path "a/+*": invalid use of wildcards (\'+*\' is forbidden)',
        ),
        ("\n\nfoo = 1\n", '1 error occurred:\n\t* invalid key "foo" on line 3\n\n'),
        ('foo "x" {\n}\n', '1 error occurred:\n\t* invalid key "foo" on line 0\n\n'),
        (
            'path "a" {\n capabilities = ["read"]\n bogus = 1\n other = 2\n}',
            'path "a": 2 errors occurred:\n\t* invalid key "bogus" on line 3\n'
            '\t* invalid key "other" on line 4\n\n',
        ),
        (
            'path "a" {\n capabilities = "read" }',
            'path "a": path "a": At 2:17: unknown slice type: *ast.LiteralType',
        ),
        ('path "a" { policy = read }', "At 1:21: Unknown token: 1:21 IDENT read"),
        (
            'path "a" { capabilities = ["read" }',
            "At 1:35: error parsing list, expected comma or list end, got: RBRACE",
        ),
        (
            'path "a" { min_wrapping_ttl = "2h"\n max_wrapping_ttl = "1h" }',
            'path "a": max_wrapping_ttl cannot be less than min_wrapping_ttl',
        ),
        (
            'path "a" { max_wrapping_ttl = "5x" }',
            'path "a": error parsing max_wrapping_ttl: time: unknown unit "x" in duration "5x"',
        ),
        (
            'path "a" { min_wrapping_ttl = "1.5d" }',
            'path "a": error parsing min_wrapping_ttl: strconv.ParseInt: parsing "1.5": '
            "invalid syntax",
        ),
        (
            '{"path": {"a": {"capabilities": "read"}}}',
            'path "a": path "a": At -: unknown slice type: *ast.LiteralType',
        ),
        (
            '{"path": {"a": {"allowed_parameters": {"foo": []}}}}',
            'path "a": 1 error occurred:\n\t* invalid key "foo" on line 1\n\n',
        ),
        ("path = 5", 'path "path": cannot check HCL keys of type *ast.LiteralType'),
        (
            'path "a/{{x" {}',
            'path "a/{{x": failed to validate policy templating: unbalanced templating characters',
        ),
        (
            'path "a" { capabilities = ["read"]\n expiration = "tomorrow" }',
            'path "a": path "a": invalid expiration time: could not parse string as date and time',
        ),
        (
            'path "a" { capabilities = ["read"]\n list_scan_response_keys_filter_path = "x" }',
            'path "a": list_scan_response_keys_filter_path needs to be used on a path with the '
            "list capability",
        ),
        (
            'path "a" {\n control_group = {\n ttl = "1h"\n }\n}',
            'path "a": error handling control_group: 1 error occurred:\n'
            "\t* requires at least one factor but had none\n\n",
        ),
        ('path "a\\q" {}', "At 1:9: illegal char escape"),
        (
            "path <<EOT\na\nEOT\n {}",
            "At 1:6: expected: IDENT | STRING | ASSIGN | LBRACE got: HEREDOC",
        ),
        ('path "a" { capabilities = ["read"]', "At 1:36: object expected closing RBRACE got: EOF"),
    ],
)
def test_errors_carry_openbaos_messages(text: str, message: str):
    assert error_of(text) == f"failed to parse policy: {message}"


def test_errors_are_bad_requests():
    with pytest.raises(BadRequest) as error:
        parse_policy("p", "path {")
    assert error.value.status == 400


# -- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 0),
        ("", 0),
        (30, 30),
        (1.9, 1),
        ("45", 45),
        ("2d", 172800),
        ("1h1m1s", 3661),
        ("-5", -5),
    ],
)
def test_parse_duration_seconds(value: object, seconds: int):
    assert parse_duration_seconds(value) == seconds * SECOND


def test_go_durations_support_fractions_and_micro_signs():
    assert go_parse_duration("1.5s") == 1_500_000_000
    assert go_parse_duration("2\u00b5s") == go_parse_duration("2us") == 2000
    assert go_parse_duration("0") == 0


def test_decode_policy_text_accepts_base64():
    text = 'path "a" { capabilities = ["read"] }'
    assert decode_policy_text(base64.b64encode(text.encode()).decode()) == text
    assert decode_policy_text(text) == text


def test_normalize_policy_name():
    assert normalize_policy_name("  Ops-Team ") == "ops-team"


def test_timedelta_sanity_of_fixture():
    # The suite compares against fixed dates; make sure "now" really is before 2999.
    assert datetime.now(UTC) + timedelta(days=1) < datetime(2999, 1, 1, tzinfo=UTC)

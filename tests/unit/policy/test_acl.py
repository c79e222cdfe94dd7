"""ACL edge cases: rule priority, merging, parameters, wrapping, templating, capabilities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.operation import Operation
from chalicelib.policy import (
    ACL,
    DEFAULT_POLICY,
    ROOT_POLICY,
    Authorization,
    IdentityAlias,
    IdentityContext,
    IdentityGroup,
    parse_policy,
)

READ, LIST, CREATE, UPDATE, PATCH, DELETE = (
    Operation.READ,
    Operation.LIST,
    Operation.CREATE,
    Operation.UPDATE,
    Operation.PATCH,
    Operation.DELETE,
)


def acl(*texts: str, **kwargs) -> ACL:
    return ACL.compile([parse_policy(f"p{i}", t) for i, t in enumerate(texts)], **kwargs)


def allowed(a: ACL, op: Operation, path: str, data=None, **kwargs) -> bool:
    return a.authorize(op, path, data, **kwargs).allowed


# -- which rule applies ---------------------------------------------------------------


def test_exact_rule_beats_every_glob():
    a = acl('path "kv/*" { capabilities = ["deny"] }\npath "kv/a" { capabilities = ["read"] }')
    assert allowed(a, READ, "kv/a")
    assert not allowed(a, READ, "kv/ab")


def test_longest_glob_wins_and_rules_never_combine():
    a = acl('path "kv/*" { capabilities = ["read"] }\npath "kv/team/*" { capabilities = ["list"] }')
    assert not allowed(a, READ, "kv/team/x")  # the longer glob decides, alone
    assert allowed(a, READ, "kv/other")


def test_glob_matches_partial_segments():
    a = acl('path "secret/foo*" { capabilities = ["read"] }')
    assert allowed(a, READ, "secret/foobar/baz")
    assert not allowed(a, READ, "secret/fo")


def test_plus_matches_exactly_one_segment():
    a = acl('path "kv/+/config" { capabilities = ["read"] }')
    assert allowed(a, READ, "kv/team/config")
    assert allowed(a, READ, "kv//config")  # an empty segment is still a segment
    assert not allowed(a, READ, "kv/a/b/config")
    assert not allowed(a, READ, "kv/config")


def test_plus_with_trailing_glob():
    a = acl('path "kv/+/sub*" { capabilities = ["read"] }')
    assert allowed(a, READ, "kv/a/sub")
    assert allowed(a, READ, "kv/a/subway/x")
    assert not allowed(a, READ, "kv/a/su")


@pytest.mark.parametrize(
    ("winner", "loser", "path"),
    [
        ("foo/a*", "foo/+", "foo/ab"),  # later first wildcard wins
        ("foo/bar/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"),
        ("foo/+/bar", "foo/+/ba*", "foo/x/bar"),  # no trailing glob wins
        ("foo/+", "foo/*", "foo/x"),
        ("foo/bar/+/baz", "foo/+/+/baz", "foo/bar/x/baz"),  # fewer + segments win
        ("secret/*", "secret/+/+/foo/*", "secret/a/b/foo/c"),
        ("foo/+/bar/ba*", "foo/+/bar/b*", "foo/x/bar/baz"),  # longer pattern wins
        ("a/+/x/+", "a/+/+/y", "a/b/x/y"),  # a full tie: the lexically greater wins
    ],
)
def test_openbao_specificity_order(winner: str, loser: str, path: str):
    for order in ((winner, loser), (loser, winner)):
        text = "\n".join(
            f'path "{p}" {{ capabilities = ["{"read" if p == winner else "deny"}"] }}'
            for p in order
        )
        assert allowed(acl(text), READ, path), (order, path)


def test_prefix_rule_competes_with_plus_rules_by_glob_position():
    a = acl(
        'path "kv/team/*" { capabilities = ["deny"] }\npath "kv/+/a/*" { capabilities = ["read"] }'
    )
    assert not allowed(a, READ, "kv/team/a/x")  # the glob starts later than the "+"
    b = acl(
        'path "kv/te*" { capabilities = ["deny"] }\npath "kv/team/+/x" { capabilities = ["read"] }'
    )
    assert allowed(b, READ, "kv/team/a/x")


def test_list_adds_trailing_slash_and_falls_back_to_exact_without_it():
    a = acl(
        'path "kv/team" { capabilities = ["list"] }\npath "kv/app/*" { capabilities = ["list"] }'
    )
    assert allowed(a, LIST, "kv/team")  # becomes kv/team/, then falls back to kv/team
    assert allowed(a, LIST, "kv/app")  # kv/app/ matches the prefix rule
    assert not allowed(a, READ, "kv/team/")


def test_list_prefers_rules_covering_the_slash():
    a = acl('path "kv/a*" { capabilities = ["deny"] }\npath "kv/a/*" { capabilities = ["list"] }')
    assert allowed(a, LIST, "kv/a")


def test_rule_without_capabilities_shadows_broader_rules():
    a = acl('path "kv/*" { capabilities = ["read"] }\npath "kv/x/*" { capabilities = [] }')
    assert not allowed(a, READ, "kv/x/y")
    assert a.capabilities("kv/x/y") == ["deny"]


def test_leading_slashes_are_ignored():
    a = acl('path "kv/a" { capabilities = ["read"] }')
    assert allowed(a, READ, "//kv/a")


def test_star_alone_matches_everything():
    a = acl('path "*" { capabilities = ["read"] }')
    assert allowed(a, READ, "sys/mounts")
    assert a.capabilities("") == ["read"]


# -- merging across policies -----------------------------------------------------------


def test_same_path_capabilities_are_unioned():
    a = acl('path "kv/*" { capabilities = ["read"] }', 'path "kv/*" { capabilities = ["list"] }')
    assert a.capabilities("kv/x") == ["list", "read"]


def test_deny_absorbs_the_path_in_any_order():
    grant = 'path "kv/a" { capabilities = ["read", "sudo"] }'
    deny = 'path "kv/a" { capabilities = ["deny"] }'
    for texts in ((grant, deny), (deny, grant)):
        a = acl(*texts)
        verdict = a.authorize(READ, "kv/a")
        assert not verdict.allowed and not verdict.root_privs
        assert a.capabilities("kv/a") == ["deny"]


def test_exact_and_glob_rules_do_not_merge():
    a = acl('path "kv/a" { capabilities = ["read"] }', 'path "kv/a*" { capabilities = ["update"] }')
    assert not allowed(a, UPDATE, "kv/a")
    assert allowed(a, UPDATE, "kv/ab")


def test_allowed_parameter_lists_are_concatenated():
    a = acl(
        'path "kv/a" { capabilities = ["update"]\n allowed_parameters = { "v" = ["1"] } }',
        'path "kv/a" { capabilities = ["update"]\n allowed_parameters = { "v" = ["2"] } }',
    )
    assert allowed(a, UPDATE, "kv/a", {"v": "1"}) and allowed(a, UPDATE, "kv/a", {"v": "2"})
    assert not allowed(a, UPDATE, "kv/a", {"v": "3"})


def test_empty_value_list_wins_when_merging():
    a = acl(
        'path "kv/a" { capabilities = ["update"]\n allowed_parameters = { "v" = ["1"] } }',
        'path "kv/a" { capabilities = ["update"]\n allowed_parameters = { "v" = [] } }',
    )
    assert allowed(a, UPDATE, "kv/a", {"v": "anything"})


def test_unconstrained_policy_does_not_lift_constraints():
    a = acl(
        'path "kv/a" { capabilities = ["update"]\n allowed_parameters = { "v" = ["1"] } }',
        'path "kv/a" { capabilities = ["update"] }',
    )
    assert not allowed(a, UPDATE, "kv/a", {"v": "2"})


def test_merged_wrapping_bounds_take_the_smaller_values():
    a = acl(
        'path "kv/a" { capabilities = ["read"]\n'
        ' min_wrapping_ttl = "2m"\n max_wrapping_ttl = "1h" }',
        'path "kv/a" { capabilities = ["read"]\n'
        ' min_wrapping_ttl = "1m"\n max_wrapping_ttl = "10m" }',
    )
    assert allowed(a, READ, "kv/a", wrap_ttl=60)
    assert not allowed(a, READ, "kv/a", wrap_ttl=59)
    assert not allowed(a, READ, "kv/a", wrap_ttl=601)


def test_merge_can_produce_contradictory_bounds_which_deny():
    a = acl(
        'path "kv/a" { capabilities = ["read"]\n min_wrapping_ttl = "1h" }',
        'path "kv/a" { capabilities = ["read"]\n max_wrapping_ttl = "10m" }',
    )
    assert not any(allowed(a, READ, "kv/a", wrap_ttl=t) for t in (0, 600, 3600, 7200))


def test_granting_policies_are_reported():
    a = ACL.compile(
        [
            parse_policy("one", 'path "kv/a" { capabilities = ["read"] }'),
            parse_policy("two", 'path "kv/a" { capabilities = ["read", "list"] }'),
        ]
    )
    assert a.authorize(READ, "kv/a").granting_policies == ("one", "two")
    assert a.authorize(LIST, "kv/a").granting_policies == ("two",)


# -- parameters --------------------------------------------------------------------------


def constrained(body: str) -> ACL:
    return acl(f'path "kv/a" {{ capabilities = ["create", "update", "read", "list"]\n{body} }}')


def test_allowed_parameter_globs():
    a = constrained('allowed_parameters = { "v" = ["pre-*", "*-post", "*mid*", "*"] }')
    for value in ("pre-1", "x-post", "amidb", "*"):
        assert allowed(a, UPDATE, "kv/a", {"v": value}), value
    for value in ("other", "pre"):
        assert not allowed(a, UPDATE, "kv/a", {"v": value}), value


def test_lone_star_allows_any_parameter_whatever_its_values():
    a = constrained('allowed_parameters = { "*" = ["nothing"] }')
    assert allowed(a, UPDATE, "kv/a", {"x": "1", "y": "2"})


def test_star_with_other_keys_constrains_only_those():
    a = constrained('allowed_parameters = { "*" = []\n "v" = ["x"] }')
    assert allowed(a, UPDATE, "kv/a", {"other": "1", "v": "x"})
    assert not allowed(a, UPDATE, "kv/a", {"v": "y"})


def test_parameter_names_are_case_insensitive():
    a = constrained('allowed_parameters = { "Value" = ["x"] }')
    assert allowed(a, UPDATE, "kv/a", {"VALUE": "x"})


def test_request_numbers_never_match_policy_values():
    a = constrained('allowed_parameters = { "n" = [5, "5"]\n "b" = [true] }')
    assert not allowed(a, UPDATE, "kv/a", {"n": 5})
    assert not allowed(a, UPDATE, "kv/a", {"n": 5.0})
    assert allowed(a, UPDATE, "kv/a", {"n": "5"})
    assert allowed(a, UPDATE, "kv/a", {"b": True})
    assert not allowed(a, UPDATE, "kv/a", {"b": "true"})


def test_lists_and_maps_compare_deeply_without_globs():
    a = constrained('allowed_parameters = { "l" = [["a", "b*"]]\n "m" = [{"k" = "v"}] }')
    assert allowed(a, UPDATE, "kv/a", {"l": ["a", "b*"]})
    assert not allowed(a, UPDATE, "kv/a", {"l": ["a", "bc"]})
    assert not allowed(a, UPDATE, "kv/a", {"l": ("a", "b*")})  # a repeated query parameter
    assert allowed(a, UPDATE, "kv/a", {"m": {"k": "v"}})


def test_null_matches_only_unconstrained_parameters():
    a = constrained('allowed_parameters = { "v" = ["x"]\n "w" = [] }')
    assert not allowed(a, UPDATE, "kv/a", {"v": None})
    assert allowed(a, UPDATE, "kv/a", {"w": None})


def test_denied_parameters():
    a = constrained('denied_parameters = { "v" = ["bad-*"]\n "w" = [] }')
    assert not allowed(a, UPDATE, "kv/a", {"v": "bad-1"})
    assert allowed(a, UPDATE, "kv/a", {"v": "good"})
    assert not allowed(a, UPDATE, "kv/a", {"w": "anything"})


def test_denied_star_blocks_any_data_but_not_an_empty_body():
    a = constrained('denied_parameters = { "*" = ["irrelevant"] }')
    assert not allowed(a, UPDATE, "kv/a", {"x": "1"})
    assert allowed(a, UPDATE, "kv/a", {})


def test_required_parameters_use_lower_cased_names_on_raw_keys():
    a = constrained('required_parameters = ["Owner"]')
    assert allowed(a, UPDATE, "kv/a", {"owner": "x"})
    assert not allowed(a, UPDATE, "kv/a", {"Owner": "x"})
    assert not allowed(a, UPDATE, "kv/a")


def test_parameters_also_constrain_reads_but_not_lists_or_deletes():
    a = acl(
        'path "kv/a" { capabilities = ["read", "list", "delete"]\n required_parameters = ["x"] }'
    )
    assert not allowed(a, READ, "kv/a")
    assert allowed(a, READ, "kv/a", {"x": "1"})
    assert allowed(a, LIST, "kv/a") and allowed(a, DELETE, "kv/a")


def test_patch_is_its_own_capability():
    a = acl('path "kv/a" { capabilities = ["update"] }')
    assert not allowed(a, PATCH, "kv/a")
    assert allowed(acl('path "kv/a" { capabilities = ["patch"] }'), PATCH, "kv/a")


def test_create_and_update_are_distinct():
    a = acl('path "kv/*" { capabilities = ["create"] }')
    assert allowed(a, CREATE, "kv/new") and not allowed(a, UPDATE, "kv/old")


# -- response wrapping -------------------------------------------------------------------


def test_min_wrapping_ttl_requires_wrapping():
    a = acl('path "kv/a" { capabilities = ["read", "list"]\n min_wrapping_ttl = "1m" }')
    assert not allowed(a, READ, "kv/a")
    assert not allowed(a, LIST, "kv/a")
    assert allowed(a, READ, "kv/a", wrap_ttl=60)
    assert allowed(a, READ, "kv/a", wrap_ttl=timedelta(minutes=2))


def test_max_wrapping_ttl_also_requires_wrapping():
    a = acl('path "kv/a" { capabilities = ["read"]\n max_wrapping_ttl = "1m" }')
    assert not allowed(a, READ, "kv/a")
    assert allowed(a, READ, "kv/a", wrap_ttl=0)
    assert not allowed(a, READ, "kv/a", wrap_ttl=61)


# -- pagination -------------------------------------------------------------------------


def test_pagination_limit():
    a = acl('path "kv/*" { capabilities = ["list"]\n pagination_limit = 5 }')
    assert a.authorize(LIST, "kv/").limit_override == "5"
    assert a.authorize(LIST, "kv/", {"limit": "3"}).limit_override is None
    assert a.authorize(LIST, "kv/", {"limit": "0"}).limit_override == "5"
    assert a.authorize(LIST, "kv/", {"limit": "max"}).limit_override == "5"
    assert not allowed(a, LIST, "kv/", {"limit": "6"})
    assert not allowed(a, LIST, "kv/", {"limit": "-1"})
    assert not allowed(a, LIST, "kv/", {"limit": "abc"})


def test_pagination_limit_can_be_required():
    a = acl(
        'path "kv/*" { capabilities = ["list"]\n'
        ' pagination_limit = 5\n required_parameters = ["limit"] }'
    )
    assert not allowed(a, LIST, "kv/")
    assert allowed(a, LIST, "kv/", {"limit": "max"})


def test_limit_max_without_pagination_means_unlimited():
    a = acl('path "kv/*" { capabilities = ["list"] }')
    assert a.authorize(LIST, "kv/", {"limit": "max"}).limit_override == "0"


# -- sudo, root, capabilities ------------------------------------------------------------


def test_root_privs_come_from_sudo_even_when_denied():
    verdict = acl('path "sys/audit" { capabilities = ["sudo"] }').authorize(READ, "sys/audit")
    assert not verdict.allowed and verdict.root_privs
    assert verdict.capabilities == frozenset({"sudo"})
    assert verdict.denial_reason


def test_root_policy_grants_everything():
    a = ACL.compile([ROOT_POLICY])
    verdict = a.authorize(DELETE, "sys/anything", {"x": 1}, wrap_ttl=1)
    assert verdict == Authorization(True, True, frozenset({"root"}), "", ("root",))
    assert a.capabilities("x") == ["root"]
    assert a.is_root and a.has_mount_access("secret/")


def test_root_must_be_alone():
    with pytest.raises(ValueError, match="other policies present along with root"):
        ACL.compile([ROOT_POLICY, parse_policy("x", "")])


def test_capabilities_are_sorted_and_deny_when_nothing_matches():
    a = acl('path "kv/*" { capabilities = ["update", "sudo", "read", "create", "patch", "scan"] }')
    assert a.capabilities("kv/x") == ["create", "patch", "read", "scan", "sudo", "update"]
    assert a.capabilities("other") == ["deny"]
    assert ACL.compile([]).capabilities("kv/x") == ["deny"]


def test_capabilities_use_list_fallbacks_without_adding_a_slash():
    a = acl('path "kv/team/*" { capabilities = ["list"] }')
    assert a.capabilities("kv/team") == ["deny"]
    assert a.capabilities("kv/team/") == ["list"]


def test_mount_access_sees_rules_below_the_mount():
    a = acl(
        'path "kv/team/+/x" { capabilities = ["read"] }\n'
        'path "secret/data/*" { capabilities = ["deny"] }\n'
        'path "other/a" { capabilities = ["list"] }'
    )
    assert a.has_mount_access("kv/")
    assert a.has_mount_access("other/")
    assert not a.has_mount_access("secret/")
    assert not a.has_mount_access("sys/")


def test_unknown_operations_are_denied():
    assert not acl('path "*" { capabilities = ["read"] }').authorize("help", "x").allowed


# -- templating, expiration ------------------------------------------------------------


ALICE = IdentityContext(
    entity_id="e-1",
    entity_name="alice",
    metadata={"team": "blue"},
    aliases=(IdentityAlias(mount_accessor="auth_userpass_1", id="al-1", name="al"),),
    groups=(IdentityGroup(id="g-1", name="ops", metadata={"env": "prod"}),),
)


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{{identity.entity.id}}", "e-1"),
        ("{{ identity.entity.name }}", "alice"),
        ("{{identity.entity.metadata.team}}", "blue"),
        ("{{identity.entity.aliases.auth_userpass_1.name}}", "al"),
        ("{{identity.groups.ids.g-1.name}}", "ops"),
        ("{{identity.groups.names.ops.metadata.env}}", "prod"),
    ],
)
def test_identity_templates_render_for_the_entity(template: str, path: str):
    a = acl(f'path "kv/{template}/*" {{ capabilities = ["read"] }}', identity=ALICE)
    assert allowed(a, READ, f"kv/{path}/x")


def test_unrenderable_templates_drop_only_their_path():
    text = (
        'path "kv/{{identity.entity.metadata.nope}}/*" { capabilities = ["read"] }\n'
        'path "b" { capabilities = ["read"] }'
    )
    a = acl(text, identity=ALICE)
    assert allowed(a, READ, "b")
    assert a.capabilities("kv//x") == ["deny"]
    assert acl(text).capabilities("b") == ["read"]  # no entity at all


def test_substituted_values_may_not_contain_wildcards_or_slashes():
    odd = IdentityContext(entity_id="a/b", entity_name="x*")
    text = (
        'path "kv/{{identity.entity.id}}" { capabilities = ["read"] }\n'
        'path "k2/{{identity.entity.name}}" { capabilities = ["read"] }'
    )
    a = acl(text, identity=odd)
    assert a.capabilities("kv/a/b") == ["deny"] and a.capabilities("k2/x*") == ["deny"]
    relaxed = ACL.compile(
        [
            parse_policy(
                "p",
                text,
                allow_slashes_in_identity_templates=True,
                allow_wildcards_in_identity_templates=True,
            )
        ],
        identity=odd,
    )
    assert relaxed.capabilities("kv/a/b") == ["read"]
    assert relaxed.capabilities("k2/xyz") == ["read"]  # the rendered "*" became a glob


def test_default_policy_with_and_without_entity():
    default = parse_policy("default", DEFAULT_POLICY)
    plain = ACL.compile([default])
    assert plain.capabilities("cubbyhole/x") == ["create", "delete", "list", "read", "update"]
    assert plain.capabilities("identity/entity/id/e-1") == ["deny"]
    assert ACL.compile([default], identity=ALICE).capabilities("identity/entity/id/e-1") == ["read"]


def test_expired_rules_are_skipped_and_valid_until_is_reported():
    text = (
        'path "a" { capabilities = ["read"]\n expiration = "2030-01-01T00:00:00Z" }\n'
        'path "b" { capabilities = ["read"]\n expiration = "2031-01-01T00:00:00Z" }'
    )
    policy = parse_policy("p", text, now=datetime(2029, 1, 1, tzinfo=UTC))
    early = ACL.compile([policy], now=datetime(2029, 6, 1, tzinfo=UTC))
    assert early.valid_until == datetime(2030, 1, 1, tzinfo=UTC)
    late = ACL.compile([policy], now=datetime(2030, 6, 1, tzinfo=UTC))
    assert late.capabilities("a") == ["deny"] and late.capabilities("b") == ["read"]
    assert late.valid_until == datetime(2031, 1, 1, tzinfo=UTC)


def test_compiled_acl_is_not_affected_by_request_data():
    a = acl('path "kv/*" { capabilities = ["list"]\n pagination_limit = 2 }')
    data: dict[str, str] = {}
    a.authorize(LIST, "kv/", data)
    assert data == {}  # the override is returned, never written into the caller's data

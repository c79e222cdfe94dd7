"""sys/capabilities*, sys/internal/ui/resultant-acl and the ACL-filtered internal/ui/mounts.

Expected bodies and error texts were recorded from `bao server -dev` (OpenBao 2.7.2).
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.policy import ACL
from tests.api.tokens_support import DENIED, MULTI_DENIED, create, write_policy
from tests.support import VaultHTTP

# Exact, glob, "+", an explicit deny, an empty capability list, and every rule limit.
MIXED = """
path "secret/foo" { capabilities = ["read", "update"] }
path "secret/bar/*" {
  capabilities = ["list", "patch", "scan", "sudo"]
  allowed_parameters = { "a" = ["x"], "*" = [] }
  denied_parameters = { "b" = [] }
  required_parameters = ["c"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = "90s"
}
path "secret/+/baz" { capabilities = ["read"] }
path "secret/deny" { capabilities = ["deny"] }
path "secret/none" { capabilities = [] }
"""
READ_UPDATE = ["read", "update"]
INVALID_TOKEN = {"errors": ["1 error occurred:\n\t* invalid token\n\n"]}
MISSING_PATH = {"errors": ["1 error occurred:\n\t* missing path\n\n"]}
NO_PATHS = {"errors": ["paths must be supplied"]}


def _token(vault: VaultHTTP, body: dict[str, Any] | None = None) -> dict[str, Any]:
    write_policy(vault, "mixed", MIXED)
    return create(vault, {"policies": ["mixed"], **(body or {})})


def _answer(vault: VaultHTTP, path: str, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A capabilities answer; OpenBao repeats its data at the top level of the envelope."""
    reply = vault.post(path, body, **kwargs)
    assert reply.status_code == 200, reply.text
    payload = reply.json()
    data = payload["data"]
    assert {key: payload[key] for key in data} == data
    return data


# -- sys/capabilities -----------------------------------------------------------------------


def test_capabilities_per_path_with_the_single_path_key(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    one = _answer(vault, "sys/capabilities", {"token": token, "paths": ["secret/foo"]})
    assert one == {"secret/foo": READ_UPDATE, "capabilities": READ_UPDATE}
    many = _answer(vault, "sys/capabilities", {"token": token, "paths": [
        "secret/foo", "secret/bar/x", "secret/q/baz", "secret/deny", "secret/none", "nothing",
        "/secret/foo", "secret/bar",
    ]})
    assert many == {
        "secret/foo": READ_UPDATE,
        "secret/bar/x": ["list", "patch", "scan", "sudo"],
        "secret/q/baz": ["read"],
        "secret/deny": ["deny"],
        "secret/none": ["deny"],
        "nothing": ["deny"],
        "/secret/foo": READ_UPDATE,
        "secret/bar": ["deny"],
    }


def test_capabilities_accepts_comma_strings_and_the_deprecated_path(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    split = _answer(vault, "sys/capabilities", {"token": token, "paths": " secret/foo , x "})
    assert split == {"secret/foo": READ_UPDATE, "x": ["deny"]}
    old = _answer(vault, "sys/capabilities", {"token": token, "path": "secret/foo"})
    assert old == {"secret/foo": READ_UPDATE, "capabilities": READ_UPDATE}
    twice = _answer(vault, "sys/capabilities", {"token": token, "paths": ["a", "a"]})
    assert twice == {"a": ["deny"]}  # two paths asked: no "capabilities" key


def test_root_and_batch_tokens(vault: VaultHTTP) -> None:
    assert _answer(vault, "sys/capabilities", {"token": "root", "paths": ["a", "b"]}) == {
        "a": ["root"], "b": ["root"]
    }
    batch = _token(vault, {"type": "batch"})["client_token"]
    assert _answer(vault, "sys/capabilities", {"token": batch, "paths": ["secret/foo"]}) == {
        "secret/foo": READ_UPDATE, "capabilities": READ_UPDATE
    }


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        # OpenBao answers 500 with these words; a missing token is the client's error: 400.
        ({"paths": ["a"]}, 400, {"errors": ["1 error occurred:\n\t* no token found\n\n"]}),
        ({"token": 123, "paths": ["a"]}, 400,
         {"errors": ["1 error occurred:\n\t* no token found\n\n"]}),
        ({"token": "bogus"}, 400, NO_PATHS),
        ({"token": "bogus", "paths": ["a"]}, 400, INVALID_TOKEN),
        ({"token": "bogus", "paths": ["a", ""]}, 400, INVALID_TOKEN),
        ({"token": "root", "paths": ["", "a"]}, 400, MISSING_PATH),
        ({"token": "root", "paths": "a,,b"}, 400, MISSING_PATH),
    ],
)
def test_capabilities_errors(
    vault: VaultHTTP, body: dict[str, Any], status: int, expected: dict[str, Any]
) -> None:
    reply = vault.post("sys/capabilities", body)
    assert (reply.status_code, reply.json()) == (status, expected)


def test_capabilities_of_a_limited_token_spend_none_of_its_uses(vault: VaultHTTP) -> None:
    token = create(vault, {"policies": ["default"], "num_uses": 2})["client_token"]
    assert _answer(vault, "sys/capabilities", {"token": token, "paths": ["a"]})["a"] == ["deny"]
    assert vault.post("auth/token/lookup", {"token": token}).json()["data"]["num_uses"] == 2


def test_asking_about_another_token_needs_update_on_sys_capabilities(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    reply = vault.post("sys/capabilities", {"token": "root", "paths": ["a"]}, token=token)
    assert (reply.status_code, reply.json()) == (403, MULTI_DENIED)


def test_a_policy_change_shows_in_the_next_answer(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    write_policy(vault, "mixed", 'path "secret/foo" { capabilities = ["delete"] }')
    answer = _answer(vault, "sys/capabilities", {"token": token, "paths": ["secret/foo"]})
    assert answer["capabilities"] == ["delete"]


def test_answers_come_from_the_pipelines_acl_cache(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = _token(vault)
    compiled: list[object] = []
    original = ACL.compile.__func__

    def counting(cls: type[ACL], *args: Any, **kwargs: Any) -> ACL:
        compiled.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(ACL, "compile", classmethod(counting))
    for _ in range(2):
        # The pipeline authorizes the token, then the handler asks for the same ACL...
        _answer(vault, "sys/capabilities-self", {"paths": ["secret/foo"]},
                token=auth["client_token"])
        # ...and the root caller's handler finds it cached too.
        _answer(vault, "sys/capabilities-accessor",
                {"accessor": auth["accessor"], "paths": ["secret/foo"]})
    assert len(compiled) == 1


# -- sys/capabilities-self ------------------------------------------------------------------


def test_capabilities_self_answers_for_the_callers_token(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    own = _answer(vault, "sys/capabilities-self", {"paths": ["secret/foo", "x"]}, token=token)
    assert own == {"secret/foo": READ_UPDATE, "x": ["deny"]}
    ignored = {"paths": ["secret/foo"], "token": "root"}
    assert _answer(vault, "sys/capabilities-self", ignored, token=token)["capabilities"] == (
        READ_UPDATE
    )
    assert _answer(vault, "sys/capabilities-self", {"paths": ["a"]})["a"] == ["root"]


def test_capabilities_self_refusals(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    missing = vault.post("sys/capabilities-self", {}, token=token)
    assert (missing.status_code, missing.json()) == (400, NO_PATHS)
    for bad in ("", "bogus"):
        reply = vault.post("sys/capabilities-self", {"paths": ["a"]}, token=bad)
        assert (reply.status_code, reply.json()) == (403, DENIED)
    # The default policy is what grants sys/capabilities-self.
    bare = _token(vault, {"no_default_policy": True})["client_token"]
    reply = vault.post("sys/capabilities-self", {"paths": ["a"]}, token=bare)
    assert (reply.status_code, reply.json()) == (403, MULTI_DENIED)


def test_capabilities_self_on_a_tokens_last_use(vault: VaultHTTP) -> None:
    """The use is spent before the handler looks the token up again, as in OpenBao."""
    token = create(vault, {"policies": ["default"], "num_uses": 1})["client_token"]
    reply = vault.post("sys/capabilities-self", {"paths": ["a"]}, token=token)
    assert (reply.status_code, reply.json()) == (400, INVALID_TOKEN)


# -- sys/capabilities-accessor --------------------------------------------------------------


def test_capabilities_accessor(vault: VaultHTTP) -> None:
    auth = _token(vault)
    body = {"accessor": auth["accessor"], "paths": "secret/foo,x"}
    assert _answer(vault, "sys/capabilities-accessor", body) == {
        "secret/foo": READ_UPDATE, "x": ["deny"]
    }
    single = {"accessor": auth["accessor"], "paths": ["secret/foo"]}
    assert _answer(vault, "sys/capabilities-accessor", single)["capabilities"] == READ_UPDATE


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"paths": ["a"]}, {"errors": ["missing accessor"]}),
        ({"accessor": "nope", "paths": ["a"]},
         {"errors": ["1 error occurred:\n\t* invalid accessor\n\n"]}),
        ({"accessor": "nope"}, {"errors": ["1 error occurred:\n\t* invalid accessor\n\n"]}),
    ],
)
def test_capabilities_accessor_errors(
    vault: VaultHTTP, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    reply = vault.post("sys/capabilities-accessor", body)
    assert (reply.status_code, reply.json()) == (400, expected)


def test_capabilities_accessor_needs_paths(vault: VaultHTTP) -> None:
    auth = _token(vault)
    reply = vault.post("sys/capabilities-accessor", {"accessor": auth["accessor"]})
    assert (reply.status_code, reply.json()) == (400, NO_PATHS)


# -- sys/internal/ui/resultant-acl ----------------------------------------------------------

DEFAULT_EXACT = {
    "auth/token/lookup-self": {"capabilities": ["read"]},
    "auth/token/renew-self": {"capabilities": ["update"]},
    "auth/token/revoke-self": {"capabilities": ["update"]},
    "sys/capabilities-self": {"capabilities": ["update"]},
    "sys/internal/ui/resultant-acl": {"capabilities": ["read"]},
    "sys/leases/lookup": {"capabilities": ["update"]},
    "sys/leases/renew": {"capabilities": ["update"]},
    "sys/tools/hash": {"capabilities": ["update"]},
    "sys/wrapping/lookup": {"capabilities": ["update"]},
    "sys/wrapping/unwrap": {"capabilities": ["update"]},
    "sys/wrapping/wrap": {"capabilities": ["update"]},
}
DEFAULT_GLOB = {
    "cubbyhole/": {"capabilities": ["create", "delete", "list", "read", "update"]},
    "sys/tools/hash/": {"capabilities": ["update"]},
}


def test_resultant_acl_renders_the_merged_rules(vault: VaultHTTP) -> None:
    token = _token(vault)["client_token"]
    reply = vault.get("sys/internal/ui/resultant-acl", token=token)
    assert reply.status_code == 200
    assert reply.json()["data"] == {
        "exact_paths": {
            **DEFAULT_EXACT,
            "secret/foo": {"capabilities": ["read", "update"]},
            "secret/deny": {"capabilities": ["deny"]},
            "secret/none": {"capabilities": ["deny"]},
        },
        "glob_paths": {
            **DEFAULT_GLOB,
            "secret/bar/": {
                # OpenBao's own order, not alphabetical; "+" rules are not shown.
                "capabilities": ["list", "sudo", "patch", "scan"],
                "allowed_parameters": {"*": [], "a": ["x"]},
                "denied_parameters": {"b": []},
                "required_parameters": ["c"],
                "min_wrapping_ttl": 1,
                "max_wrapping_ttl": 90,
            },
        },
        "root": False,
    }


def test_resultant_acl_of_root_and_refusals(vault: VaultHTTP) -> None:
    assert vault.get("sys/internal/ui/resultant-acl").json()["data"] == {"root": True}
    for bad in ("", "bogus"):
        reply = vault.get("sys/internal/ui/resultant-acl", token=bad)
        assert (reply.status_code, reply.json()) == (403, DENIED)
    bare = _token(vault, {"no_default_policy": True})["client_token"]
    reply = vault.get("sys/internal/ui/resultant-acl", token=bare)
    assert (reply.status_code, reply.json()) == (403, MULTI_DENIED)


# -- sys/internal/ui/mounts -----------------------------------------------------------------


def _mounts(vault: VaultHTTP) -> dict[str, str]:
    """A readable kv mount, a hidden one, a public one; tokens that reach some or none."""
    for path, body in (
        ("reachable", {"type": "kv", "options": {"version": "2"}}),
        ("hidden", {"type": "kv"}),
        ("public", {"type": "kv", "config": {"listing_visibility": "unauth"}}),
    ):
        assert vault.post(f"sys/mounts/{path}", body).status_code == 204
    write_policy(vault, "reach", 'path "reachable/data/*" { capabilities = ["read"] }\n'
                                 'path "hidden/x" { capabilities = ["deny"] }')
    write_policy(vault, "nothing", 'path "zzz" { capabilities = ["deny"] }')
    return {
        "reach": create(vault, {"policies": ["reach"]})["client_token"],
        "nothing": create(vault, {"policies": ["nothing"], "no_default_policy": True})[
            "client_token"],
    }


def _listing(vault: VaultHTTP, token: str) -> dict[str, list[str]]:
    data = vault.get("sys/internal/ui/mounts", token=token).json()["data"]
    return {table: sorted(data[table]) for table in ("secret", "auth")}


def test_ui_mounts_lists_what_the_token_can_reach(vault: VaultHTTP) -> None:
    tokens = _mounts(vault)
    # The default policy reaches cubbyhole/, identity/, sys/ and auth/token/ (as OpenBao).
    assert _listing(vault, tokens["reach"]) == {
        "secret": ["cubbyhole/", "identity/", "public/", "reachable/", "sys/"], "auth": ["token/"],
    }
    assert _listing(vault, tokens["nothing"]) == {"secret": ["public/"], "auth": []}
    everything = ["cubbyhole/", "hidden/", "identity/", "public/", "reachable/", "secret/", "sys/"]
    assert _listing(vault, "root") == {"secret": everything, "auth": ["token/"]}
    public = vault.get("sys/internal/ui/mounts", token=tokens["nothing"]).json()["data"]
    assert public["secret"]["public/"]["config"]["listing_visibility"] == "unauth"
    anonymous = vault.get("sys/internal/ui/mounts", token="").json()["data"]
    assert anonymous == {
        "secret": {"public/": {"description": "", "options": None, "type": "kv"}}, "auth": {},
    }
    bad = vault.get("sys/internal/ui/mounts", token="bogus")
    assert (bad.status_code, bad.json()) == (403, DENIED)


def test_ui_mount_read_for_a_reachable_mount(vault: VaultHTTP) -> None:
    tokens = _mounts(vault)
    for path in ("reachable", "reachable/data/x", "/reachable"):
        reply = vault.get(f"sys/internal/ui/mounts/{path}", token=tokens["reach"])
        data = reply.json()["data"]
        assert data["path"] == "reachable/" and data["options"] == {"version": "2"}
        # The mount's own config, as OpenBao's mountInfo (0: the system default).
        assert data["config"]["default_lease_ttl"] == 0
    token_mount = vault.get("sys/internal/ui/mounts/auth/token", token=tokens["reach"])
    assert token_mount.json()["data"]["path"] == "token/"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("hidden", "hidden/"),
        ("hidden/foo", "hidden/foo/"),
        ("nomount/foo/", "nomount/foo/"),  # no mount at all: the same answer
        ("public", "public/"),  # listing_visibility does not open the single read
        ("auth/token", "auth/token/"),
        ("sys", "sys/"),
    ],
)
def test_ui_mount_read_refuses_an_unreachable_path(vault: VaultHTTP, path: str, shown: str) -> None:
    tokens = _mounts(vault)
    reply = vault.get(f"sys/internal/ui/mounts/{path}", token=tokens["nothing"])
    message = (
        "preflight capability check returned 403, please ensure client's policies grant "
        f'access to path "{shown}"'
    )
    assert (reply.status_code, reply.json()) == (403, {"errors": [message]})


def test_ui_mount_read_needs_a_valid_token(vault: VaultHTTP) -> None:
    _mounts(vault)
    for bad in ("", "bogus"):
        reply = vault.get("sys/internal/ui/mounts/reachable", token=bad)
        assert (reply.status_code, reply.json()) == (403, DENIED)

"""sys/policies/password over HTTP, with OpenBao's answers (recorded from `bao server -dev`),
and generate_password as the engines call it."""

from __future__ import annotations

import base64
import json
import re

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.generators.passwords import generate_password
from tests.api.tokens_support import MULTI_DENIED, allow, create
from tests.support import VaultHTTP

POLICY = """
length = 24
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 2
}
rule "charset" {
  charset = "0123456789"
  min-chars = 3
}
rule "charset" {
  charset = "!@#"
  min-chars = 1
}
"""


def one_error(message: str) -> dict[str, list[str]]:
    return {"errors": [f"1 error occurred:\n\t* {message}\n\n"]}


def assert_meets_policy(password: str) -> None:
    assert re.fullmatch(r"[a-z0-9!@#]{24}", password), password
    assert len(re.findall(r"[a-z]", password)) >= 2
    assert len(re.findall(r"[0-9]", password)) >= 3
    assert re.search(r"[!@#]", password)


def test_write_read_generate_list_delete(vault: VaultHTTP) -> None:
    assert vault.list("sys/policies/password").json() == {"errors": []}
    assert vault.put("sys/policies/password/db", {"policy": POLICY}).status_code == 204
    assert vault.get("sys/policies/password/db").json()["data"] == {"policy": POLICY}
    generated = vault.get("sys/policies/password/db/generate").json()
    assert set(generated["data"]) == {"password"} and generated["lease_id"] == ""
    assert_meets_policy(generated["data"]["password"])

    # Names may hold slashes; a listing walks every level, as CollectKeysWithPrefix does.
    assert vault.post("sys/policies/password/team/a", {"policy": POLICY}).status_code == 204
    assert vault.list("sys/policies/password").json()["data"] == {"keys": ["db", "team/a"]}
    assert vault.get("sys/policies/password?list=true").json()["data"]["keys"] == ["db", "team/a"]
    assert_meets_policy(
        vault.get("sys/policies/password/team/a/generate").json()["data"]["password"]
    )

    assert vault.delete("sys/policies/password/db").status_code == 204
    assert vault.delete("sys/policies/password/db").status_code == 204
    missing = one_error("policy does not exist")
    assert vault.get("sys/policies/password/db").json() == missing
    reply = vault.get("sys/policies/password/db/generate")
    assert (reply.status_code, reply.json()) == (404, missing)


def test_base64_and_json_policies(vault: VaultHTTP) -> None:
    encoded = base64.b64encode(POLICY.encode()).decode()
    assert vault.put("sys/policies/password/b64", {"policy": encoded}).status_code == 204
    assert vault.get("sys/policies/password/b64").json()["data"]["policy"] == POLICY
    as_json = json.dumps({"length": 8, "rule": [{"charset": [{"charset": "xy"}]}]})
    assert vault.put("sys/policies/password/json", {"policy": as_json}).status_code == 204
    password = vault.get("sys/policies/password/json/generate").json()["data"]["password"]
    assert re.fullmatch(r"[xy]{8}", password)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("", "missing policy"),
        (
            'length = 20 rule "charset" {',
            "invalid password policy: unable to decode: At 1:30: object expected closing "
            "RBRACE got: EOF",
        ),
        (
            'length = 3\nrule "charset" { charset = "ab" }',
            "passwords must be between 4 and 100 characters",
        ),
        (
            'length = 101\nrule "charset" { charset = "ab" }',
            "passwords must be between 4 and 100 characters",
        ),
        (
            'length = 8\nrule "charset" {\n charset = "ab"\n min-chars = 9\n}',
            "invalid password policy: 1 error occurred:\n\t* specified rules require at least 9 "
            "characters but 8 is specified\n\n",
        ),
        ("length = 8", "invalid password policy: 1 error occurred:\n\t* no charset specified\n\n"),
        (
            'length = 8\nrule "digits" { charset = "12" }',
            "invalid password policy: unable to parse rules: unable to parse rule digits: "
            "unrecognized rule type digits",
        ),
        (
            # OpenBao panics on an empty charset; no password could honour it.
            'length = 8\nrule "charset" { min-chars = 1 }\nrule "charset" { charset = "ab" }',
            "unable to construct test password from provided policy: are the rules impossible?",
        ),
    ],
    ids=["missing", "bad-hcl", "short", "long", "min-chars", "no-charset", "rule-type", "empty"],
)
def test_refused_policies(vault: VaultHTTP, policy: str, message: str) -> None:
    reply = vault.put("sys/policies/password/bad", {"policy": policy})
    assert (reply.status_code, reply.json()) == (400, one_error(message))
    assert vault.get("sys/policies/password/bad").status_code == 404


def test_a_policy_no_random_string_meets_is_refused_at_write(vault: VaultHTTP) -> None:
    # OpenBao stores this one and then times out on every generation.
    hopeless = 'length = 60\nrule "charset" {\n charset = "a"\n min-chars = 60\n}\n'
    hopeless += 'rule "charset" { charset = "bcdefghijklmnopqrstuvwxyz" }'
    reply = vault.put("sys/policies/password/hopeless", {"policy": hopeless})
    assert reply.json() == one_error(
        "unable to construct test password from provided policy: are the rules impossible?"
    )


def test_acl_writes_are_updates_and_nothing_needs_sudo(vault: VaultHTTP) -> None:
    allow(vault, "pw-create", "sys/policies/password/*", "create", "read")
    allow(vault, "pw-update", "sys/policies/password/*", "update")
    allow(vault, "pw-read", "sys/policies/password/*", "read")
    allow(vault, "pw-list", "sys/policies/password", "list")
    creator, updater, reader, lister = (
        create(vault, {"policies": [name]})["client_token"]
        for name in ("pw-create", "pw-update", "pw-read", "pw-list")
    )
    body = {"policy": POLICY}
    # No existence check: every write is an update, whether the policy exists or not.
    assert vault.put("sys/policies/password/p", body, token=creator).json() == MULTI_DENIED
    assert vault.put("sys/policies/password/p", body, token=updater).status_code == 204
    generated = vault.get("sys/policies/password/p/generate", token=reader)
    assert_meets_policy(generated.json()["data"]["password"])
    assert vault.get("sys/policies/password/p", token=reader).status_code == 200
    assert vault.get("sys/policies/password/p/generate", token=updater).json() == MULTI_DENIED
    assert vault.delete("sys/policies/password/p", token=reader).json() == MULTI_DENIED
    assert vault.list("sys/policies/password", token=lister).json()["data"]["keys"] == ["p"]
    assert vault.list("sys/policies/password", token=reader).json() == MULTI_DENIED


def test_generate_password_for_engines(vault: VaultHTTP) -> None:
    assert re.fullmatch(r"[a-zA-Z0-9-]{20}", generate_password())
    assert vault.put("sys/policies/password/engine", {"policy": POLICY}).status_code == 204
    assert_meets_policy(generate_password("engine"))
    with pytest.raises(BadRequest, match=r"^no password policy found$"):
        generate_password("absent")

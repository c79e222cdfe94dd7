"""auth/token create and lookup over HTTP, with OpenBao's fields, defaults and errors."""

from __future__ import annotations

import re
import time

import boto3
import pytest

from tests.api.tokens_support import (
    DENIED,
    MULTI_DENIED,
    allow,
    create,
    create_reply,
    lookup,
    lookup_data,
)
from tests.support import REGION, VaultHTTP

AUTH_KEYS = {
    "client_token", "accessor", "policies", "token_policies", "metadata", "lease_duration",
    "renewable", "entity_id", "token_type", "orphan", "mfa_requirement", "num_uses",
}
LOOKUP_KEYS = {
    "accessor", "creation_time", "creation_ttl", "display_name", "entity_id", "expire_time",
    "explicit_max_ttl", "id", "issue_time", "meta", "num_uses", "orphan", "path", "policies",
    "renewable", "ttl", "type",
}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_create_answers_the_auth_block_as_openbao(vault: VaultHTTP) -> None:
    reply = create_reply(
        vault, {"policies": ["web"], "ttl": "1h", "meta": {"user": "a"}, "display_name": "My App!"}
    )
    body = reply.json()
    assert reply.status_code == 200 and body["data"] is None
    assert body["warnings"] == ['Policy "web" does not exist']
    auth = body["auth"]
    assert set(auth) == AUTH_KEYS
    assert re.fullmatch(r"s\.[A-Za-z0-9]{24}", auth["client_token"])
    assert re.fullmatch(r"[A-Za-z0-9]{24}", auth["accessor"])
    assert auth["policies"] == auth["token_policies"] == ["default", "web"]
    assert auth["metadata"] == {"user": "a"} and auth["lease_duration"] == 3600
    assert auth["renewable"] is True and auth["orphan"] is False
    assert auth["token_type"] == "service" and auth["entity_id"] == "" and auth["num_uses"] == 0
    assert auth["mfa_requirement"] is None


def test_lookup_in_every_form_shows_the_same_data(vault: VaultHTTP) -> None:
    auth = create(vault, {"policies": ["web"], "ttl": "1h", "display_name": "My App!"})
    token = auth["client_token"]
    by_post = lookup_data(vault, token)
    by_get = vault.get("auth/token/lookup", params={"token": token}).json()["data"]
    by_self = vault.get("auth/token/lookup-self", token=token).json()["data"]
    by_accessor = vault.post("auth/token/lookup-accessor", {"accessor": auth["accessor"]})
    assert set(by_post) == LOOKUP_KEYS
    assert by_post["id"] == by_get["id"] == by_self["id"] == token
    assert by_accessor.json()["data"]["id"] == ""
    data = by_post
    assert data["display_name"] == "token-My-App" and data["path"] == "auth/token/create"
    assert data["creation_ttl"] == 3600 and 3598 <= data["ttl"] <= 3600
    assert RFC3339.match(data["expire_time"]) and RFC3339.match(data["issue_time"])
    assert data["policies"] == ["default", "web"] and data["renewable"] is True
    assert data["orphan"] is False and data["meta"] is None and data["type"] == "service"
    assert abs(data["creation_time"] - time.time()) < 5


def test_lookup_of_the_root_token(vault: VaultHTTP) -> None:
    data = vault.get("auth/token/lookup-self").json()["data"]
    assert data["policies"] == ["root"] and data["path"] == "auth/token/root"
    assert data["expire_time"] is None and data["ttl"] == 0 and data["renewable"] is False
    assert data["orphan"] is True and data["display_name"] == "root"
    assert vault.post("auth/token/lookup", {}).json()["data"]["id"] == vault.token


@pytest.mark.parametrize(
    ("path", "body", "status", "errors"),
    [
        ("auth/token/lookup", {"token": "bogus"}, 403, ["bad token"]),
        ("auth/token/lookup-accessor", {}, 400, ["1 error occurred:\n\t* missing accessor\n\n"]),
        ("auth/token/lookup-accessor", {"accessor": "x"}, 400,
         ["1 error occurred:\n\t* invalid accessor\n\n"]),
    ],
)
def test_lookup_errors(vault: VaultHTTP, path: str, body: dict, status: int, errors: list) -> None:
    reply = vault.post(path, body)
    assert reply.status_code == status and reply.json() == {"errors": errors}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "weird"}, "invalid 'token_type' value"),
        ({"num_uses": -1}, "number of uses cannot be negative"),
        ({"ttl": "-1s"}, "ttl must be positive"),
        ({"ttl": "abc"}, 'time: invalid duration "abc"'),
        ({"explicit_max_ttl": "-5s"}, "explicit_max_ttl must be positive"),
        ({"period": "-5s"}, "period must be positive"),
        ({"id": "s.custom"}, "custom token ID cannot have the 's.' prefix"),
        ({"id": "has.dot"}, "custom token ID cannot have a '.' in the value"),
        ({"policies": ["response-wrapping"]}, 'cannot assign policy "response-wrapping"'),
        ({"entity_alias": "x"}, "'entity_alias' is only allowed in combination with token role"),
    ],
)
def test_create_errors(vault: VaultHTTP, body: dict, message: str) -> None:
    reply = create_reply(vault, body)
    assert reply.status_code == 400 and reply.json() == {"errors": [message]}


def test_custom_id_only_once_and_only_with_sudo(vault: VaultHTTP) -> None:
    auth = create(vault, {"id": "mycustomid"})
    assert auth["client_token"] == "mycustomid" and auth["policies"] == ["root"]
    again = create_reply(vault, {"id": "mycustomid"})
    assert again.json() == {"errors": ["cannot create a token with a duplicate ID"]}
    assert vault.get("auth/token/lookup-self", token="mycustomid").status_code == 200
    allow(vault, "creator", "auth/token/*", "create", "update")
    child = create(vault, {"policies": ["creator"]})["client_token"]
    refused = create_reply(vault, {"id": "other"}, token=child)
    assert refused.json() == {"errors": ["root or sudo privileges required to specify token id"]}


def test_non_root_creators_are_held_to_their_policies(vault: VaultHTTP) -> None:
    allow(vault, "creator", "auth/token/*", "create", "update")
    allow(vault, "web", "secret/*", "read")
    parent = create(vault, {"policies": ["creator", "web"]})["client_token"]
    child = create(vault, {"policies": ["web"]}, token=parent)
    assert child["policies"] == ["default", "web"] and child["orphan"] is False
    inherited = create(vault, {}, token=parent)
    assert inherited["policies"] == ["creator", "default", "web"]
    bare = create(vault, {"policies": ["web"], "no_default_policy": True}, token=parent)
    assert bare["policies"] == ["web"]
    for body, message in [
        ({"policies": ["other"]}, "child policies must be subset of parent"),
        ({"policies": ["root"]}, "child policies must be subset of parent"),
        ({"no_parent": True}, "root or sudo privileges required to create orphan token"),
        ({"period": "1h"}, "root or sudo privileges required to create periodic token"),
    ]:
        reply = create_reply(vault, body, token=parent)
        assert reply.status_code == 400 and reply.json() == {"errors": [message]}, body
    orphan = create(vault, {}, token=parent, path="auth/token/create-orphan")
    assert orphan["orphan"] is True


def test_sudo_on_create_lifts_the_subset_rule(vault: VaultHTTP) -> None:
    allow(vault, "sudoer", "auth/token/create", "create", "update", "sudo")
    parent = create(vault, {"policies": ["sudoer"]})["client_token"]
    child = create(vault, {"policies": ["anything"], "no_parent": True}, token=parent)
    assert child["policies"] == ["anything", "default"] and child["orphan"] is True
    root = create_reply(vault, {"policies": ["root"]}, token=parent)
    assert root.json() == {
        "errors": ["root tokens may not be created without parent token being root"]
    }


def test_only_root_creates_root_and_expiring_roots_only_expiring(vault: VaultHTTP) -> None:
    root_child = create(vault, {"policies": ["root"], "ttl": "1h"})
    assert root_child["policies"] == ["root"] and root_child["lease_duration"] == 3600
    forever = create_reply(vault, {"policies": ["root"]}, token=root_child["client_token"])
    assert forever.json() == {
        "errors": ["expiring root tokens cannot create non-expiring root tokens"]
    }
    never = create(vault, {})
    assert never["lease_duration"] == 0 and never["renewable"] is False


def test_default_ttl_is_the_mount_default(vault: VaultHTTP) -> None:
    auth = create(vault, {"policies": ["web"]})
    assert auth["lease_duration"] == 2764800  # 32 days, Vault's default
    assert vault.post("sys/auth/token/tune", {"default_lease_ttl": "1h"}).status_code == 204
    assert create(vault, {"policies": ["web"]})["lease_duration"] == 3600


def test_use_limit_is_spent_atomically_and_exhaustion_revokes(vault: VaultHTTP) -> None:
    allow(vault, "reader", "sys/mounts", "read")
    auth = create(vault, {"policies": ["reader"], "num_uses": 3})
    token = auth["client_token"]
    assert auth["num_uses"] == 3
    assert vault.get("auth/token/lookup-self", token=token).json()["data"]["num_uses"] == 2
    # A refused request spends a use too, as in Vault.
    assert vault.get("sys/auth", token=token).json() == MULTI_DENIED
    assert vault.get("auth/token/lookup-self", token=token).json()["data"]["num_uses"] == -1
    assert vault.get("auth/token/lookup-self", token=token).json() == DENIED
    assert lookup(vault, token).json() == {"errors": ["bad token"]}
    gone = vault.post("auth/token/lookup-accessor", {"accessor": auth["accessor"]})
    assert gone.status_code == 400  # its accessor was revoked with it


def test_limited_tokens_cannot_create_children(vault: VaultHTTP) -> None:
    allow(vault, "creator", "auth/token/*", "create", "update")
    token = create(vault, {"policies": ["creator"], "num_uses": 2})["client_token"]
    first = create_reply(vault, {}, token=token)
    assert first.json() == {"errors": ["restricted use token cannot generate child tokens"]}
    last = create_reply(vault, {}, token=token)
    assert last.json() == {"errors": ["parent token lookup failed: no parent found"]}


def test_expired_token_is_refused(vault: VaultHTTP) -> None:
    token = create(vault, {"ttl": "2s", "policies": ["web"]})["client_token"]
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200
    time.sleep(2.5)
    assert vault.get("auth/token/lookup-self", token=token).json() == DENIED
    assert lookup(vault, token).json() == {"errors": ["bad token"]}


def test_every_bad_token_gets_the_same_403(vault: VaultHTTP) -> None:
    revoked = create(vault, {"policies": ["web"]})["client_token"]
    assert vault.post("auth/token/revoke", {"token": revoked}).status_code == 204
    expired = create(vault, {"policies": ["web"], "ttl": "1s"})["client_token"]
    spent = create(vault, {"policies": ["web"], "num_uses": 1})["client_token"]
    vault.get("auth/token/lookup-self", token=spent)
    time.sleep(1.2)
    for token in ["", "s.aaaaaaaaaaaaaaaaaaaaaaaa", "b.garbage", "b." + "A" * 80, revoked,
                  expired, spent, vault.token + "x"]:
        reply = vault.get("auth/token/lookup-self", token=token)
        assert reply.status_code == 403 and reply.json() == DENIED, token


def test_display_names_and_metadata(vault: VaultHTTP) -> None:
    auth = create(vault, {"display_name": "web-1.prod", "meta": {"team": "a", "env": "p"}})
    data = lookup_data(vault, auth["client_token"])
    assert data["display_name"] == "token-web-1-prod"
    assert data["meta"] == {"team": "a", "env": "p"}
    assert lookup_data(vault, create(vault, {})["client_token"])["display_name"] == "token"


def test_raw_table_scan_holds_no_token_id_or_accessor(vault: VaultHTTP) -> None:
    tokens = [create(vault, {"policies": ["web"]}) for _ in range(3)]
    tokens.append(create(vault, {"id": "readable-custom-id"}))
    dump = repr(boto3.resource("dynamodb", region_name=REGION).Table("lambdavault-test").scan(
        ConsistentRead=True
    )["Items"])
    for auth in tokens:
        assert auth["client_token"] not in dump and auth["accessor"] not in dump

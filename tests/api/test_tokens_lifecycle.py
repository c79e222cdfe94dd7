"""Renewal, revocation (trees and orphans), accessors and tidy over HTTP."""

from __future__ import annotations

import time

import pytest

from tests.api.tokens_support import DENIED, MULTI_DENIED, allow, create, lookup, lookup_data
from tests.support import VaultHTTP


def _alive(vault: VaultHTTP, token: str) -> bool:
    return vault.get("auth/token/lookup-self", token=token).status_code == 200


def test_renew_self_extends_from_now_and_records_the_renewal(vault: VaultHTTP) -> None:
    token = create(vault, {"policies": ["web"], "ttl": "1h"})["client_token"]
    reply = vault.post("auth/token/renew-self", {"increment": "2h"}, token=token)
    assert reply.status_code == 200 and reply.json()["warnings"] is None
    auth = reply.json()["auth"]
    assert auth["client_token"] == token and auth["lease_duration"] == 7200
    data = lookup_data(vault, token)
    assert data["creation_ttl"] == 3600 and 7198 <= data["ttl"] <= 7200
    assert data["last_renewal_time"] >= data["creation_time"] and data["last_renewal"]
    again = vault.post("auth/token/renew", {"token": token}).json()["auth"]
    assert again["lease_duration"] == 7200  # without an increment: the last TTL granted


def test_renew_is_capped_by_explicit_max_ttl_with_vaults_warning(vault: VaultHTTP) -> None:
    token = create(vault, {"ttl": "1h", "explicit_max_ttl": "2h"})["client_token"]
    reply = vault.post("auth/token/renew", {"token": token, "increment": "3h"}).json()
    assert reply["auth"]["lease_duration"] in (7199, 7200)
    [warning] = reply["warnings"]
    assert warning.startswith('TTL of "3h" exceeded the effective max_ttl of "')
    assert warning.endswith('"; TTL value is capped accordingly')
    assert lookup_data(vault, token)["explicit_max_ttl"] == 7200
    created = vault.post("auth/token/create", {"ttl": "3h", "explicit_max_ttl": "2h"}).json()
    assert created["auth"]["lease_duration"] == 7200
    assert created["warnings"] == [
        'TTL of "3h" exceeded the effective max_ttl of "2h"; TTL value is capped accordingly'
    ]


def test_mount_max_ttl_caps_creation_and_renewal(vault: VaultHTTP) -> None:
    assert vault.post("sys/auth/token/tune", {"max_lease_ttl": "1h"}).status_code == 204
    created = vault.post("auth/token/create", {"ttl": "2h"}).json()
    assert created["auth"]["lease_duration"] == 3600
    assert created["warnings"] == [
        'TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly'
    ]
    renewed = vault.post(
        "auth/token/renew", {"token": created["auth"]["client_token"], "increment": "5h"}
    ).json()
    assert renewed["auth"]["lease_duration"] <= 3600
    assert "exceeded the effective max_ttl" in renewed["warnings"][0]
    capped = vault.post("auth/token/create", {"period": "2h"}).json()
    assert capped["auth"]["lease_duration"] == 3600
    assert capped["warnings"] == [
        'period of "2h" exceeded the effective max_ttl of "1h"; period value is capped accordingly'
    ]


def test_periodic_tokens_renew_to_their_period(vault: VaultHTTP) -> None:
    auth = create(vault, {"period": "30m", "ttl": "5m", "policies": ["web"]})
    assert auth["lease_duration"] == 1800
    data = lookup_data(vault, auth["client_token"])
    assert data["period"] == 1800 and data["creation_ttl"] == 1800
    renewed = vault.post("auth/token/renew", {"token": auth["client_token"], "increment": "3h"})
    assert renewed.json()["auth"]["lease_duration"] == 1800


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "missing token ID"),
        ({"token": "nope"}, "token not found"),
    ],
)
def test_renew_errors(vault: VaultHTTP, body: dict, message: str) -> None:
    reply = vault.post("auth/token/renew", body)
    assert reply.status_code == 400 and reply.json() == {"errors": [message]}


def test_roots_and_non_renewable_tokens_cannot_renew(vault: VaultHTTP) -> None:
    assert vault.post("auth/token/renew-self").json() == {"errors": ["lease is not renewable"]}
    fixed = create(vault, {"renewable": False, "ttl": "1h"})
    assert fixed["renewable"] is False
    reply = vault.post("auth/token/renew", {"token": fixed["client_token"]})
    assert reply.json() == {"errors": ["lease is not renewable"]}


def test_renew_accessor_hides_the_token(vault: VaultHTTP) -> None:
    auth = create(vault, {"ttl": "1h"})
    reply = vault.post("auth/token/renew-accessor", {"accessor": auth["accessor"], "increment": 60})
    renewed = reply.json()["auth"]
    assert renewed["client_token"] == "" and renewed["accessor"] == auth["accessor"]
    assert renewed["lease_duration"] == 60
    unknown = vault.post("auth/token/renew-accessor", {"accessor": "nope"})
    assert unknown.json() == {"errors": ["1 error occurred:\n\t* invalid accessor\n\n"]}


def _family(vault: VaultHTTP) -> dict[str, dict]:
    """parent -> child -> grandchild, plus an orphan made by the parent and a batch child."""
    allow(vault, "creator", "auth/token/*", "create", "update", "read")
    parent = create(vault, {"policies": ["creator"]})
    child = create(vault, {}, token=parent["client_token"])
    grandchild = create(vault, {}, token=child["client_token"])
    orphan = create(vault, {}, token=parent["client_token"], path="auth/token/create-orphan")
    batch = create(vault, {"type": "batch"}, token=parent["client_token"])
    return {"parent": parent, "child": child, "grandchild": grandchild, "orphan": orphan,
            "batch": batch}


def test_revoking_a_parent_revokes_every_descendant_but_not_orphans(vault: VaultHTTP) -> None:
    family = _family(vault)
    assert all(_alive(vault, auth["client_token"]) for auth in family.values())
    reply = vault.post("auth/token/revoke", {"token": family["parent"]["client_token"]})
    assert reply.status_code == 204
    for name in ("parent", "child", "grandchild", "batch"):
        assert not _alive(vault, family[name]["client_token"]), name
    assert _alive(vault, family["orphan"]["client_token"])
    accessors = vault.list("auth/token/accessors").json()["data"]["keys"]
    assert family["child"]["accessor"] not in accessors
    assert family["orphan"]["accessor"] in accessors


def test_revoke_orphan_keeps_the_children_as_orphans(vault: VaultHTTP) -> None:
    family = _family(vault)
    parent = family["parent"]["client_token"]
    reply = vault.post("auth/token/revoke-orphan", {"token": parent})
    assert reply.status_code == 204
    assert not _alive(vault, parent)
    assert lookup_data(vault, family["child"]["client_token"])["orphan"] is True
    assert _alive(vault, family["grandchild"]["client_token"])
    assert not _alive(vault, family["batch"]["client_token"])  # a batch child needs its parent
    vault.post("auth/token/revoke", {"token": family["child"]["client_token"]})
    assert not _alive(vault, family["grandchild"]["client_token"])


def test_revoke_self_and_revoke_accessor(vault: VaultHTTP) -> None:
    family = _family(vault)
    child = family["child"]["client_token"]
    assert vault.post("auth/token/revoke-self", token=child).status_code == 204
    assert not _alive(vault, child) and not _alive(vault, family["grandchild"]["client_token"])
    accessor = family["orphan"]["accessor"]
    assert vault.post("auth/token/revoke-accessor", {"accessor": accessor}).status_code == 204
    assert not _alive(vault, family["orphan"]["client_token"])
    again = vault.post("auth/token/revoke-accessor", {"accessor": accessor})
    assert again.status_code == 200 and again.json()["warnings"] == [
        "No token found with this accessor"
    ]


def test_revoke_errors_and_permissions(vault: VaultHTTP) -> None:
    assert vault.post("auth/token/revoke", {}).json() == {"errors": ["missing token ID"]}
    assert vault.post("auth/token/revoke", {"token": "nope"}).status_code == 204
    assert vault.post("auth/token/revoke-orphan", {"token": "nope"}).json() == {
        "errors": ["token to revoke not found"]
    }
    family = _family(vault)
    creator = family["parent"]["client_token"]
    refused = vault.post("auth/token/revoke-orphan", {"token": "x"}, token=creator)
    assert refused.json() == {"errors": ["root or sudo privileges required to revoke and orphan"]}


def test_listing_accessors_needs_sudo(vault: VaultHTTP) -> None:
    family = _family(vault)
    keys = vault.list("auth/token/accessors").json()["data"]["keys"]
    assert keys == sorted(keys)
    assert {family["parent"]["accessor"], family["child"]["accessor"]} <= set(keys)
    assert "" not in keys  # batch tokens have no accessor
    denied = vault.list("auth/token/accessors", token=family["parent"]["client_token"])
    assert denied.status_code == 403 and denied.json() == MULTI_DENIED
    allow(vault, "lister", "auth/token/accessors", "list", "sudo")
    lister = create(vault, {"policies": ["lister"]})["client_token"]
    assert vault.list("auth/token/accessors", token=lister).status_code == 200


def test_tidy_revokes_expired_tokens_and_their_children(vault: VaultHTTP) -> None:
    allow(vault, "creator", "auth/token/*", "create", "update")
    parent = create(vault, {"policies": ["creator"], "ttl": "2s"})
    child = create(vault, {"ttl": "1h"}, token=parent["client_token"])
    time.sleep(2.5)
    assert not _alive(vault, parent["client_token"])
    assert _alive(vault, child["client_token"])  # until the expired parent's tree is revoked
    reply = vault.post("auth/token/tidy")
    assert reply.status_code == 202
    assert reply.json()["warnings"] == [
        "Tidy operation successfully started. Any information from the operation will be "
        "printed to OpenBao's server logs."
    ]
    assert not _alive(vault, child["client_token"])
    keys = vault.list("auth/token/accessors").json()["data"]["keys"]
    assert parent["accessor"] not in keys and child["accessor"] not in keys
    assert lookup(vault, parent["client_token"]).json() == {"errors": ["bad token"]}
    assert vault.get("auth/token/lookup-self", token=child["client_token"]).json() == DENIED


def _scan() -> list[tuple[str, str]]:
    """Every (pk, sk) of the table (the test's moto, shared with the dev server)."""
    import os

    import boto3

    client = boto3.client("dynamodb")
    pages = client.get_paginator("scan").paginate(
        TableName=os.environ["LAMBDAVAULT_TABLE"], ConsistentRead=True
    )
    return [(item["pk"]["S"], item["sk"]["S"]) for page in pages for item in page["Items"]]


def test_token_ids_are_unlisted_storage(vault: VaultHTTP) -> None:
    """Nothing lists token IDs, so their entries get no folder index item and no folder
    marker (every login would write both); accessors stay listed for tidy and LIST."""
    tokens = [create(vault, {"ttl": "1h"})["client_token"] for _ in range(3)]
    items = _scan()
    entries = [pk for pk, sk in items if pk.startswith("/sys/token/id/") and sk == "$"]
    assert len(entries) >= 4  # the root token's and ours
    assert not [item for item in items if item[0] == "/sys/token/id/"]  # no index items
    assert ("/sys/token/", "id/") not in items and ("/sys/token/", "accessor/") in items
    assert len(vault.request("LIST", "auth/token/accessors").json()["data"]["keys"]) >= 4
    for token in tokens:
        assert vault.post("auth/token/revoke", {"token": token}).status_code == 204
        assert lookup(vault, token).status_code != 200
    left = {pk for pk, sk in _scan() if pk.startswith("/sys/token/id/")}
    assert len(left) == len(entries) - 3

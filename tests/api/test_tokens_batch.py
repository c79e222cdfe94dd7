"""Batch tokens, and what an authenticated request costs in DynamoDB calls."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.api.tokens_support import DENIED, allow, create, create_reply, lookup_data
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each works under names of its own)."""
    return module_vault



class Calls:
    """DynamoDB calls by operation, and the number of keys each BatchGetItem asked for."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.batch_keys: list[int] = []

    def reset(self) -> None:
        self.operations.clear()
        self.batch_keys.clear()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    seen = Calls()
    original = DynamoDBPhysical._call  # every DynamoDB call of the runtime goes through it

    def counting(self: DynamoDBPhysical, operation_name: str, operation_kwargs: dict) -> dict:
        seen.operations[operation_name] += 1
        if operation_name == "BatchGetItem":
            tables = operation_kwargs["RequestItems"].values()
            seen.batch_keys.append(sum(len(t["Keys"]) for t in tables))
        return original(self, operation_name, operation_kwargs)

    monkeypatch.setattr(DynamoDBPhysical, "_call", counting)
    yield seen


def _warm_lookup_self(vault: VaultHTTP, calls: Calls, token: str) -> None:
    """One request to warm the container (ACL compiled), then one measured request."""
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200
    calls.reset()
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200


def test_service_token_request_is_one_round_trip(vault: VaultHTTP, calls: Calls) -> None:
    token = create(vault, {"policies": ["web"]})["client_token"]
    _warm_lookup_self(vault, calls, token)
    assert calls.operations == Counter({"BatchGetItem": 1})
    assert calls.batch_keys == [2]  # the cluster state and the token entry


def test_orphan_batch_token_needs_no_storage_read(vault: VaultHTTP, calls: Calls) -> None:
    token = create(vault, {"type": "batch", "policies": ["web"]},
                   path="auth/token/create-orphan")["client_token"]
    _warm_lookup_self(vault, calls, token)
    assert calls.operations == Counter({"BatchGetItem": 1})
    assert calls.batch_keys == [1]  # the cluster state only: no token entry exists


def test_child_batch_token_checks_its_parent_in_the_same_read(
    vault: VaultHTTP, calls: Calls
) -> None:
    token = create(vault, {"type": "batch", "policies": ["web"]})["client_token"]
    _warm_lookup_self(vault, calls, token)
    assert calls.operations == Counter({"BatchGetItem": 1})
    assert calls.batch_keys == [2]  # the cluster state and the parent's entry


def test_batch_token_shape_and_lookup(vault: VaultHTTP) -> None:
    reply = create_reply(vault, {"type": "batch", "policies": ["web"], "ttl": "10m"})
    auth = reply.json()["auth"]
    assert re.fullmatch(r"b\.[A-Za-z0-9_-]+", auth["client_token"])
    assert auth["accessor"] == "" and auth["token_type"] == "batch"
    assert auth["renewable"] is False and auth["lease_duration"] == 600
    assert auth["orphan"] is False and auth["policies"] == ["default", "web"]
    data = vault.get("auth/token/lookup-self", token=auth["client_token"]).json()["data"]
    assert data["id"] == auth["client_token"] and data["type"] == "batch"
    assert data["accessor"] == "" and data["renewable"] is False
    assert data["creation_ttl"] == 600 and 598 <= data["ttl"] <= 600
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["expire_time"])
    assert data["issue_time"].endswith("Z") and "." not in data["issue_time"]
    looked_up = lookup_data(vault, auth["client_token"])  # a moment later: ttl may tick
    assert {**looked_up, "ttl": 0} == {**data, "ttl": 0} and 598 <= looked_up["ttl"] <= 600


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "batch", "num_uses": 3}, 'batch tokens cannot have "num_uses" set'),
        ({"type": "batch", "period": "1h"}, 'batch tokens cannot have "period" set'),
        ({"type": "batch", "explicit_max_ttl": "1h"},
         'batch tokens cannot have "explicit_max_ttl" set'),
        ({"type": "batch", "policies": ["root"]}, "batch tokens cannot be root tokens"),
    ],
)
def test_batch_creation_errors(vault: VaultHTTP, body: dict, message: str) -> None:
    reply = create_reply(vault, body)
    assert reply.status_code == 400 and reply.json() == {"errors": [message]}


def test_batch_tokens_cannot_renew_revoke_or_create(vault: VaultHTTP) -> None:
    allow(vault, "creator", "auth/token/*", "create", "update")
    token = create(vault, {"type": "batch", "policies": ["creator"]})["client_token"]
    for path, body, message in [
        ("auth/token/renew-self", {}, "batch tokens cannot be renewed"),
        ("auth/token/revoke-self", {}, "batch tokens cannot be revoked"),
        ("auth/token/create", {}, "batch tokens cannot create more tokens"),
    ]:
        reply = vault.post(path, body, token=token)
        assert reply.status_code == 400 and reply.json() == {"errors": [message]}, path
    for path, message in [
        ("auth/token/renew", "batch tokens cannot be renewed"),
        ("auth/token/revoke", "batch tokens cannot be revoked"),
        ("auth/token/revoke-orphan", "batch tokens cannot be revoked"),
    ]:
        reply = vault.post(path, {"token": token})
        assert reply.status_code == 400 and reply.json() == {"errors": [message]}, path


def test_orphan_batch_outlives_its_creator_a_child_does_not(vault: VaultHTTP) -> None:
    allow(vault, "creator", "auth/token/*", "create", "update")
    parent = create(vault, {"policies": ["creator"]})["client_token"]
    child = create(vault, {"type": "batch"}, token=parent)["client_token"]
    orphan = create(vault, {"type": "batch"}, token=parent,
                    path="auth/token/create-orphan")["client_token"]
    assert vault.post("auth/token/revoke", {"token": parent}).status_code == 204
    assert vault.get("auth/token/lookup-self", token=child).json() == DENIED
    assert vault.get("auth/token/lookup-self", token=orphan).status_code == 200


def test_batch_token_expires(vault: VaultHTTP) -> None:
    token = create(vault, {"type": "batch", "ttl": "2s", "policies": ["web"]})["client_token"]
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200
    time.sleep(2.5)
    assert vault.get("auth/token/lookup-self", token=token).json() == DENIED


def test_tampered_batch_token_is_refused(vault: VaultHTTP) -> None:
    token = create(vault, {"type": "batch", "policies": ["web"]})["client_token"]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert vault.get("auth/token/lookup-self", token=flipped).json() == DENIED
    assert vault.post("auth/token/lookup", {"token": flipped}).json() == {"errors": ["bad token"]}


def test_batch_tokens_have_no_cubbyhole(vault: VaultHTTP) -> None:
    token = create(vault, {"type": "batch", "policies": ["default"]})["client_token"]
    reply = vault.get("cubbyhole/x", token=token)
    assert reply.status_code == 400
    assert reply.json() == {
        "errors": ["cubbyhole operations are only supported by 'service' type tokens"]
    }

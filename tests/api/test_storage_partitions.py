"""A load over many tokens and many secrets of one folder reads many partition-key values:
each service token and each secret is its own entry item (see chalicelib/storage/dynamodb)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.storage.dynamodb import DynamoDBPhysical
from tests.support import VaultHTTP

N = 6
POLICY = 'path "secret/data/shared/*" { capabilities = ["read"] }'


def test_tokens_and_secrets_of_one_folder_are_read_under_distinct_partition_keys(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert vault.put("sys/policies/acl/reader", {"policy": POLICY}).status_code == 204
    tokens = []
    for i in range(N):
        assert vault.post(f"secret/data/shared/s{i}", {"data": {"n": i}}).status_code == 200
        body = {"policies": ["reader"], "no_parent": True}
        tokens.append(vault.post("auth/token/create", body).json()["auth"]["client_token"])
    for i, token in enumerate(tokens):  # warm: each token's ACL compiled once
        assert vault.get(f"secret/data/shared/s{i}", token=token).status_code == 200

    read: list[list[str]] = []
    original = DynamoDBPhysical._call

    def recording(self: DynamoDBPhysical, operation: str, params: dict[str, Any]) -> Any:
        if operation == "BatchGetItem":
            read[-1] += [k["pk"]["S"] for t in params["RequestItems"].values() for k in t["Keys"]]
        elif operation == "GetItem":
            read[-1].append(params["Key"]["pk"]["S"])
        return original(self, operation, params)

    monkeypatch.setattr(DynamoDBPhysical, "_call", recording)
    for i, token in enumerate(tokens):
        read.append([])
        reply = vault.get(f"secret/data/shared/s{i}", token=token)
        assert reply.status_code == 200 and reply.json()["data"]["data"] == {"n": i}

    token_pks = {pk for pks in read for pk in pks if pk.startswith("/sys/token/id/")}
    secret_pks = {pk for pks in read for pk in pks if "/meta/shared/s" in pk}
    assert len(token_pks) == len(secret_pks) == N  # one folder each, N partition-key values
    # Each request reads its own token's and its own secret's item, nothing shared.
    assert all(len(set(pks) & (token_pks | secret_pks)) == 2 for pks in read)

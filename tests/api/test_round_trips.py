"""What production pays per request: DynamoDB calls of warm requests, counted."""

from __future__ import annotations

from collections import Counter

from tests.support import VaultHTTP


def _count(calls: Counter[str], vault: VaultHTTP, path: str, token: str | None = None) -> dict:
    calls.clear()
    reply = vault.get(path, token=token)
    assert reply.status_code == 200, reply.text
    return dict(calls)


def test_warm_kv_v2_read_is_one_round_trip(vault: VaultHTTP, calls: Counter[str]) -> None:
    assert vault.post("secret/data/app", {"data": {"password": "x"}}).status_code == 200
    vault.get("secret/data/app")  # warm
    # token + cluster state + the secret's item, all in the pipeline's one BatchGetItem
    assert _count(calls, vault, "secret/data/app") == {"BatchGetItem": 1}


def test_authenticated_reads_by_token_type(vault: VaultHTTP, calls: Counter[str]) -> None:
    def token(kind: str) -> str:
        body = {"type": kind, "policies": ["default"], "no_parent": True}
        return vault.post("auth/token/create", body).json()["auth"]["client_token"]

    service, batch = token("service"), token("batch")
    for credential in (service, batch):
        vault.get("auth/token/lookup-self", token=credential)  # compile the ACL once
    assert _count(calls, vault, "auth/token/lookup-self", service) == {"BatchGetItem": 1}
    # An orphan batch token is self-contained: the one read is the cluster state alone.
    assert _count(calls, vault, "auth/token/lookup-self", batch) == {"BatchGetItem": 1}

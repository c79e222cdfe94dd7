"""Policies enforced on tokens: capabilities, sudo paths, and freshness across containers."""

from __future__ import annotations

import json

from chalicelib.core.runtime import Runtime
from chalicelib.storage.dynamodb import DynamoDBPhysical
from chalicelib.system.path_policy import policy_record
from chalicelib.tokens.acl_cache import policy_storage_key
from chalicelib.tokens.context import token_store
from chalicelib.tokens.revoke import revoke_tree
from chalicelib.tokens.store import AccessorRecord
from tests.api.tokens_support import DENIED, MULTI_DENIED, allow, create, write_policy
from tests.support import VaultHTTP


def _other_container() -> Runtime:
    other = Runtime(DynamoDBPhysical())
    other.begin([])
    return other


def test_init_installs_the_default_policy(vault: VaultHTTP) -> None:
    assert "lookup-self" in vault.get("sys/policy/default").json()["data"]["rules"]
    token = create(vault, {"policies": ["nothing-else"], "ttl": "1h"})["client_token"]
    assert vault.get("auth/token/lookup-self", token=token).status_code == 200
    assert vault.post("auth/token/renew-self", token=token).status_code == 200
    assert vault.get("sys/mounts", token=token).json() == MULTI_DENIED
    assert vault.post("auth/token/revoke-self", token=token).status_code == 204
    assert vault.get("auth/token/lookup-self", token=token).json() == DENIED


def test_capabilities_decide_and_deny_wins(vault: VaultHTTP) -> None:
    write_policy(
        vault,
        "ops",
        'path "sys/mounts" { capabilities = ["read"] }\n'
        'path "sys/auth" { capabilities = ["read"] }',
    )
    allow(vault, "no-auth", "sys/auth", "deny")
    ops = create(vault, {"policies": ["ops"], "no_default_policy": True})["client_token"]
    both = create(vault, {"policies": ["ops", "no-auth"]})["client_token"]
    assert vault.get("sys/mounts", token=ops).status_code == 200
    assert vault.get("sys/auth", token=ops).status_code == 200
    assert vault.get("sys/auth", token=both).json() == MULTI_DENIED
    assert vault.get("auth/token/lookup-self", token=ops).json() == MULTI_DENIED  # no default


def test_sudo_paths_need_sudo(vault: VaultHTTP) -> None:
    # Tuning an auth method needs sudo in OpenBao (sys/auth/* is a root path).
    allow(vault, "tuner", "sys/auth/*", "read", "update")
    allow(vault, "root-tuner", "sys/auth/*", "read", "update", "sudo")
    plain = create(vault, {"policies": ["tuner"]})["client_token"]
    sudo = create(vault, {"policies": ["root-tuner"]})["client_token"]
    body = {"description": "tuned"}
    assert vault.post("sys/auth/token/tune", body, token=plain).json() == MULTI_DENIED
    assert vault.post("sys/auth/token/tune", body, token=sudo).status_code == 204


def test_policy_change_applies_to_the_next_request(vault: VaultHTTP) -> None:
    allow(vault, "grow", "sys/mounts", "read")
    token = create(vault, {"policies": ["grow"]})["client_token"]
    assert vault.get("sys/auth", token=token).json() == MULTI_DENIED
    write_policy(vault, "grow", 'path "sys/auth" { capabilities = ["read"] }')
    assert vault.get("sys/auth", token=token).status_code == 200
    assert vault.get("sys/mounts", token=token).json() == MULTI_DENIED


def test_policy_written_by_another_container_is_seen(vault: VaultHTTP) -> None:
    token = create(vault, {"policies": ["later"]})["client_token"]
    assert vault.get("sys/auth", token=token).json() == MULTI_DENIED  # ACL now cached here
    other = _other_container()
    record = policy_record("later", 'path "sys/auth" { capabilities = ["read"] }', 1, False)
    other.barrier.put(policy_storage_key("later"), json.dumps(record).encode())
    other.physical.update_cluster_state(bump=["policies"])
    assert vault.get("sys/auth", token=token).status_code == 200


def test_revocation_in_another_container_applies_to_the_next_request(vault: VaultHTTP) -> None:
    auth = create(vault, {"policies": ["web"]})
    assert vault.get("auth/token/lookup-self", token=auth["client_token"]).status_code == 200
    other = _other_container()
    tokens = token_store(other)
    record = tokens.accessor_record(auth["accessor"])
    assert isinstance(record, AccessorRecord)
    revoke_tree(tokens, record.salted_id)
    assert vault.get("auth/token/lookup-self", token=auth["client_token"]).json() == DENIED

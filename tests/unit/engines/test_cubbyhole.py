"""cubbyhole: per-token private storage."""

import dataclasses

import pytest

from chalicelib.core.operation import Operation
from chalicelib.engines.cubbyhole.backend import destroy_for_token
from chalicelib.framework.testing import BackendHarness
from chalicelib.tokens.entry import TokenEntry

READ, UPDATE, PATCH, DELETE, LIST = (
    Operation.READ, Operation.UPDATE, Operation.PATCH, Operation.DELETE, Operation.LIST,
)


def token(name: str, **kwargs) -> TokenEntry:
    return TokenEntry(
        accessor=f"accessor-{name}", policies=("default",), cubbyhole_id=f"cubby-{name}", **kwargs
    )


@pytest.fixture
def alice(mount) -> BackendHarness:
    harness = mount("cubbyhole", path="cubbyhole/")
    harness.token = token("alice")
    return harness


@pytest.fixture
def bob(alice) -> BackendHarness:
    """Another token on the same cubbyhole mount and storage."""
    other = dataclasses.replace(alice, token=token("bob"))
    other.storage = alice.storage
    return other


def test_write_read_list_delete(alice):
    assert alice.send(UPDATE, "notes/a", {"k": "v", "ttl": "1h"}).status == 204
    reply = alice.send(READ, "notes/a")
    assert reply.status == 200 and reply.body["data"] == {"k": "v", "ttl": "1h"}
    assert reply.body["lease_duration"] == 0  # no lease hint, unlike kv v1
    alice.send(UPDATE, "top", {"x": 1})
    assert alice.send(LIST, "").body["data"] == {"keys": ["notes/", "top"]}
    assert alice.send(LIST, "notes").body["data"] == {"keys": ["a"]}
    assert alice.send(DELETE, "notes/a").status == 204
    assert alice.send(READ, "notes/a").body == {"errors": []}
    assert alice.send(LIST, "notes/").body == {"errors": []}


def test_each_token_sees_only_its_own(alice, bob):
    alice.send(UPDATE, "shared-name", {"owner": "alice"})
    assert bob.send(READ, "shared-name").status == 404
    assert bob.send(LIST, "").status == 404
    bob.send(UPDATE, "shared-name", {"owner": "bob"})
    assert alice.send(READ, "shared-name").body["data"] == {"owner": "alice"}
    bob.send(DELETE, "shared-name")
    assert alice.send(READ, "shared-name").body["data"] == {"owner": "alice"}
    # No path escapes the token's own prefix.
    assert bob.send(READ, "../cubby-alice/shared-name").status == 404
    assert alice.storage.list("") == ["cubby-alice/"]


def test_errors(alice):
    assert alice.send(UPDATE, "empty", {}).body == {"errors": ["missing data fields"]}
    assert alice.send(READ, "").body == {"errors": ["missing path"]}
    assert alice.send(UPDATE, "dir/", {"a": 1}).status == 400
    assert alice.send(PATCH, "x", {"a": 1}).status == 405
    assert alice.send(DELETE, "never-written").status == 204


def test_a_request_without_a_token_is_refused(alice):
    alice.token = None
    assert alice.send(READ, "x").status == 403


def test_batch_tokens_have_no_cubbyhole(alice):
    alice.token = TokenEntry(accessor="b", policies=("default",), type="batch")
    reply = alice.send(UPDATE, "x", {"a": 1})
    assert reply.body == {
        "errors": ["cubbyhole operations are only supported by 'service' type tokens"]
    }


def test_destroy_for_token_on_revocation(alice, bob):
    alice.send(UPDATE, "a", {"v": 1})
    alice.send(UPDATE, "deep/b", {"v": 1})
    bob.send(UPDATE, "a", {"v": 2})
    assert destroy_for_token(alice.storage, alice.token) == 2
    assert alice.send(LIST, "").status == 404
    assert bob.send(READ, "a").body["data"] == {"v": 2}
    assert destroy_for_token(alice.storage, alice.token) == 0

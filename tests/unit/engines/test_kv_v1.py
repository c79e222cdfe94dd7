"""KV version 1 (unversioned) and the upgrade of a v1 mount to v2."""

import json

import pytest

from chalicelib.core.operation import Operation
from chalicelib.engines.kv.layout import meta_key, v1_key
from chalicelib.engines.kv.upgrade import upgrade_v1_to_v2
from chalicelib.framework.testing import BackendHarness

READ, UPDATE, PATCH, DELETE, LIST = (
    Operation.READ, Operation.UPDATE, Operation.PATCH, Operation.DELETE, Operation.LIST,
)
DEFAULT_TTL = 2764800  # Vault's system default lease TTL (32 days)


def test_write_read_delete(kv1):
    assert kv1.send(UPDATE, "app/db", {"user": "a", "n": {"x": 1}}).status == 204
    reply = kv1.send(READ, "app/db")
    assert reply.status == 200
    assert reply.body["data"] == {"user": "a", "n": {"x": 1}}
    assert reply.body["lease_id"] == "" and reply.body["renewable"] is False
    assert reply.body["lease_duration"] == DEFAULT_TTL
    assert kv1.send(DELETE, "app/db").status == 204
    assert kv1.send(READ, "app/db").body == {"errors": []}
    assert kv1.send(DELETE, "app/db").status == 204


def test_writes_replace_the_whole_secret(kv1):
    kv1.send(UPDATE, "s", {"a": 1, "b": 2})
    kv1.send(UPDATE, "s", {"c": 3})
    assert kv1.send(READ, "s").body["data"] == {"c": 3}


def test_v2_looking_paths_are_plain_secrets_on_a_v1_mount(kv1):
    assert kv1.send(UPDATE, "data/foo", {"max_versions": "abc"}).status == 204
    assert kv1.send(UPDATE, "config", {"cas_required": "nonsense"}).status == 204
    assert kv1.send(READ, "data/foo").body["data"] == {"max_versions": "abc"}
    assert kv1.send(READ, "config").body["data"] == {"cas_required": "nonsense"}


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ({"ttl": "1h"}, 3600),
        ({"ttl": 90}, 90),
        ({"ttl": "1.5h"}, 5400),
        ({"ttl": "0"}, 0),
        ({"ttl": "1000h"}, 3600000),  # a hint: not capped by the max TTL
        ({"ttl": "bogus"}, DEFAULT_TTL),
        ({"ttl": 1.5}, DEFAULT_TTL),
        ({"lease": "30m"}, 1800),
        ({"ttl": "bogus", "lease": "30m"}, DEFAULT_TTL),
        ({"a": 1}, DEFAULT_TTL),
    ],
)
def test_ttl_key_is_the_lease_duration_hint(kv1, secret, expected):
    kv1.send(UPDATE, "t", secret)
    reply = kv1.send(READ, "t")
    assert reply.body["lease_duration"] == expected
    assert reply.body["data"] == secret and reply.body["lease_id"] == ""


def test_mount_default_lease_ttl_is_the_fallback(mount):
    from chalicelib.core.mounts import MountConfig

    kv = mount("kv", path="kvttl/", config=MountConfig(default_lease_ttl=3600))
    kv.send(UPDATE, "s", {"a": 1})
    assert kv.send(READ, "s").body["lease_duration"] == 3600


def test_write_errors(kv1):
    assert kv1.send(UPDATE, "empty", {}).body == {"errors": ["missing data fields"]}
    reply = kv1.send(UPDATE, "dir/", {"a": 1})
    assert reply.body == {"errors": ["cannot write to a path ending in '/'"]}
    assert kv1.send(UPDATE, "a//b", {"a": 1}).status == 400
    assert kv1.send(READ, "a//b").status == 404
    assert kv1.send(READ, "dir/").status == 404
    assert kv1.send(PATCH, "s", {"a": 1}).status == 405


def test_list(kv1):
    for path in ("b", "a", "d/x", "d/e/y"):
        kv1.send(UPDATE, path, {"v": 1})
    assert kv1.send(LIST, "").body["data"] == {"keys": ["a", "b", "d/"]}
    assert kv1.send(LIST, "d").body["data"] == {"keys": ["e/", "x"]}
    assert kv1.send(LIST, "d/").body["data"] == {"keys": ["e/", "x"]}
    assert kv1.send(LIST, "nothing/").body == {"errors": []}
    kv1.send(DELETE, "d/e/y")
    assert kv1.send(LIST, "d/").body["data"] == {"keys": ["x"]}


def test_existence_check(kv1):
    from chalicelib.core.request import Request

    def resolve() -> Operation:
        request = Request(
            operation=UPDATE, path="kv/s", mount=kv1.mount, mount_path="kv/",
            storage=kv1.storage, token=kv1.token,
        )
        backend = kv1.backend.for_mount(kv1.mount)  # as the pipeline routes
        return backend.resolve_write(request, backend.match("s"))

    assert resolve() is Operation.CREATE
    kv1.send(UPDATE, "s", {"a": 1})
    assert resolve() is Operation.UPDATE


def test_the_version_option_picks_the_backend(kv1):
    from chalicelib.core.mounts import MountEntry

    def served(options: dict[str, str] | None) -> object:
        return kv1.backend.for_mount(MountEntry.new("kv/", "kv", options=options))

    versions = kv1.backend.versions
    assert served(None) is versions["1"]
    assert served({"version": ""}) is versions["1"]
    assert served({"version": "2"}) is versions["2"]
    unsupported = BackendHarness(kv1.backend, kv1.mount.tuned(options={"version": "3"}),
                                 kv1.physical)
    for operation in (READ, UPDATE, LIST):
        reply = unsupported.send(operation, "data/x", {"a": 1} if operation is UPDATE else None)
        assert reply.status == 400
        assert reply.body == {"errors": ["unsupported kv version '3'"]}


def test_each_version_routes_and_prefetches_its_own_layout(kv1):
    from chalicelib.core.mounts import MountEntry

    def prefetched(options: dict[str, str] | None, path: str) -> list[str] | None:
        mount = MountEntry.new("kv/", "kv", options=options)
        match = kv1.backend.for_mount(mount).match(path)
        return None if match.path.prefetch is None else list(match.path.prefetch(match.captures))

    assert prefetched(None, "data/x") == ["v1/data/x"]
    assert prefetched({"version": "2"}, "data/x") == ["meta/x"]  # one read, nothing else
    assert prefetched({"version": "2"}, "metadata/x") is None
    assert prefetched(None, "") == []
    assert prefetched({"version": "3"}, "data/x") is None  # refused by handle, after the token


# -- upgrade to v2 -----------------------------------------------------------------------


def as_v2(kv1: BackendHarness) -> BackendHarness:
    """The same mount after `bao kv enable-versioning` (tune options.version=2)."""
    tuned = kv1.mount.tuned(options={"version": "2"})
    harness = BackendHarness(kv1.backend, tuned, kv1.physical)
    harness.storage = kv1.storage  # same barrier keys, same view
    return harness


def test_upgrade_moves_every_secret_to_version_1(kv1):
    secrets = {"a": {"v": 1}, "config": {"x": "y"}, "d/x": {"ttl": "1h"}, "d/e/meta/y": {"z": 1}}
    for path, secret in secrets.items():
        kv1.send(UPDATE, path, secret)
    upgrade_v1_to_v2(kv1.storage)
    kv2 = as_v2(kv1)
    for path, secret in secrets.items():
        read = kv2.send(READ, f"data/{path}")
        assert read.status == 200 and read.body["data"]["data"] == secret
        assert read.body["data"]["metadata"]["version"] == 1
    metadata = kv2.send(READ, "metadata/a").body["data"]
    assert (metadata["current_version"], metadata["oldest_version"]) == (1, 1)
    assert kv2.send(LIST, "metadata/").body["data"] == {"keys": ["a", "config", "d/"]}
    assert kv2.send(READ, "config").body["data"]["max_versions"] == 0  # not the old secret
    assert kv1.storage.list("v1/") == []
    assert kv2.send(UPDATE, "data/a", {"data": {"v": 2}}).body["data"]["version"] == 2


def test_upgrade_is_idempotent_and_resumable(kv1):
    for n in range(60):  # more than one transaction's worth
        kv1.send(UPDATE, f"s{n:02d}", {"n": n})
    upgrade_v1_to_v2(kv1.storage)
    upgrade_v1_to_v2(kv1.storage)
    kv2 = as_v2(kv1)
    assert len(kv2.send(LIST, "metadata/").body["data"]["keys"]) == 60
    # A straggler written to v1 after the first run (a container with an old mount table)
    kv1.send(UPDATE, "late", {"n": 99})
    upgrade_v1_to_v2(kv1.storage)
    assert kv2.send(READ, "data/late").body["data"]["data"] == {"n": 99}


def test_upgrade_keeps_a_newer_v2_write(kv1):
    kv1.send(UPDATE, "s", {"old": True})
    kv2 = as_v2(kv1)
    kv2.send(UPDATE, "data/s", {"data": {"new": True}})
    upgrade_v1_to_v2(kv1.storage)
    assert kv2.send(READ, "data/s").body["data"]["data"] == {"new": True}
    assert kv1.storage.get(v1_key("s")) is None


def test_upgrade_settles_a_batch_that_lost_a_race(kv1, monkeypatch):
    kv1.send(UPDATE, "a", {"v": 1})
    kv1.send(UPDATE, "b", {"v": 1})
    view = kv1.storage
    original = view.transact
    raced = []

    def racing_transact(ops):
        if not raced:  # another writer changes "b" between our read and our commit
            raced.append(True)
            view.put(v1_key("b"), json.dumps({"v": 2}).encode())
        return original(ops)

    monkeypatch.setattr(view, "transact", racing_transact)
    upgrade_v1_to_v2(view)
    assert json.loads(view.get(meta_key("b")).value)["data"] == {"v": 2}
    assert json.loads(view.get(meta_key("a")).value)["data"] == {"v": 1}
    assert view.list("v1/") == []

"""KV version 2 through the framework harness, with OpenBao's statuses, messages and shapes."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib.core.operation import Operation
from chalicelib.engines.kv import store
from chalicelib.engines.kv.layout import meta_key

READ, UPDATE, PATCH, DELETE, LIST = (
    Operation.READ, Operation.UPDATE, Operation.PATCH, Operation.DELETE, Operation.LIST,
)
CAS_MISMATCH = "check-and-set parameter did not match the current version"
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def ok(reply, status: int = 200):
    assert reply.status == status, reply.body
    return reply.body["data"]


def put(kv, path, data, **options):
    body = {"data": data, **({"options": options} if options else {})}
    return kv.send(UPDATE, f"data/{path}", body)


def errors(reply, status: int = 400) -> list[str]:
    assert reply.status == status, reply.body
    return reply.body["errors"]


def archived(kv, path) -> dict[int, object]:
    """The data the secret's slot items hold, by version (wiped slots hold none)."""
    folder = f"version/{path}/"
    slots = [name for name in kv.storage.list(folder) if "." in name]
    contents = [kv.storage.get_json(folder + name) for name in slots]
    return {content[0]: content[1] for content in contents if content is not None}


# -- config ------------------------------------------------------------------------------


def test_config_defaults_and_updates(kv2):
    assert ok(kv2.send(READ, "config")) == {
        "max_versions": 0, "cas_required": False, "metadata_cas_required": False,
        "delete_version_after": "0s",
    }
    assert kv2.send(UPDATE, "config", {}).status == 204
    reply = kv2.send(UPDATE, "config", {"max_versions": "5", "delete_version_after": "1h30m"})
    assert reply.status == 204
    data = ok(kv2.send(READ, "config"))
    assert (data["max_versions"], data["delete_version_after"]) == (5, "1h30m0s")
    kv2.send(UPDATE, "config", {"delete_version_after": "-5s", "cas_required": True})
    data = ok(kv2.send(READ, "config"))
    assert (data["delete_version_after"], data["cas_required"]) == ("-1s", True)
    kv2.send(UPDATE, "config", {"delete_version_after": 0})
    assert ok(kv2.send(READ, "config"))["delete_version_after"] == "0s"


def test_config_rejects_bad_numbers(kv2):
    assert errors(kv2.send(UPDATE, "config", {"max_versions": -1})) == [
        "max_versions cannot be negative"
    ]
    assert kv2.send(UPDATE, "config", {"max_versions": "x"}).status == 400


# -- data: write and read -------------------------------------------------------------------


def test_write_then_read_latest_and_older_versions(kv2):
    first = ok(put(kv2, "app/db", {"user": "a", "n": {"x": 1}}))
    assert set(first) == {"version", "created_time", "deletion_time", "destroyed",
                          "custom_metadata"}
    assert first["version"] == 1 and first["deletion_time"] == "" and not first["destroyed"]
    assert GO_TIME.match(first["created_time"])
    assert ok(put(kv2, "app/db", {"user": "b"}))["version"] == 2

    latest = ok(kv2.send(READ, "data/app/db"))
    assert latest["data"] == {"user": "b"}
    assert latest["metadata"]["version"] == 2 and latest["metadata"]["custom_metadata"] is None
    older = ok(kv2.send(READ, "data/app/db", {"version": "1"}))
    assert older == {"data": {"user": "a", "n": {"x": 1}}, "metadata": first}
    assert ok(kv2.send(READ, "data/app/db", {"version": -1}))["data"] == {"user": "b"}


def test_reads_that_find_nothing(kv2):
    assert kv2.send(READ, "data/missing").body == {"errors": []}
    put(kv2, "s", {"a": 1})
    reply = kv2.send(READ, "data/s", {"version": 7})
    assert (reply.status, reply.body) == (404, {"errors": []})
    assert kv2.send(READ, "data/s", {"version": "abc"}).status == 400
    assert kv2.send(READ, "data/").status == 404


def test_write_errors(kv2):
    assert errors(kv2.send(UPDATE, "data/s", {"options": {"cas": 0}})) == ["no data provided"]
    reply = kv2.send(UPDATE, "data/s", {"data": "hunter2"})
    assert errors(reply) == [
        "error converting input for field \"data\": '' expected type "
        "'map[string]interface {}', got unconvertible type 'string'"
    ]
    assert errors(put(kv2, "dir/", {"a": 1})) == ["cannot write to a path ending in '/'"]


def test_write_warns_about_unknown_parameters(kv2):
    reply = kv2.send(UPDATE, "data/s", {"data": {"a": 1}, "bogus": 1})
    assert reply.body["warnings"] == ["Endpoint ignored these unrecognized parameters: [bogus]"]


def test_existence_check_decides_create_or_update(kv2):
    backend = kv2.backend.for_mount(kv2.mount)  # as the pipeline routes
    match = backend.match("data/s")
    assert backend.resolve_write(_request(kv2, "data/s"), match) is Operation.CREATE
    put(kv2, "s", {"a": 1})
    assert backend.resolve_write(_request(kv2, "data/s"), match) is Operation.UPDATE


def _request(kv, path):
    from chalicelib.core.request import Request

    return Request(
        operation=UPDATE, path=kv.mount.router_path + path, mount=kv.mount,
        mount_path=kv.mount.router_path, storage=kv.storage, token=kv.token,
    )


# -- check-and-set --------------------------------------------------------------------------


def test_cas(kv2):
    assert ok(put(kv2, "s", {"a": 1}, cas=0))["version"] == 1
    assert errors(put(kv2, "s", {"a": 2}, cas=0)) == [CAS_MISMATCH]
    assert errors(put(kv2, "s", {"a": 2}, cas=5)) == [CAS_MISMATCH]
    assert errors(put(kv2, "s", {"a": 2}, cas=-1)) == [CAS_MISMATCH]
    assert errors(put(kv2, "s", {"a": 2}, cas="x")) == ["error parsing check-and-set parameter"]
    assert ok(put(kv2, "s", {"a": 2}, cas="1"))["version"] == 2


def test_cas_required_by_config_or_metadata(kv2):
    required = ["check-and-set parameter required for this call"]
    kv2.send(UPDATE, "metadata/guarded", {"cas_required": True})
    assert errors(put(kv2, "guarded", {"a": 1})) == required
    assert ok(put(kv2, "free", {"a": 1}))["version"] == 1
    kv2.send(UPDATE, "config", {"cas_required": True})
    assert errors(put(kv2, "free", {"a": 1})) == required
    assert errors(kv2.send(UPDATE, "data/free", {"data": {}, "options": {}})) == required
    assert ok(put(kv2, "free", {"a": 2}, cas=1))["version"] == 2


@pytest.fixture
def read_together(monkeypatch):
    """Once armed, hold each writer after its first read and validation (cas) until all 16
    have got that far: they then race at the conditional writes."""

    def arm() -> None:
        barrier = threading.Barrier(16, timeout=30)
        seen = threading.local()
        original = store.write_version

        def wait_then_write(*args):
            if not getattr(seen, "waited", False):
                seen.waited = True
                barrier.wait()
            return original(*args)

        monkeypatch.setattr(store, "write_version", wait_then_write)

    return arm


def test_concurrent_writers_with_the_same_cas_exactly_one_wins(
    kv2, atomic_calls, read_together, calls
):
    put(kv2, "race", {"n": 0})
    read_together()
    calls.clear()

    def attempt(n: int):
        return put(kv2, "race", {"n": n}, cas=1)

    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(attempt, range(16)))
    # All 16 passed validation (the barrier let them through together) and raced: each
    # wrote or adopted the slot copy of version 1, one record commit won.
    assert calls["UpdateItem"] >= 17
    winners = [r for r in replies if r.status == 200]
    assert len(winners) == 1 and winners[0].body["data"]["version"] == 2
    assert all(r.body == {"errors": [CAS_MISMATCH]} for r in replies if r.status != 200)
    assert ok(kv2.send(READ, "metadata/race"))["current_version"] == 2


def test_concurrent_writers_without_cas_get_contiguous_versions(
    kv2, atomic_calls, read_together
):
    kv2.send(UPDATE, "metadata/busy", {"max_versions": 20})
    read_together()

    def attempt(n: int):
        return ok(put(kv2, "busy", {"n": n}))["version"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        versions = sorted(pool.map(attempt, range(16)))
    assert versions == list(range(1, 17))
    written = {ok(kv2.send(READ, "data/busy", {"version": v}))["data"]["n"] for v in versions}
    assert written == set(range(16))  # every writer's data is some version, none lost


# -- patch ----------------------------------------------------------------------------------


def test_patch_merges_into_a_new_version(kv2):
    put(kv2, "p", {"a": 1, "b": {"c": 1, "d": 2}, "e": 3})
    reply = kv2.send(PATCH, "data/p", {"data": {"a": None, "b": {"c": 9}, "f": [1]}})
    assert ok(reply)["version"] == 2
    assert ok(kv2.send(READ, "data/p"))["data"] == {"b": {"c": 9, "d": 2}, "e": 3, "f": [1]}


def test_patch_errors_and_cas(kv2):
    reply = kv2.send(PATCH, "data/missing", {"data": {"a": 1}})
    assert (reply.status, reply.body) == (404, None)
    put(kv2, "p", {"a": 1})
    assert errors(kv2.send(PATCH, "data/p", {"options": {"cas": 1}})) == ["no data provided"]
    reply = kv2.send(PATCH, "data/p", {"data": {"a": 2}, "options": {"cas": 3}})
    assert errors(reply) == [CAS_MISMATCH]
    reply = kv2.send(PATCH, "data/p", {"data": {"a": 2}, "options": {"cas": 1}})
    assert ok(reply)["version"] == 2


def test_patch_of_a_deleted_version_is_404_with_its_metadata(kv2):
    put(kv2, "p", {"a": 1})
    kv2.send(DELETE, "data/p")
    reply = kv2.send(PATCH, "data/p", {"data": {"a": 2}})
    assert reply.status == 404
    assert reply.body["data"]["version"] == 1 and reply.body["data"]["deletion_time"]
    kv2.send(UPDATE, "metadata/only-meta", {"max_versions": 3})
    assert kv2.send(PATCH, "data/only-meta", {"data": {"a": 1}}).status == 404


# -- delete, undelete, destroy ----------------------------------------------------------------


def test_soft_delete_latest_then_undelete(kv2):
    put(kv2, "d", {"a": 1})
    assert kv2.send(DELETE, "data/d").status == 204
    reply = kv2.send(READ, "data/d")
    assert reply.status == 404 and reply.body["data"]["data"] is None
    metadata = reply.body["data"]["metadata"]
    assert GO_TIME.match(metadata["deletion_time"]) and metadata["version"] == 1
    assert kv2.send(DELETE, "data/d").status == 204  # already deleted: no-op
    assert kv2.send(DELETE, "data/never-written").status == 204
    assert kv2.send(UPDATE, "undelete/d", {"versions": [1]}).status == 204
    assert ok(kv2.send(READ, "data/d"))["data"] == {"a": 1}


def test_delete_and_undelete_versions(kv2):
    for n in range(3):
        put(kv2, "d", {"n": n})
    assert kv2.send(UPDATE, "delete/d", {"versions": "1,2"}).status == 204
    assert kv2.send(READ, "data/d", {"version": 1}).status == 404
    assert ok(kv2.send(READ, "data/d"))["data"] == {"n": 2}
    kv2.send(UPDATE, "undelete/d", {"versions": [2, 99, -1]})
    assert ok(kv2.send(READ, "data/d", {"version": 2}))["data"] == {"n": 1}
    assert kv2.send(READ, "data/d", {"version": 1}).status == 404
    assert errors(kv2.send(UPDATE, "delete/d", {})) == ["No version number provided"]
    assert errors(kv2.send(UPDATE, "undelete/d", {"versions": []})) == [
        "No version number provided"
    ]
    assert kv2.send(UPDATE, "delete/d", {"versions": "a"}).status == 400
    assert kv2.send(UPDATE, "delete/nothing", {"versions": [1]}).status == 204


def test_destroy_removes_data_for_good(kv2):
    put(kv2, "x", {"v": 1})
    put(kv2, "x", {"v": 2})
    assert errors(kv2.send(UPDATE, "destroy/x", {})) == ["no version number provided"]
    assert kv2.send(UPDATE, "destroy/x", {"versions": [1, 2]}).status == 204
    for number in (1, 2):
        reply = kv2.send(READ, "data/x", {"version": number})
        assert reply.status == 404 and reply.body["data"]["metadata"]["destroyed"] is True
    assert archived(kv2, "x") == {}
    assert kv2.storage.get_json(meta_key("x")).get("data") is None
    kv2.send(UPDATE, "undelete/x", {"versions": [1]})  # destroyed stays destroyed
    assert kv2.send(READ, "data/x", {"version": 1}).status == 404
    assert ok(put(kv2, "x", {"v": 3}))["version"] == 3
    assert archived(kv2, "x") == {}  # a destroyed current is not archived


def test_more_version_items_than_one_transaction_holds(kv2):
    kv2.send(UPDATE, "config", {"max_versions": 200})
    for n in range(110):
        put(kv2, "big1", {"n": n})
        put(kv2, "big2", {"n": n})
    assert len(kv2.storage.list("version/big1/")) == 109
    assert kv2.send(DELETE, "metadata/big1").status == 204
    assert kv2.storage.list("version/big1/") == [] and kv2.storage.get(meta_key("big1")) is None

    kv2.send(UPDATE, "destroy/big2", {"versions": list(range(1, 106))})
    assert archived(kv2, "big2") == {v: {"n": v - 1} for v in (106, 107, 108, 109)}
    assert ok(kv2.send(READ, "metadata/big2"))["versions"]["105"]["destroyed"] is True
    assert ok(kv2.send(READ, "data/big2", {"version": 107}))["data"] == {"n": 106}
    kv2.send(UPDATE, "config", {"max_versions": 1})
    assert ok(put(kv2, "big2", {"n": 110}))["version"] == 111
    assert archived(kv2, "big2") == {}  # slots the window no longer reaches are wiped
    assert list(ok(kv2.send(READ, "metadata/big2"))["versions"]) == ["111"]


# -- max_versions and delete_version_after ---------------------------------------------------


def test_versions_beyond_max_versions_are_pruned(kv2):
    kv2.send(UPDATE, "metadata/m", {"max_versions": 2})
    for n in range(4):
        put(kv2, "m", {"n": n})
    metadata = ok(kv2.send(READ, "metadata/m"))
    assert sorted(metadata["versions"]) == ["3", "4"] and metadata["oldest_version"] == 3
    reply = kv2.send(READ, "data/m", {"version": 2})
    assert (reply.status, reply.body) == (404, {"errors": []})
    # Two slots take turns: version 2's data waits in the free one until the next write.
    assert archived(kv2, "m") == {3: {"n": 2}, 2: {"n": 1}}
    assert ok(kv2.send(READ, "data/m", {"version": 3}))["data"] == {"n": 2}
    put(kv2, "m", {"n": 4})
    assert archived(kv2, "m") == {3: {"n": 2}, 4: {"n": 3}}


def test_mount_max_versions_and_the_default_of_ten(kv2):
    for n in range(12):
        put(kv2, "ten", {"n": n})
    assert sorted(map(int, ok(kv2.send(READ, "metadata/ten"))["versions"])) == list(
        range(3, 13)
    )
    kv2.send(UPDATE, "config", {"max_versions": 3})
    put(kv2, "ten", {"n": 12})
    assert sorted(map(int, ok(kv2.send(READ, "metadata/ten"))["versions"])) == [11, 12, 13]


def test_delete_version_after_is_honoured_on_read(kv2):
    kv2.send(UPDATE, "metadata/t", {"delete_version_after": "1s"})
    written = ok(put(kv2, "t", {"a": 1}))
    assert GO_TIME.match(written["deletion_time"])
    assert ok(kv2.send(READ, "data/t"))["data"] == {"a": 1}
    time.sleep(1.1)
    reply = kv2.send(READ, "data/t")
    assert reply.status == 404 and reply.body["data"]["data"] is None
    kv2.send(UPDATE, "config", {"delete_version_after": -1})  # switched off mount-wide
    assert ok(put(kv2, "t", {"a": 2}))["deletion_time"] == ""


# -- metadata -----------------------------------------------------------------------------


def test_metadata_read_shape(kv2):
    put(kv2, "s", {"a": 1})
    metadata = ok(kv2.send(READ, "metadata/s"))
    assert set(metadata) == {
        "versions", "current_version", "current_metadata_version", "oldest_version",
        "created_time", "updated_time", "max_versions", "cas_required",
        "metadata_cas_required", "delete_version_after", "custom_metadata",
    }
    assert metadata["current_version"] == 1 and metadata["current_metadata_version"] == 0
    assert metadata["delete_version_after"] == "0s" and metadata["custom_metadata"] is None
    assert set(metadata["versions"]["1"]) == {"created_time", "deletion_time", "destroyed"}
    assert kv2.send(READ, "metadata/nope").body == {"errors": []}


def test_metadata_write_and_custom_metadata(kv2):
    assert kv2.send(UPDATE, "metadata/s", {"custom_metadata": {"owner": "ops", "n": 5}}).status
    written = ok(put(kv2, "s", {"a": 1}))
    assert written["custom_metadata"] == {"owner": "ops", "n": "5"}
    metadata = ok(kv2.send(READ, "metadata/s"))
    assert metadata["current_metadata_version"] == 1
    kv2.send(UPDATE, "metadata/s", {"custom_metadata": {"b": True}})
    assert ok(kv2.send(READ, "metadata/s"))["custom_metadata"] == {"b": "1"}
    reply = kv2.send(UPDATE, "metadata/s", {"custom_metadata": {"empty": ""}})
    assert errors(reply) == [
        "1 error occurred:\n\t* custom_metadata validation failed: length of value for key "
        '"empty" is 0 but must be 0 < len(value) <= 512\n\n'
    ]
    assert errors(kv2.send(UPDATE, "metadata/s", {"delete_version_after": "-1s"})) == [
        "error converting input for field \"delete_version_after\": cannot provide negative "
        "value '-1'"
    ]
    assert kv2.send(UPDATE, "metadata/s", {"max_versions": -2}).status == 400
    assert kv2.send(UPDATE, "metadata/s", {"metadata_cas": 9}).status == 204  # nothing to set


def test_metadata_write_warns_when_the_config_mandates_cas(kv2):
    kv2.send(UPDATE, "config", {"cas_required": True})
    reply = kv2.send(UPDATE, "metadata/s", {"cas_required": False})
    assert reply.status == 200 and reply.body["data"] is None
    assert reply.body["warnings"] == [
        '"cas_required" set to false, but is mandated by backend config. This value will be '
        "ignored."
    ]


def test_metadata_cas(kv2):
    reply = kv2.send(UPDATE, "metadata/m", {"max_versions": 1, "metadata_cas": 4})
    assert errors(reply) == ["metadata_cas must be 0 when creating new metadata"]
    assert kv2.send(UPDATE, "metadata/m", {"max_versions": 1, "metadata_cas": 0}).status == 204
    reply = kv2.send(UPDATE, "metadata/m", {"max_versions": 2, "metadata_cas": 7})
    assert errors(reply) == ["metadata check-and-set parameter does not match the current version"]
    kv2.send(UPDATE, "metadata/m", {"metadata_cas_required": True, "metadata_cas": 1})
    assert errors(kv2.send(UPDATE, "metadata/m", {"max_versions": 3})) == [
        "metadata check-and-set parameter required for this call"
    ]


def test_metadata_patch(kv2):
    reply = kv2.send(PATCH, "metadata/missing", {"max_versions": 3})
    assert (reply.status, reply.body) == (404, None)
    assert kv2.send(PATCH, "metadata/missing", {}).status == 204
    kv2.send(UPDATE, "metadata/s", {"custom_metadata": {"k": "v", "j": "w"}, "max_versions": 4})
    patch = {"custom_metadata": {"k": None, "n": "1"}, "cas_required": True}
    assert kv2.send(PATCH, "metadata/s", patch).status == 204
    metadata = ok(kv2.send(READ, "metadata/s"))
    assert metadata["custom_metadata"] == {"j": "w", "n": "1"}
    assert (metadata["max_versions"], metadata["cas_required"]) == (4, True)
    assert metadata["current_metadata_version"] == 2


def test_metadata_delete_removes_every_version(kv2):
    for n in range(3):
        put(kv2, "gone", {"n": n})
    kv2.send(UPDATE, "delete/gone", {"versions": [1]})
    assert kv2.send(DELETE, "metadata/gone").status == 204
    assert kv2.send(READ, "metadata/gone").status == 404
    assert kv2.storage.list("version/") == []
    assert kv2.storage.list("meta/") == []
    assert kv2.send(DELETE, "metadata/gone").status == 204
    assert ok(put(kv2, "gone", {"n": 9}))["version"] == 1


def test_list_metadata(kv2):
    for path in ("b", "a", "dir/x", "dir/sub/y"):
        put(kv2, path, {"v": 1})
    assert ok(kv2.send(LIST, "metadata/")) == {"keys": ["a", "b", "dir/"]}
    assert ok(kv2.send(LIST, "metadata")) == {"keys": ["a", "b", "dir/"]}
    assert ok(kv2.send(LIST, "metadata/dir")) == {"keys": ["sub/", "x"]}
    assert ok(kv2.send(LIST, "metadata/dir/", {"limit": 1})) == {"keys": ["sub/"]}
    assert ok(kv2.send(LIST, "metadata/", {"after": "a"})) == {"keys": ["b", "dir/"]}
    assert kv2.send(LIST, "metadata/nothing/").body == {"errors": []}
    assert kv2.send(LIST, "data/").status == 405


def test_detailed_metadata_list(kv2):
    put(kv2, "dir/x", {"v": 1})
    put(kv2, "dir/sub/y", {"v": 1})
    data = ok(kv2.send(LIST, "detailed-metadata/dir/"))
    assert data["keys"] == ["sub/", "x"]
    assert data["key_info"]["sub/"] == {}
    assert data["key_info"]["x"]["current_version"] == 1


# -- subkeys --------------------------------------------------------------------------------


def test_subkeys_depth(kv2):
    put(kv2, "s", {"a": 1, "n": {"x": {"deep": 1}, "e": {}}, "l": [1]})
    full = ok(kv2.send(READ, "subkeys/s"))
    assert full["subkeys"] == {"a": None, "n": {"x": {"deep": None}, "e": None}, "l": None}
    assert full["metadata"]["version"] == 1
    assert ok(kv2.send(READ, "subkeys/s", {"depth": 1}))["subkeys"] == {
        "a": None, "n": None, "l": None,
    }
    assert ok(kv2.send(READ, "subkeys/s", {"depth": 2}))["subkeys"]["n"] == {"x": None, "e": None}
    assert ok(kv2.send(READ, "subkeys/s", {"depth": -1}))["subkeys"]["n"] is None
    assert kv2.send(READ, "subkeys/nothing").status == 404
    kv2.send(DELETE, "data/s")
    reply = kv2.send(READ, "subkeys/s")
    assert reply.status == 404 and reply.body["data"]["subkeys"] is None


# -- paths that name no endpoint ------------------------------------------------------------


def test_invalid_paths_answer_404_with_a_hint(kv2):
    reply = kv2.send(READ, "foo")
    assert reply.status == 404 and reply.body["data"] is None
    assert reply.body["warnings"] == [
        "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate "
        "API endpoints to use. If using the OpenBao CLI, use 'bao kv get' for this operation."
    ]
    assert "'bao kv put'" in kv2.send(UPDATE, "foo", {"a": 1}).body["warnings"][0]
    reply = kv2.send(READ, "data")
    assert reply.body["warnings"] == [
        "Non-listing operations on the root of a K/V v2 mount are not supported."
    ]


# -- storage cost ------------------------------------------------------------------------


def test_round_trips_per_operation(kv2, calls):
    for n in range(12):  # steady state: every slot made, versions pruned
        put(kv2, "c", {"v": n})
    calls.clear()
    ok(kv2.send(READ, "data/c"))
    assert dict(calls) == {"GetItem": 1}
    calls.clear()
    ok(kv2.send(READ, "data/c", {"version": 5}))
    assert dict(calls) == {"GetItem": 2}  # the record, then the slot it names
    calls.clear()
    ok(put(kv2, "c", {"v": 12}))
    # GetItem: the existence check (ACL create vs update) and the handler's read, both
    # served by the pipeline's first read in production. UpdateItem: the slot, the record.
    # The config is the container's copy.
    assert dict(calls) == {"GetItem": 2, "UpdateItem": 2}
    calls.clear()
    ok(kv2.send(LIST, "metadata/"))
    assert dict(calls) == {"Query": 1}


def test_data_read_declares_its_prefetch(kv2):
    inner = kv2.backend.for_mount(kv2.mount)
    match = inner.match("data/app/db")
    assert match.path.prefetch(match.captures) == ["meta/app/db"]
    assert match.path.prefetch({"path": ""}) == []


# -- secrets stored by older code -----------------------------------------------------------


def test_secrets_stored_by_older_code_keep_working(kv2):
    """Older code kept each archived version at version/<path>/<n> and a record without
    slots; those versions stay readable, and go when pruned, destroyed or deleted."""
    created = time.time_ns() - 10**9
    old = {
        "current_version": 4, "oldest_version": 2, "created_ns": created,
        "updated_ns": created + 4, "max_versions": 3, "cas_required": False,
        "metadata_cas_required": False, "delete_version_after": 0, "custom_metadata": None,
        "metadata_version": 1,
        "versions": {str(n): [created + n, 0, False] for n in (2, 3, 4)},
        "data": {"n": 4}, "purge": [1],  # a drain that never ran: version 1's item is left
    }
    kv2.storage.put_json(meta_key("old"), old)
    for n in (1, 2, 3):
        kv2.storage.put_json(f"version/old/{n}", {"n": n})
    for n in (2, 3, 4):
        assert ok(kv2.send(READ, "data/old", {"version": n}))["data"] == {"n": n}

    assert ok(put(kv2, "old", {"n": 5}, cas=4))["version"] == 5
    # Version 4 moved into a slot; version 2 fell out of the window: its item went, and
    # so did version 1's, which the record still had queued.
    assert [name for name in kv2.storage.list("version/old/") if name.isdigit()] == ["3"]
    assert archived(kv2, "old") == {4: {"n": 4}}
    for n in (3, 4, 5):
        assert ok(kv2.send(READ, "data/old", {"version": n}))["data"] == {"n": n}

    assert kv2.send(UPDATE, "destroy/old", {"versions": [3]}).status == 204
    assert "3" not in kv2.storage.list("version/old/")
    assert kv2.send(READ, "data/old", {"version": 3}).status == 404
    assert ok(put(kv2, "old", {"n": 6}))["version"] == 6
    assert ok(kv2.send(READ, "data/old", {"version": 4}))["data"] == {"n": 4}
    assert kv2.send(DELETE, "metadata/old").status == 204
    assert kv2.storage.list("version/old/") == [] and kv2.storage.get(meta_key("old")) is None


def test_metadata_delete_of_an_older_secret_removes_its_version_items(kv2):
    created = time.time_ns()
    old = {
        "current_version": 2, "oldest_version": 1, "created_ns": created,
        "updated_ns": created, "max_versions": 0, "cas_required": False,
        "metadata_cas_required": False, "delete_version_after": 0, "custom_metadata": None,
        "metadata_version": 0, "versions": {"1": [created, 0, False], "2": [created, 0, False]},
        "data": {"n": 2}, "purge": [],
    }
    kv2.storage.put_json(meta_key("older"), old)
    kv2.storage.put_json("version/older/1", {"n": 1})
    assert kv2.send(DELETE, "metadata/older").status == 204
    assert kv2.storage.list("version/older/") == []


@pytest.fixture
def after_the_read(monkeypatch):
    """Once armed with an action, run it once between a write's read of the record and
    its slot write (as a concurrent request would)."""
    from chalicelib.engines.kv import archive

    def arm(action) -> None:
        original = archive.archive_current
        pending = [action]

        def act_then_archive(*args):
            while pending:
                pending.pop()()
            return original(*args)

        monkeypatch.setattr(archive, "archive_current", act_then_archive)

    return arm


def test_a_slot_made_for_a_secret_deleted_meanwhile_goes(kv2, after_the_read):
    put(kv2, "short", {"n": 1})
    after_the_read(lambda: kv2.send(DELETE, "metadata/short"))
    # The write's commit finds the secret gone: it removes the slot it made, then starts
    # over and writes the first version of a new secret.
    assert ok(put(kv2, "short", {"n": 2}))["version"] == 1
    assert kv2.storage.list("version/short/") == []
    assert ok(kv2.send(READ, "data/short"))["data"] == {"n": 2}


def test_a_version_destroyed_meanwhile_leaves_no_copy(kv2, after_the_read):
    for n in (1, 2, 3):
        put(kv2, "fleeting", {"n": n})
    # The write copies version 3 into a new slot after the destroy wiped the free ones:
    # its commit then fails, and it wipes its copy before starting over.
    after_the_read(lambda: kv2.send(UPDATE, "destroy/fleeting", {"versions": [3]}))
    assert ok(put(kv2, "fleeting", {"n": 4}))["version"] == 4
    assert archived(kv2, "fleeting") == {1: {"n": 1}, 2: {"n": 2}}
    assert kv2.send(READ, "data/fleeting", {"version": 3}).status == 404
    assert ok(kv2.send(READ, "data/fleeting", {"version": 2}))["data"] == {"n": 2}

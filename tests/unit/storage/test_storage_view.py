"""StorageView: a prefix-confined view over the barrier."""

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.storage import ConditionFailed, Delete, Entry, Put, StorageView


@pytest.fixture
def view(barrier) -> StorageView:
    return StorageView(barrier, "logical/uuid-1/")


def test_keys_are_relative(view, barrier):
    assert view.put("config", b"c") == 1
    assert view.get("config") == Entry("config", b"c", 1)
    assert barrier.get("logical/uuid-1/config").value == b"c"
    assert view.get_many(["config", "missing"]) == {"config": Entry("config", b"c", 1)}
    view.delete("config")
    assert view.get("config") is None


def test_conditions_and_transactions(view):
    view.put("a", b"1", expected_version=0)
    with pytest.raises(ConditionFailed):
        view.put("a", b"2", expected_version=0)
    view.transact([Put("b/c", b"x"), Delete("a", expected_version=1)])
    assert view.list() == ["b/"]
    assert view.get("b/c") == Entry("b/c", b"x", 1)
    with pytest.raises(ConditionFailed):
        view.delete("b/c", expected_version=7)


def test_json_helpers(view, barrier):
    assert view.get_json("cfg") is None
    assert view.put_json("cfg", {"a": [1, 2], "b": "é"}) == 1
    assert barrier.get("logical/uuid-1/cfg").value == '{"a":[1,2],"b":"é"}'.encode()
    assert view.get_json("cfg") == {"a": [1, 2], "b": "é"}
    with pytest.raises(ConditionFailed):
        view.put_json("cfg", {}, expected_version=0)
    assert view.put_json("cfg", {}, expected_version=1) == 2


def test_list_sub_and_delete_prefix(view, barrier):
    for key in ["roles/a", "roles/b", "config", "roles/deep/c"]:
        view.put(key, b"v")
    barrier.put("logical/uuid-2/roles/z", b"other mount")
    assert view.list() == ["config", "roles/"]
    assert view.list("roles/") == ["a", "b", "deep/"]
    roles = view.sub("roles/")
    assert roles.prefix == "logical/uuid-1/roles/"
    assert roles.get("a") == Entry("a", b"v", 1)
    assert roles.list() == ["a", "b", "deep/"]
    assert roles.delete_prefix("deep/") == 1
    assert view.delete_prefix() == 3
    assert barrier.list("logical/") == ["uuid-2/"]


def test_view_cannot_escape_its_prefix(view, barrier):
    barrier.put("core/mounts", b"system")
    view.put("../../core/mounts", b"x")  # a literal key inside the view
    assert barrier.get("core/mounts").value == b"system"
    assert barrier.get("logical/uuid-1/../../core/mounts").value == b"x"
    for bad in ["/core/mounts", "", "a//b", "a/"]:
        with pytest.raises(BadRequest):
            view.get(bad)
        with pytest.raises(BadRequest):
            view.transact([Put(bad, b"x")])
    with pytest.raises(ValueError, match="prefix"):
        view.sub("/core/")
    with pytest.raises(ValueError, match="prefix"):
        view.list("roles")


def test_invalid_view_prefix():
    with pytest.raises(ValueError, match="prefix"):
        StorageView(None, "logical")  # type: ignore[arg-type]

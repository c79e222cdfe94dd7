"""KV v1 and v2 through the real OpenBao CLI (`bao kv ...`) against `lambdavault server -dev`.

Expected outputs, exit codes and messages were recorded from `bao server -dev` (OpenBao
2.x) running the same commands; times are normalised before comparing.
"""

from __future__ import annotations

import re

import pytest

from tests.compat.conftest import BaoResult, Server

pytestmark = pytest.mark.compat

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def timeless(text: str) -> str:
    return _TIME.sub("<T>", text)


def secret_block(heading: str, path: str, version: int, **state: bool) -> str:
    """What `bao kv put/patch/get` print above a KV v2 secret's data.

    `heading` is the CLI's "= Secret Path =" line, whose padding follows the path's length.
    """
    deleted, destroyed = state.get("deleted", False), state.get("destroyed", False)
    return (
        f"{heading}\n{path}\n\n"
        "======= Metadata =======\n"
        "Key                Value\n"
        "---                -----\n"
        "created_time       <T>\n"
        "custom_metadata    <nil>\n"
        f"deletion_time      {'<T>' if deleted else 'n/a'}\n"
        f"destroyed          {'true' if destroyed else 'false'}\n"
        f"version            {version}\n"
    )


ONE = "= Secret Path ="  # over paths of 14 or 15 characters ("secret/data/app")
TWO = "== Secret Path =="  # up to 13, or 16 and 17 ("secret/data/life2")


def api_error(result: BaoResult, message: str) -> None:
    """A request the server refused: exit 2 and Vault's error list on stderr."""
    assert result.code == 2, result
    assert f"* {message}\n" in result.err, result.err



@pytest.fixture
def kv_server(module_dev_server: Server) -> Server:
    """The module's dev server: each test works under paths of its own."""
    return module_dev_server


def test_put_get_field_version_and_cas(kv_server: Server) -> None:
    put = kv_server.bao("kv", "put", "secret/app", "user=alice", "pass=s3cret")
    assert timeless(put.out) == secret_block(ONE, "secret/data/app", 1)
    got = kv_server.bao("kv", "get", "secret/app")
    assert timeless(got.out) == (
        secret_block(ONE, "secret/data/app", 1)
        + "\n==== Data ====\nKey     Value\n---     -----\npass    s3cret\nuser    alice\n"
    )
    assert kv_server.bao("kv", "get", "-field=user", "secret/app").out == "alice"
    missing = kv_server.bao("kv", "get", "-field=missing", "secret/app", check=False)
    assert (missing.code, missing.err) == (1, 'Field "missing" not present in map\n')

    stale = kv_server.bao("kv", "put", "-cas=0", "secret/app", "user=bob", check=False)
    api_error(stale, "check-and-set parameter did not match the current version")
    assert "URL: PUT " in stale.err and "/v1/secret/data/app" in stale.err
    second = kv_server.bao("kv", "put", "-cas=1", "secret/app", "user=bob")
    assert timeless(second.out) == secret_block(ONE, "secret/data/app", 2)
    assert kv_server.bao("kv", "get", "-version=1", "-field=user", "secret/app").out == "alice"
    as_json = kv_server.bao("kv", "get", "-format=json", "secret/app").json()
    assert as_json["data"]["data"] == {"user": "bob"}  # type: ignore[index]
    assert as_json["data"]["metadata"]["version"] == 2  # type: ignore[index]
    nothing = kv_server.bao("kv", "get", "secret/none", check=False)
    assert (nothing.code, nothing.err) == (2, "No value found at secret/data/none\n")


def test_patch_delete_undelete_destroy_rollback(kv_server: Server) -> None:
    kv_server.bao("kv", "put", "secret/life2", "user=alice", "pass=one")
    kv_server.bao("kv", "put", "secret/life2", "user=bob")
    patched = kv_server.bao("kv", "patch", "secret/life2", "pass=new")
    assert timeless(patched.out) == secret_block(TWO, "secret/data/life2", 3)
    assert kv_server.bao("kv", "get", "-format=json", "-field=data", "secret/life2").json() == {
        "user": "bob", "pass": "new",
    }  # fmt: skip
    stale = kv_server.bao("kv", "patch", "-cas=1", "secret/life2", "pass=x", check=False)
    api_error(stale, "check-and-set parameter did not match the current version")
    absent = kv_server.bao("kv", "patch", "secret/absent", "x=1", check=False)
    assert absent.code == 2

    deleted = kv_server.bao("kv", "delete", "secret/life2")
    assert deleted.out == "Success! Data deleted (if it existed) at: secret/data/life2\n"
    soft = kv_server.bao("kv", "get", "secret/life2")  # 404 with metadata: exit 0, no data
    assert timeless(soft.out) == secret_block(TWO, "secret/data/life2", 3, deleted=True) + "\n"
    undeleted = kv_server.bao("kv", "undelete", "-versions=3", "secret/life2")
    assert undeleted.out == "Success! Data written to: secret/undelete/life2\n"
    assert kv_server.bao("kv", "get", "-field=pass", "secret/life2").out == "new"

    destroyed = kv_server.bao("kv", "destroy", "-versions=1", "secret/life2")
    assert destroyed.out == "Success! Data written to: secret/destroy/life2\n"
    gone = kv_server.bao("kv", "get", "-version=1", "secret/life2")
    assert timeless(gone.out) == secret_block(TWO, "secret/data/life2", 1, destroyed=True) + "\n"
    kv_server.bao("kv", "delete", "-versions=2", "secret/life2")
    refused = kv_server.bao("kv", "rollback", "-version=2", "secret/life2", check=False)
    assert (refused.code, refused.err) == (
        2, "Cannot roll back to a version that has been deleted\n",
    )  # fmt: skip
    kv_server.bao("kv", "undelete", "-versions=2", "secret/life2")
    rolled = kv_server.bao("kv", "rollback", "-version=2", "secret/life2")
    assert "version            4\n" in rolled.out
    assert kv_server.bao("kv", "get", "-format=json", "-field=data", "secret/life2").json() == {
        "user": "bob"
    }
    no_versions = kv_server.bao("kv", "destroy", "secret/life2", check=False)
    assert (no_versions.code, no_versions.err) == (
        1, 'No versions provided, use the "-versions" flag to specify the version to destroy.\n',
    )  # fmt: skip


def test_list_and_metadata(kv_server: Server) -> None:
    for path in ("team/a", "team/b", "team/sub/c"):
        kv_server.bao("kv", "put", f"secret/{path}", "k=v")
    listed = kv_server.bao("kv", "list", "secret/team")
    assert listed.out == "Keys\n----\na\nb\nsub/\n"
    assert kv_server.bao("kv", "list", "-format=json", "secret/team/sub").json() == ["c"]
    empty = kv_server.bao("kv", "list", "secret/team/none", check=False)
    assert (empty.code, empty.err) == (2, "No value found at secret/metadata/team/none\n")

    kv_server.bao(
        "kv", "metadata", "put", "-max-versions=3", "-cas-required=true",
        "-delete-version-after=1h", "-custom-metadata=owner=me", "secret/team/a",
    )  # fmt: skip
    meta = kv_server.bao("kv", "metadata", "get", "-format=json", "secret/team/a").json()
    data = meta["data"]  # type: ignore[index]
    assert (data["max_versions"], data["cas_required"], data["delete_version_after"]) == (
        3, True, "1h0m0s",
    )  # fmt: skip
    assert data["custom_metadata"] == {"owner": "me"} and data["current_metadata_version"] == 1
    uncased = kv_server.bao("kv", "put", "secret/team/a", "k=2", check=False)
    api_error(uncased, "check-and-set parameter required for this call")
    kv_server.bao("kv", "put", "-cas=1", "secret/team/a", "k=2")
    text = timeless(kv_server.bao("kv", "metadata", "get", "secret/team/a").out)
    assert text.startswith("==== Metadata Path ====\nsecret/metadata/team/a\n")
    assert "current_version             2\n" in text and "max_versions                3\n" in text
    assert "====== Version 2 ======\n" in text

    kv_server.bao("kv", "metadata", "delete", "secret/team/a")
    gone = kv_server.bao("kv", "metadata", "get", "secret/team/a", check=False)
    assert (gone.code, gone.err) == (2, "No value found at secret/metadata/team/a\n")
    assert kv_server.bao("kv", "list", "secret/team").out == "Keys\n----\nb\nsub/\n"


def test_kv_version_1_mount(kv_server: Server) -> None:
    kv_server.bao("secrets", "enable", "-path=plain", "kv")
    assert kv_server.bao("kv", "put", "plain/db", "user=a", "ttl=1h").out == (
        "Success! Data written to: plain/db\n"
    )
    got = kv_server.bao("kv", "get", "plain/db")
    assert got.out == "==== Data ====\nKey     Value\n---     -----\nttl     1h\nuser    a\n"
    assert kv_server.bao("kv", "get", "-field=user", "plain/db").out == "a"
    kv_server.bao("kv", "put", "plain/dir/x", "k=v")
    assert kv_server.bao("kv", "list", "plain/").out == "Keys\n----\ndb\ndir/\n"
    assert kv_server.bao("kv", "get", "-version=1", "plain/db").out == got.out  # ignored
    unsupported = kv_server.bao("kv", "metadata", "get", "plain/db", check=False)
    assert (unsupported.code, unsupported.err) == (1, "Metadata not supported on KV Version 1\n")
    assert kv_server.bao("kv", "delete", "plain/dir/x").out == (
        "Success! Data deleted (if it existed) at: plain/dir/x\n"
    )
    assert kv_server.bao("kv", "list", "plain/").out == "Keys\n----\ndb\n"


def test_enable_versioning_upgrades_in_place(kv_server: Server) -> None:
    kv_server.bao("secrets", "enable", "-path=legacy", "kv")
    kv_server.bao("kv", "put", "legacy/app", "user=old")
    kv_server.bao("kv", "put", "legacy/team/x", "k=v")
    tuned = kv_server.bao("kv", "enable-versioning", "legacy/")
    assert tuned.out == "Success! Tuned the secrets engine at: legacy/\n"
    options = kv_server.bao("read", "-format=json", "sys/mounts/legacy/tune").json()
    assert options["data"]["options"] == {"version": "2"}  # type: ignore[index]

    got = kv_server.bao("kv", "get", "legacy/app")
    assert timeless(got.out) == (
        secret_block(ONE, "legacy/data/app", 1)
        + "\n==== Data ====\nKey     Value\n---     -----\nuser    old\n"
    )
    assert kv_server.bao("kv", "list", "legacy/").out == "Keys\n----\napp\nteam/\n"
    meta = kv_server.bao("kv", "metadata", "get", "-format=json", "legacy/app").json()
    assert meta["data"]["current_version"] == 1 and meta["data"]["oldest_version"] == 1  # type: ignore[index]
    second = kv_server.bao("kv", "put", "legacy/app", "user=new")
    assert timeless(second.out) == secret_block(ONE, "legacy/data/app", 2)
    assert kv_server.bao("kv", "get", "-version=1", "-field=user", "legacy/app").out == "old"

    again = kv_server.bao("kv", "enable-versioning", "legacy/")  # already 2: nothing to do
    assert again.out == "Success! Tuned the secrets engine at: legacy/\n"
    for value, message in (
        ("1", "cannot downgrade mount from version 2"),
        ("3", "invalid version provided: 3"),
        ("", "invalid version provided: 0"),
        ("two", 'unable to parse options: strconv.ParseInt: parsing "two": invalid syntax'),
    ):
        tune = ("secrets", "tune", f"-options=version={value}", "legacy/")
        api_error(kv_server.bao(*tune, check=False), message)
    missing = kv_server.bao("kv", "enable-versioning", "nowhere/", check=False)
    api_error(missing, 'tune of path "nowhere/" failed: no mount entry found')


def test_enable_validates_the_version(kv_server: Server) -> None:
    for args, message in (
        (["-path=kv3", "-options=version=3", "kv"],
         'nil backend of type "kv" returned from factory'),
        (["-path=cub", "-options=version=2", "cubbyhole"],
         'secrets engine "cubbyhole" does not allow setting a version'),
    ):  # fmt: skip
        api_error(kv_server.bao("secrets", "enable", *args, check=False), message)
    kv_server.bao("secrets", "enable", "-path=alias2", "kv-v2")
    kv_server.bao("secrets", "enable", "-path=flag2", "-version=2", "kv")
    for mount in ("alias2", "flag2"):
        entry = kv_server.bao("read", "-format=json", f"sys/mounts/{mount}").json()
        assert entry["data"]["type"] == "kv"  # type: ignore[index]
        assert entry["data"]["options"] == {"version": "2"}  # type: ignore[index]
        put = kv_server.bao("kv", "put", f"{mount}/s", "k=v")
        assert timeless(put.out) == secret_block(TWO, f"{mount}/data/s", 1)


def test_cli_side_refusals(kv_server: Server) -> None:
    no_data = kv_server.bao("kv", "put", "secret/x", check=False)
    assert (no_data.code, no_data.err) == (1, "Must supply data\n")
    root = kv_server.bao("kv", "get", "secret/")  # a 404 that carries a warning: exit 0
    assert root.out == "== Secret Path ==\nsecret/data\n\n"
    assert root.err == (
        "WARNING! The following warnings were returned from OpenBao:\n\n"
        "  * Non-listing operations on the root of a K/V v2 mount are not supported.\n\n"
    )

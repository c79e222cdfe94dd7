"""KV through hvac's ``client.secrets.kv.v1`` and ``client.secrets.kv.v2`` against
`lambdavault server -dev` (hvac lists with the LIST verb, which the dev server takes)."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus

import hvac
import pytest
from hvac.exceptions import InvalidPath, InvalidRequest

from tests.compat.conftest import ROOT_TOKEN, Server, start_server, stop_server

pytestmark = pytest.mark.compat


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hvac.Client]:
    """One dev server for the module: each test works under mounts or paths of its own."""
    log = tmp_path_factory.mktemp("hvac-kv") / "server.log"
    server: Server = start_server(["-dev", f"-dev-root-token-id={ROOT_TOKEN}"], log)
    try:
        yield hvac.Client(url=server.address, token=ROOT_TOKEN)
    finally:
        stop_server(server)


def test_v1_create_read_list_delete(client: hvac.Client) -> None:
    client.sys.enable_secrets_engine("kv", path="hvac-v1", options={"version": "1"})
    kv = client.secrets.kv.v1
    secret = {"user": "a", "ttl": "30m"}
    created = kv.create_or_update_secret("app/db", secret, mount_point="hvac-v1")
    assert created.status_code == HTTPStatus.NO_CONTENT
    kv.create_or_update_secret("app/db", {"user": "b"}, mount_point="hvac-v1")  # read, then PUT
    kv.create_or_update_secret("app/cache", {"k": "v"}, method="POST", mount_point="hvac-v1")
    read = kv.read_secret("app/db", mount_point="hvac-v1")
    assert read["data"] == {"user": "b"} and read["lease_duration"] == 2764800
    assert kv.list_secrets("app", mount_point="hvac-v1")["data"]["keys"] == ["cache", "db"]
    assert kv.delete_secret("app/db", mount_point="hvac-v1").status_code == HTTPStatus.NO_CONTENT
    with pytest.raises(InvalidPath):
        kv.read_secret("app/db", mount_point="hvac-v1")
    with pytest.raises(InvalidPath):
        kv.list_secrets("none", mount_point="hvac-v1")


# hvac's own patch() reads without raise_on_deleted_version, which warns.
@pytest.mark.filterwarnings("ignore:The raise_on_deleted_version:DeprecationWarning")
def test_v2_versions_patch_and_cas(client: hvac.Client) -> None:
    kv = client.secrets.kv.v2
    first = kv.create_or_update_secret("hvac/app", {"user": "a", "pass": "1"})["data"]
    assert first["version"] == 1 and first["destroyed"] is False
    with pytest.raises(InvalidRequest, match="check-and-set parameter did not match"):
        kv.create_or_update_secret("hvac/app", {"user": "x"}, cas=0)
    assert kv.create_or_update_secret("hvac/app", {"user": "b"}, cas=1)["data"]["version"] == 2
    patched = kv.patch("hvac/app", {"pass": "2"})  # hvac: read, then a cas write
    assert patched["data"]["version"] == 3
    latest = kv.read_secret_version("hvac/app", raise_on_deleted_version=True)["data"]
    assert latest["data"] == {"user": "b", "pass": "2"} and latest["metadata"]["version"] == 3
    older = kv.read_secret_version("hvac/app", version=1, raise_on_deleted_version=True)
    assert older["data"]["data"] == {"user": "a", "pass": "1"}
    with pytest.raises(InvalidPath):
        kv.read_secret_version("hvac/none", raise_on_deleted_version=True)
    with pytest.raises(InvalidPath, match="patch only works on existing data"):
        kv.patch("hvac/none", {"k": "v"})


def test_v2_delete_undelete_destroy(client: hvac.Client) -> None:
    kv = client.secrets.kv.v2
    for value in ("one", "two", "three"):
        kv.create_or_update_secret("hvac/life", {"v": value})
    assert kv.delete_latest_version_of_secret("hvac/life").status_code == HTTPStatus.NO_CONTENT
    with pytest.raises(InvalidPath):
        kv.read_secret_version("hvac/life", raise_on_deleted_version=True)
    soft = kv.read_secret_version("hvac/life", raise_on_deleted_version=False)
    assert soft["data"]["data"] is None and soft["data"]["metadata"]["deletion_time"] != ""

    kv.delete_secret_versions("hvac/life", versions=[1, 2])
    kv.undelete_secret_versions("hvac/life", versions=[2, 3])
    assert kv.read_secret_version("hvac/life", raise_on_deleted_version=True)["data"]["data"] == {
        "v": "three"
    }
    kv.destroy_secret_versions("hvac/life", versions=[2])
    versions = kv.read_secret_metadata("hvac/life")["data"]["versions"]
    assert versions["1"]["deletion_time"] != "" and versions["2"]["destroyed"] is True
    assert versions["3"] == {**versions["3"], "deletion_time": "", "destroyed": False}
    with pytest.raises(InvalidRequest, match="no version number provided"):
        client.adapter.post("/v1/secret/destroy/hvac/life", json={})  # hvac refuses [] itself


def test_v2_metadata_list_and_configuration(client: hvac.Client) -> None:
    client.sys.enable_secrets_engine("kv", path="hvac-v2", options={"version": "2"})
    kv = client.secrets.kv.v2
    assert kv.configure(max_versions=1, cas_required=False, mount_point="hvac-v2").status_code == (
        HTTPStatus.NO_CONTENT
    )
    config = kv.read_configuration(mount_point="hvac-v2")["data"]
    assert config == {
        "max_versions": 1, "cas_required": False, "delete_version_after": "0s",
        "metadata_cas_required": False,
    }  # fmt: skip
    for path in ("team/a", "team/b", "team/sub/c"):
        kv.create_or_update_secret(path, {"k": path}, mount_point="hvac-v2")
    assert kv.list_secrets("team", mount_point="hvac-v2")["data"]["keys"] == ["a", "b", "sub/"]

    kv.update_metadata(
        "team/a", max_versions=2, cas_required=True, delete_version_after="1h",
        custom_metadata={"owner": "me"}, mount_point="hvac-v2",
    )  # fmt: skip
    meta = kv.read_secret_metadata("team/a", mount_point="hvac-v2")["data"]
    assert (meta["max_versions"], meta["cas_required"], meta["delete_version_after"]) == (
        2, True, "1h0m0s",
    )  # fmt: skip
    assert meta["custom_metadata"] == {"owner": "me"} and meta["current_version"] == 1
    with pytest.raises(InvalidRequest, match="check-and-set parameter required"):
        kv.create_or_update_secret("team/a", {"k": "2"}, mount_point="hvac-v2")
    for version in (1, 2):
        kv.create_or_update_secret("team/a", {"k": "x"}, cas=version, mount_point="hvac-v2")
    meta = kv.read_secret_metadata("team/a", mount_point="hvac-v2")["data"]
    # The larger of the secret's and the mount's max_versions is kept: 2 here.
    assert sorted(meta["versions"]) == ["2", "3"] and meta["oldest_version"] == 2

    gone = kv.delete_metadata_and_all_versions("team/a", mount_point="hvac-v2")
    assert gone.status_code == HTTPStatus.NO_CONTENT
    with pytest.raises(InvalidPath):
        kv.read_secret_metadata("team/a", mount_point="hvac-v2")
    assert kv.list_secrets("team", mount_point="hvac-v2")["data"]["keys"] == ["b", "sub/"]


def test_v1_mount_upgraded_by_tune(client: hvac.Client) -> None:
    client.sys.enable_secrets_engine("kv", path="hvac-up")
    client.secrets.kv.v1.create_or_update_secret("s", {"k": "old"}, mount_point="hvac-up")
    tuned = client.sys.tune_mount_configuration("hvac-up", options={"version": "2"})
    # A 200 with Vault's upgrade warning (hvac returns the JSON body): not a 204.
    assert tuned["warnings"][0].startswith("Upgrading mount from version 0 to version 0.")
    kv = client.secrets.kv.v2
    read = kv.read_secret_version("s", mount_point="hvac-up", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"k": "old"} and read["data"]["metadata"]["version"] == 1
    with pytest.raises(InvalidRequest, match="cannot downgrade mount from version 2"):
        client.sys.tune_mount_configuration("hvac-up", options={"version": "1"})

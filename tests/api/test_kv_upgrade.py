"""`options.version` on sys/mounts over HTTP: validation, and the in-place v1 -> v2 upgrade,
including the parts a Lambda cannot do after answering (see engines/kv/upgrade.py)."""

from __future__ import annotations

import json

import pytest

from chalicelib.engines.kv import upgrade
from chalicelib.engines.kv.layout import UPGRADE_KEY
from chalicelib.storage.view import StorageView
from tests.support import VaultHTTP

UPGRADING = upgrade.UPGRADING


def enable_v1(vault: VaultHTTP, path: str, secrets: dict[str, dict[str, str]]) -> None:
    assert vault.post(f"sys/mounts/{path}", {"type": "kv"}).status_code == 204
    for name, secret in secrets.items():
        assert vault.post(f"{path}/{name}", secret).status_code == 204


def tune_version(vault: VaultHTTP, path: str, version: object) -> tuple[int, dict]:
    reply = vault.post(f"sys/mounts/{path}/tune", {"options": {"version": version}})
    return reply.status_code, reply.json() if reply.content else {}


def mount_view(vault: VaultHTTP, path: str) -> StorageView:
    """The mount's storage, as the engine sees it (to look under the API)."""
    from chalicelib.core.runtime import runtime

    uuid = vault.get(f"sys/mounts/{path}").json()["data"]["uuid"]
    return StorageView(runtime().barrier, f"logical/{uuid}/")


def test_tune_upgrades_a_v1_mount_in_place(vault: VaultHTTP) -> None:
    secrets = {f"s{n:02d}": {"n": str(n)} for n in range(60)}  # more than one transaction
    enable_v1(vault, "legacy", {**secrets, "team/x": {"k": "v"}})
    status, body = tune_version(vault, "legacy", "2")
    assert status == 200 and body["warnings"] == [
        "Upgrading mount from version 0 to version 0. This mount will be unavailable for a "
        "brief period and will resume service shortly."
    ]
    assert vault.get("sys/mounts/legacy").json()["data"]["options"] == {"version": "2"}
    read = vault.get("legacy/data/s07").json()["data"]
    assert read["data"] == {"n": "7"} and read["metadata"]["version"] == 1
    keys = vault.list("legacy/metadata/").json()["data"]["keys"]
    assert keys == [*sorted(secrets), "team/"]
    view = mount_view(vault, "legacy")
    assert view.list("v1/") == []
    assert json.loads(view.get(UPGRADE_KEY).value)["settled"] is False  # stragglers possible
    assert vault.post("legacy/data/s07", {"data": {"n": "x"}}).json()["data"]["version"] == 2


@pytest.mark.parametrize(
    ("mount", "version", "status", "message"),
    [
        ("v1", "3", 400, "invalid version provided: 3"),
        ("v1", "", 400, "invalid version provided: 0"),
        ("v1", "x", 400, 'unable to parse options: strconv.ParseInt: parsing "x": invalid syntax'),
        ("v1", "99999999999999999999", 400, "unable to parse options: strconv.ParseInt: "
         'parsing "99999999999999999999": value out of range'),
        ("v2", "1", 400, "cannot downgrade mount from version 2"),
        ("v2", 2, 204, None),
        ("v1", "1", 200, "Upgrading mount from version 0 to version 0."),
    ],
)  # fmt: skip
def test_tune_validates_the_version(
    vault: VaultHTTP, mount: str, version: object, status: int, message: str | None
) -> None:
    options = {"version": "2"} if mount == "v2" else None
    assert vault.post("sys/mounts/target", {"type": "kv", "options": options}).status_code == 204
    got_status, body = tune_version(vault, "target", version)
    assert got_status == status
    if message is not None:
        shown = body["errors"][0] if status == 400 else body["warnings"][0]
        assert shown.startswith(message)


def test_tune_options_keep_vaults_rules(vault: VaultHTTP) -> None:
    enabled = vault.post("sys/mounts/opts", {"type": "kv", "options": {"version": 2, "a": "1"}})
    assert enabled.status_code == 204
    assert vault.get("sys/mounts/opts").json()["data"]["options"] == {"version": "2", "a": "1"}
    # An empty value removes an option; a version in another spelling is stored canonically.
    tuned = vault.post("sys/mounts/opts/tune", {"options": {"a": "", "b": "2", "version": "+2"}})
    assert tuned.status_code == 204
    assert vault.get("sys/mounts/opts/tune").json()["data"]["options"] == {"version": "2", "b": "2"}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("sys/mounts/kv3", {"type": "kv", "options": {"version": "3"}},
         'nil backend of type "kv" returned from factory'),
        ("sys/mounts/cub", {"type": "cubbyhole", "options": {"version": "1"}},
         'secrets engine "cubbyhole" does not allow setting a version'),
        ("sys/auth/tok", {"type": "token", "options": {"version": "1"}},
         'auth method "token" does not allow setting a version'),
    ],
)  # fmt: skip
def test_enable_validates_the_version(
    vault: VaultHTTP, path: str, body: dict, message: str
) -> None:
    reply = vault.post(path, body)
    assert reply.status_code == 400 and reply.json()["errors"] == [message]


@pytest.mark.parametrize(("alias", "version"), [("kv-v1", "1"), ("kv-v2", "2")])
def test_enable_kv_aliases(vault: VaultHTTP, alias: str, version: str) -> None:
    assert vault.post("sys/mounts/aliased", {"type": alias}).status_code == 204
    entry = vault.get("sys/mounts/aliased").json()["data"]
    assert (entry["type"], entry["options"]) == ("kv", {"version": version})


def test_an_interrupted_upgrade_is_finished_by_the_next_request(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable_v1(vault, "cut", {"a": {"k": "1"}, "b/c": {"k": "2"}})
    monkeypatch.setattr(upgrade, "TUNE_BUDGET_SECONDS", -1.0)  # the tune's pass moves nothing
    assert tune_version(vault, "cut", "2")[0] == 200
    assert mount_view(vault, "cut").list("v1/") == ["a", "b/"]
    assert vault.get("cut/data/b/c").json()["data"]["data"] == {"k": "2"}
    assert mount_view(vault, "cut").list("v1/") == []


def test_requests_wait_while_an_upgrade_cannot_finish(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable_v1(vault, "slow", {"a": {"k": "1"}})
    monkeypatch.setattr(upgrade, "TUNE_BUDGET_SECONDS", -1.0)
    monkeypatch.setattr(upgrade, "REQUEST_BUDGET_SECONDS", -1.0)
    assert tune_version(vault, "slow", "2")[0] == 200
    refused = vault.get("slow/data/a")
    assert refused.status_code == 400 and refused.json()["errors"] == [UPGRADING]
    monkeypatch.setattr(upgrade, "REQUEST_BUDGET_SECONDS", 5.0)
    assert vault.get("slow/data/a").json()["data"]["data"] == {"k": "1"}


def test_stragglers_are_swept_until_the_window_closes(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    enable_v1(vault, "late", {"a": {"k": "1"}})
    assert tune_version(vault, "late", "2")[0] == 200
    view = mount_view(vault, "late")
    # A container that still had the old mount table finishes a v1 write after the tune.
    view.put_json("v1/straggler", {"k": "late"})
    assert vault.get("late/data/straggler").json()["data"]["data"] == {"k": "late"}

    monkeypatch.setattr(upgrade, "STRAGGLER_WINDOW_SECONDS", 0.0)  # the window has passed
    assert vault.get("late/data/a").status_code == 200
    assert json.loads(view.get(UPGRADE_KEY).value)["settled"] is True
    # Settled: later requests do no upgrade work at all (nothing could write v1/ now).
    view.put_json("v1/impossible", {"k": "x"})
    assert vault.get("late/data/impossible").status_code == 404


def test_a_cold_container_settles_from_the_record(
    vault: VaultHTTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.engines.registry import backend_for

    monkeypatch.setattr(upgrade, "STRAGGLER_WINDOW_SECONDS", 0.0)
    enable_v1(vault, "cold", {"a": {"k": "1"}})
    assert tune_version(vault, "cold", "2")[0] == 200
    assert vault.get("cold/data/a").status_code == 200  # settles the record
    backend_for.cache_clear()  # a new container: its gate knows nothing yet
    prefix = mount_view(vault, "cold").prefix
    assert vault.get("cold/data/a").status_code == 200
    gate = backend_for("kv", auth=False).versions["2"].upgrades  # type: ignore[attr-defined]
    assert prefix in gate.settled and prefix not in gate.pending_since
    assert vault.get("secret/data/none").status_code == 404  # created as v2: no record at all
    assert len(gate.settled) == 2

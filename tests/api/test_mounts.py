"""sys/mounts, sys/auth, tune, remount and internal/ui/mounts over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.engines import registry
from chalicelib.framework import Backend
from tests.support import VaultHTTP


@pytest.fixture(scope="module", name="vault")
def module_cluster(module_vault: VaultHTTP) -> VaultHTTP:
    """One cluster for the module's tests (each works under names of its own)."""
    return module_vault



def probe_auth_backend() -> Backend:
    """A minimal auth method type, registered only in these tests to exercise sys/auth."""
    return Backend(type_name="probe", paths=[])


@pytest.fixture
def probe_auth(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registry.AUTH_METHODS, "probe", f"{__name__}:probe_auth_backend")
    registry.backend_for.cache_clear()
    yield
    registry.backend_for.cache_clear()


def test_default_mounts_after_init(vault: VaultHTTP) -> None:
    mounts = vault.get("sys/mounts").json()["data"]
    assert {"sys/", "cubbyhole/"} <= set(mounts)
    assert mounts["cubbyhole/"]["local"] is True
    auth = vault.get("sys/auth").json()["data"]
    assert auth["token/"]["type"] == "token"


def test_enable_read_tune_disable_a_mount(vault: VaultHTTP) -> None:
    enabled = vault.post(
        "sys/mounts/team/kv",
        {"type": "kv", "description": "team", "config": {"default_lease_ttl": "30m"}},
    )
    assert enabled.status_code == 204
    entry = vault.get("sys/mounts/team/kv").json()["data"]
    assert entry["type"] == "kv" and entry["config"]["default_lease_ttl"] == 1800
    assert vault.get("sys/mounts").json()["data"]["team/kv/"]["accessor"].startswith("kv_")

    tuned = vault.post(
        "sys/mounts/team/kv/tune",
        {"max_lease_ttl": "2h", "description": "tuned", "listing_visibility": "unauth"},
    )
    assert tuned.status_code == 204
    tune = vault.get("sys/mounts/team/kv/tune").json()["data"]
    assert tune["default_lease_ttl"] == 1800 and tune["max_lease_ttl"] == 7200
    assert tune["description"] == "tuned" and tune["listing_visibility"] == "unauth"

    assert vault.delete("sys/mounts/team/kv").status_code == 204
    assert "team/kv/" not in vault.get("sys/mounts").json()["data"]
    assert vault.delete("sys/mounts/team/kv").status_code == 204  # already gone: still 204


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("sys/mounts/x", {}, "backend type must be specified as a string"),
        ("sys/mounts/x", {"type": "nosuch"}, "plugin not found in the catalog: nosuch"),
        ("sys/mounts/sys", {"type": "kv"}, 'cannot mount "sys/"'),
        ("sys/mounts/auth/x", {"type": "kv"}, 'cannot mount "auth/x/"'),
        ("sys/mounts/cubbyhole", {"type": "kv"}, 'cannot mount "cubbyhole/"'),
        ("sys/mounts/y", {"type": "cubbyhole"}, 'mount type of "cubbyhole" is not mountable'),
        (
            "sys/mounts/x",
            {"type": "kv", "config": {"default_lease_ttl": "abc"}},
            'unable to parse default TTL of abc: time: invalid duration "abc"',
        ),
        (
            "sys/mounts/x",
            {"type": "kv", "config": {"default_lease_ttl": "2h", "max_lease_ttl": "1h"}},
            "given default lease TTL greater than given max lease TTL",
        ),
        ("sys/auth/token", {"type": "token"}, "token credential backend cannot be instantiated"),
        ("sys/auth/x", {"type": "kv"}, "plugin not found in the catalog: kv"),
    ],
)
def test_enable_errors(vault: VaultHTTP, path: str, body: dict, message: str) -> None:
    reply = vault.post(path, body)
    assert reply.status_code == 400
    assert reply.json() == {"errors": [message]}


def test_overlapping_mounts_are_refused(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/a/b", {"type": "kv"}).status_code == 204
    for path in ("a/b", "a/b/c", "a"):
        reply = vault.post(f"sys/mounts/{path}", {"type": "kv"})
        assert reply.status_code == 400
        assert reply.json() == {"errors": ["path is already in use at a/b/"]}


def test_tune_errors(vault: VaultHTTP) -> None:
    bad = vault.post("sys/mounts/cubbyhole/tune", {"default_lease_ttl": "abc"})
    assert bad.json() == {"errors": ['time: invalid duration "abc"']}
    inverted = vault.post(
        "sys/mounts/cubbyhole/tune", {"default_lease_ttl": "2h", "max_lease_ttl": "1h"}
    )
    assert inverted.json()["errors"] == [
        "backend max lease TTL of 3600 would be less than backend default lease TTL of 7200"
    ]
    missing = vault.post("sys/mounts/nosuch/tune", {"default_lease_ttl": "1h"})
    assert missing.json() == {"errors": ['tune of path "nosuch/" failed: no mount entry found']}
    assert vault.get("sys/mounts/nosuch/tune").json() == {
        "errors": ['cannot fetch sysview for path "nosuch/"']
    }
    reset = vault.post("sys/mounts/cubbyhole/tune", {"default_lease_ttl": "system"})
    assert reset.status_code == 204
    assert vault.get("sys/mounts/cubbyhole/tune").json()["data"]["default_lease_ttl"] == 2764800


def test_remount_keeps_data_config_and_reports_status(vault: VaultHTTP) -> None:
    vault.post("sys/mounts/old", {"type": "kv", "config": {"default_lease_ttl": "1h"}})
    before = vault.get("sys/mounts/old").json()["data"]
    moved = vault.post("sys/remount", {"from": "old", "to": "new"})
    assert moved.status_code == 200
    migration = moved.json()["data"]["migration_id"]
    status = vault.get(f"sys/remount/status/{migration}").json()["data"]
    assert status["migration_info"] == {
        "source_mount": "old/", "target_mount": "new/", "status": "success"
    }
    after = vault.get("sys/mounts/new").json()["data"]
    assert after["uuid"] == before["uuid"] and after["config"]["default_lease_ttl"] == 3600
    assert vault.get("sys/mounts/old").status_code == 400
    assert vault.get("sys/remount/status/unknown").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"from": "sys", "to": "x"}, 'cannot remount "sys/"'),
        ({"from": "cubbyhole", "to": "x"}, 'cannot remount "cubbyhole/"'),
        ({"from": "nosuch", "to": "x"}, 'no matching mount at "nosuch/"'),
        ({"from": "cubbyhole"}, "both 'from' and 'to' path must be specified as a string"),
        ({"from": "secretx", "to": "sys"}, "cannot remount to destination sys/"),
        ({"from": "secretx", "to": "auth/y"}, "cannot remount to destination auth/y/"),
        ({"from": "secretx", "to": "secretx"}, 'path already in use at "secretx/"'),
    ],
)
def test_remount_errors(vault: VaultHTTP, body: dict, message: str) -> None:
    vault.post("sys/mounts/secretx", {"type": "kv"})
    reply = vault.post("sys/remount", body)
    assert reply.status_code == 400
    assert reply.json() == {"errors": [message]}


def test_auth_enable_tune_move_disable(vault: VaultHTTP, probe_auth: None) -> None:
    assert vault.post("sys/auth/probe", {"type": "probe", "description": "p"}).status_code == 204
    assert vault.get("sys/auth").json()["data"]["probe/"]["description"] == "p"
    assert vault.post("sys/auth/probe", {"type": "probe"}).json() == {
        "errors": ["path is already in use at probe/"]
    }
    # The CLI tunes auth methods through sys/mounts/auth/<path>/tune.
    assert vault.post("sys/mounts/auth/probe/tune", {"default_lease_ttl": "1h"}).status_code == 204
    assert vault.get("sys/auth/probe/tune").json()["data"]["default_lease_ttl"] == 3600
    assert vault.post("sys/auth/probe/tune", {"max_lease_ttl": "3h"}).status_code == 204
    assert vault.get("sys/mounts/auth/probe/tune").json()["data"]["max_lease_ttl"] == 10800

    moved = vault.post("sys/remount", {"from": "auth/probe", "to": "auth/probe2"})
    assert moved.json()["data"]["migration_id"]
    assert "probe2/" in vault.get("sys/auth").json()["data"]
    assert vault.delete("sys/auth/probe2").status_code == 204
    assert "probe2/" not in vault.get("sys/auth").json()["data"]
    assert vault.delete("sys/auth/token").json() == {
        "errors": ["token credential backend cannot be disabled"]
    }


def test_internal_ui_mounts(vault: VaultHTTP) -> None:
    vault.post("sys/mounts/public", {"type": "kv", "config": {"listing_visibility": "unauth"}})
    anonymous = vault.get("sys/internal/ui/mounts", token="").json()["data"]
    assert set(anonymous["secret"]) == {"public/"}
    assert anonymous["secret"]["public/"] == {"description": "", "options": None, "type": "kv"}
    full = vault.get("sys/internal/ui/mounts").json()["data"]
    assert {"public/", "cubbyhole/"} <= set(full["secret"])
    one = vault.get("sys/internal/ui/mounts/public/some/key").json()["data"]
    assert one["path"] == "public/" and one["type"] == "kv"
    assert vault.get("sys/internal/ui/mounts/public/x", token="").status_code == 403

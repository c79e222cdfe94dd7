"""The lease manager through the HTTP API, with a test engine that issues leased secrets."""

from __future__ import annotations

import time

import pytest

from tests.api.lease_support import lease_engine  # noqa: F401 (fixture)
from tests.api.tokens_support import allow, create
from tests.support import VaultHTTP

pytestmark = pytest.mark.usefixtures("lease_engine")


@pytest.fixture
def things(vault: VaultHTTP) -> VaultHTTP:
    assert vault.post("sys/mounts/things", {"type": "leasetest"}).status_code == 204
    assert vault.post("things/roles/r", {"ttl": "1h", "max_ttl": "2h"}).status_code == 204
    assert vault.post("things/roles/s", {"ttl": "1h"}).status_code == 204
    return vault


def issue(vault: VaultHTTP, role: str = "r", **kwargs) -> dict:
    reply = vault.get(f"things/creds/{role}", **kwargs)
    assert reply.status_code == 200, reply.text
    return reply.json()


def engine_state(vault: VaultHTTP) -> tuple[set[str], set[str]]:
    """(issued, revoked) ids, read from the test engine's storage."""
    from chalicelib.core.runtime import runtime
    from chalicelib.storage.view import StorageView

    rt = runtime()
    mount = rt.mounts.find("things/")
    assert mount is not None
    view = StorageView(rt.barrier, mount.storage_prefix)
    return set(view.list("issued/")), set(view.list("revoked/"))


def lookup(vault: VaultHTTP, lease_id: str):
    return vault.post("sys/leases/lookup", {"lease_id": lease_id})


def sweep(offset: int = 0):
    from chalicelib.leases.sweeper import sweep as run

    return run(now=int(time.time()) + offset)


def test_a_leased_secret_carries_vaults_lease_fields(things: VaultHTTP):
    body = issue(things)
    assert body["lease_id"].startswith("things/creds/r/")
    assert len(body["lease_id"].rpartition("/")[2]) == 24
    assert body["lease_duration"] == 3600
    assert body["renewable"] is True


def test_lease_ttl_defaults_to_the_mount_and_is_capped_by_its_max(things: VaultHTTP):
    tune = {"default_lease_ttl": "10m", "max_lease_ttl": "30m"}
    assert things.post("sys/mounts/things/tune", tune).status_code == 204
    assert things.post("things/roles/d", {}).status_code == 204
    assert issue(things, "d")["lease_duration"] == 600
    assert issue(things, "r")["lease_duration"] == 1800  # role ttl 1h, mount max 30m


def test_lookup_shows_the_lease(things: VaultHTTP):
    lease_id = issue(things)["lease_id"]
    reply = lookup(things, lease_id)
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert data["id"] == lease_id
    assert data["path"] == "things/creds/r"
    assert data["renewable"] is True
    assert data["last_renewal"] is None
    assert 3590 <= data["ttl"] <= 3600
    assert data["issue_time"].endswith("Z") and data["expire_time"] > data["issue_time"]


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "lease_id must be specified"), ({"lease_id": "x/y"}, "invalid lease")],
)
def test_lookup_refuses_missing_or_unknown_leases(things: VaultHTTP, body, message):
    reply = things.post("sys/leases/lookup", body)
    assert reply.status_code == 400
    assert reply.json() == {"errors": [message]}


def test_listing_leases_by_prefix_needs_sudo(things: VaultHTTP):
    ids = {issue(things)["lease_id"].rpartition("/")[2] for _ in range(2)}
    reply = things.list("sys/leases/lookup/things/creds/r/")
    assert reply.status_code == 200
    assert set(reply.json()["data"]["keys"]) == ids
    assert things.list("sys/leases/lookup/things/").json()["data"]["keys"] == ["creds/"]
    assert things.list("sys/leases/lookup/nothing/").status_code == 404
    allow(things, "lister", "sys/leases/lookup/*", "list")
    token = create(things, {"policies": ["lister"]})
    reply = things.list("sys/leases/lookup/things/creds/r/", token=token["client_token"])
    assert reply.status_code == 403


def test_renew_is_capped_by_the_max_ttl_with_vaults_warning(things: VaultHTTP):
    lease_id = issue(things)["lease_id"]
    reply = things.post("sys/leases/renew", {"lease_id": lease_id, "increment": "3h"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["lease_id"] == lease_id and body["renewable"] is True
    assert 7190 <= body["lease_duration"] <= 7200
    assert len(body["warnings"]) == 1
    assert body["warnings"][0].startswith('TTL of "3h" exceeded the effective max_ttl of "')
    assert body["warnings"][0].endswith('"; TTL value is capped accordingly')
    assert lookup(things, lease_id).json()["data"]["last_renewal"] is not None


def test_renew_by_url_and_by_the_legacy_path(things: VaultHTTP):
    lease_id = issue(things)["lease_id"]
    reply = things.put(f"sys/leases/renew/{lease_id}", {"increment": 60})
    assert reply.status_code == 200 and reply.json()["lease_duration"] == 60
    reply = things.put("sys/renew", {"lease_id": lease_id, "increment": 120})
    assert reply.status_code == 200 and reply.json()["lease_duration"] == 120


def test_renew_refusals(things: VaultHTTP):
    assert things.post("things/roles/fixed", {"renewable": False}).status_code == 204
    fixed = issue(things, "fixed")
    assert fixed["renewable"] is False
    reply = things.post("sys/leases/renew", {"lease_id": fixed["lease_id"]})
    assert reply.status_code == 400
    assert reply.json() == {"errors": ["lease is not renewable"]}
    reply = things.post("sys/leases/renew", {"lease_id": "things/creds/r/nope"})
    assert reply.json() == {"errors": ["lease not found"]}
    assert things.post("sys/leases/renew", {}).json() == {"errors": ["lease_id must be specified"]}


def test_revoke_calls_the_engine_and_forgets_the_lease(things: VaultHTTP):
    body = issue(things)
    reply = things.post("sys/leases/revoke", {"lease_id": body["lease_id"]})
    assert reply.status_code == 204
    issued, revoked = engine_state(things)
    assert body["data"]["id"] in revoked and body["data"]["id"] not in issued
    assert lookup(things, body["lease_id"]).status_code == 400
    # Revoking what is gone is not an error, as OpenBao.
    assert things.post("sys/leases/revoke", {"lease_id": body["lease_id"]}).status_code == 204


def test_revoke_by_url_and_legacy_path(things: VaultHTTP):
    first, second = issue(things)["lease_id"], issue(things)["lease_id"]
    assert things.put(f"sys/leases/revoke/{first}").status_code == 204
    assert things.put(f"sys/revoke/{second}").status_code == 204
    assert lookup(things, first).status_code == lookup(things, second).status_code == 400


def test_revoke_without_sync_revokes_before_answering_202(things: VaultHTTP):
    body = issue(things)
    reply = things.post("sys/leases/revoke", {"lease_id": body["lease_id"], "sync": False})
    assert reply.status_code == 202
    assert body["data"]["id"] in engine_state(things)[1]
    assert lookup(things, body["lease_id"]).status_code == 400


def test_a_failed_lazy_revoke_is_left_to_the_sweeper(things: VaultHTTP):
    body = issue(things)
    assert things.post("things/config/fail", {"fail": True}).status_code == 204
    reply = things.post("sys/leases/revoke", {"lease_id": body["lease_id"], "sync": False})
    assert reply.status_code == 202  # the outcome of a lazy revoke is not the answer's
    assert lookup(things, body["lease_id"]).json()["data"]["id"] == body["lease_id"]
    assert things.post("things/config/fail", {"fail": False}).status_code == 204
    assert sweep(3600).revoked == 1  # past the retry's backoff
    assert body["data"]["id"] in engine_state(things)[1]


def test_a_failed_revoke_keeps_the_lease(things: VaultHTTP):
    lease_id = issue(things)["lease_id"]
    assert things.post("things/config/fail", {"fail": True}).status_code == 204
    reply = things.post("sys/leases/revoke", {"lease_id": lease_id})
    assert reply.status_code == 400
    assert reply.json()["errors"] == ["failed to revoke lease: the test engine refuses to revoke"]
    assert lookup(things, lease_id).status_code == 200


def test_revoke_prefix_revokes_one_role_only_and_needs_sudo(things: VaultHTTP):
    mine = [issue(things)["data"]["id"] for _ in range(3)]
    other = issue(things, "s")
    reply = things.post("sys/leases/revoke-prefix/things/creds/r")
    assert reply.status_code == 204
    issued, revoked = engine_state(things)
    assert set(mine) <= revoked and other["data"]["id"] in issued
    assert lookup(things, other["lease_id"]).status_code == 200
    allow(things, "revoker", "sys/leases/revoke-prefix/*", "update")
    token = create(things, {"policies": ["revoker"]})
    reply = things.post("sys/leases/revoke-prefix/things", token=token["client_token"])
    assert reply.status_code == 403


def test_revoke_prefix_naming_one_lease_and_the_legacy_path(things: VaultHTTP):
    one, two = issue(things)["lease_id"], issue(things, "s")["lease_id"]
    assert things.post(f"sys/leases/revoke-prefix/{one}").status_code == 204
    assert things.post("sys/revoke-prefix/things/creds/s").status_code == 204
    assert lookup(things, one).status_code == lookup(things, two).status_code == 400


def test_revoke_prefix_without_sync_revokes_before_answering_202(things: VaultHTTP):
    ids = {issue(things)["data"]["id"] for _ in range(2)}
    reply = things.post("sys/leases/revoke-prefix/things/creds/r", {"sync": False})
    assert reply.status_code == 202
    assert ids <= engine_state(things)[1]


def test_a_lazy_revoke_past_its_time_budget_queues_the_rest(
    things: VaultHTTP, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib.leases import manager

    ids = {issue(things)["data"]["id"] for _ in range(2)}
    monkeypatch.setattr(manager, "LAZY_REVOKE_BUDGET", 0.0)
    reply = things.post("sys/leases/revoke-prefix/things/creds/r", {"sync": False})
    assert reply.status_code == 202
    assert ids <= engine_state(things)[0]
    assert sweep().revoked == 2
    assert ids <= engine_state(things)[1]


def test_revoke_force_drops_leases_the_engine_cannot_revoke(things: VaultHTTP):
    lease_id = issue(things)["lease_id"]
    assert things.post("things/config/fail", {"fail": True}).status_code == 204
    assert things.post("sys/leases/revoke-prefix/things").status_code == 400
    assert lookup(things, lease_id).status_code == 200
    assert things.post("sys/leases/revoke-force/things").status_code == 204
    assert lookup(things, lease_id).status_code == 400


def test_revoking_a_token_revokes_its_leases_and_its_childrens(things: VaultHTTP):
    parent = things.post("auth/token/create", {"policies": ["root"]}).json()["auth"]
    child = things.post(
        "auth/token/create", {"policies": ["root"]}, token=parent["client_token"]
    ).json()["auth"]
    own = issue(things, token=parent["client_token"])
    childs = issue(things, token=child["client_token"])
    kept = issue(things)
    assert things.post("auth/token/revoke", {"token": parent["client_token"]}).status_code == 204
    issued, revoked = engine_state(things)
    assert {own["data"]["id"], childs["data"]["id"]} <= revoked
    assert kept["data"]["id"] in issued
    assert lookup(things, own["lease_id"]).status_code == 400


def test_unmounting_revokes_the_mounts_leases(things: VaultHTTP):
    lease_id = issue(things)["lease_id"]
    assert things.delete("sys/mounts/things").status_code == 204
    assert lookup(things, lease_id).status_code == 400


def test_remounting_revokes_the_mounts_leases_first(things: VaultHTTP):
    """As OpenBao: lease ids name the old path, so the move revokes them (or fails)."""
    body = issue(things)
    assert things.post("things/config/fail", {"fail": True}).status_code == 204
    reply = things.post("sys/remount", {"from": "things", "to": "moved"})
    assert reply.status_code == 400
    assert lookup(things, body["lease_id"]).status_code == 200
    assert things.post("things/config/fail", {"fail": False}).status_code == 204
    assert things.post("sys/remount", {"from": "things", "to": "moved"}).status_code == 200
    assert lookup(things, body["lease_id"]).status_code == 400
    assert things.get("moved/creds/r").json()["lease_id"].startswith("moved/creds/r/")


def test_a_wrapped_secret_keeps_its_lease(things: VaultHTTP):
    reply = things.get("things/creds/r", headers={"X-Vault-Wrap-TTL": "60"})
    wrap_token = reply.json()["wrap_info"]["token"]
    unwrapped = things.post("sys/wrapping/unwrap", token=wrap_token).json()
    assert unwrapped["lease_id"].startswith("things/creds/r/")
    assert lookup(things, unwrapped["lease_id"]).status_code == 200


def test_tidy_revokes_leases_whose_token_is_gone(things: VaultHTTP):
    from chalicelib.core.runtime import runtime
    from chalicelib.tokens import ids

    token = things.post("auth/token/create", {"policies": ["root"]}).json()["auth"]
    body = issue(things, token=token["client_token"])
    rt = runtime()
    lease = rt.barrier.get("sys/expire/id/" + body["lease_id"])
    assert lease is not None
    # Lose the token without its revocation running (as a crash would).
    import json

    salted = json.loads(lease.value)["token"]
    rt.barrier.delete(ids.salted_key(salted))
    reply = things.post("sys/leases/tidy")
    assert reply.status_code == 202
    assert lookup(things, body["lease_id"]).status_code == 400
    assert body["data"]["id"] in engine_state(things)[1]


def test_tokens_are_leases_too(vault: VaultHTTP):
    auth = vault.post("auth/token/create", {"policies": ["default"], "ttl": "1h"}).json()["auth"]
    keys = vault.list("sys/leases/lookup/auth/token/create/").json()["data"]["keys"]
    assert len(keys) == 1
    lease_id = "auth/token/create/" + keys[0]
    data = lookup(vault, lease_id).json()["data"]
    assert data["path"] == "auth/token/create" and data["renewable"] is True
    assert 3590 <= data["ttl"] <= 3600
    reply = vault.post("sys/leases/renew", {"lease_id": lease_id})
    assert reply.json() == {"errors": ["tokens cannot be renewed through this endpoint"]}
    assert vault.post("sys/leases/revoke", {"lease_id": lease_id}).status_code == 204
    assert vault.get("auth/token/lookup-self", token=auth["client_token"]).status_code == 403
    assert lookup(vault, lease_id).status_code == 400


def test_revoke_prefix_revokes_the_tokens_created_there(vault: VaultHTTP):
    tokens = [vault.post("auth/token/create", {"ttl": "1h"}).json()["auth"] for _ in range(2)]
    assert vault.post("sys/leases/revoke-prefix/auth/token/create").status_code == 204
    for auth in tokens:
        assert vault.get("auth/token/lookup-self", token=auth["client_token"]).status_code == 403
    assert vault.get("auth/token/lookup-self").status_code == 200  # root: auth/token/root

"""sys/init, seal-status, health, leader, seal, unseal, rotate and key-status."""

from __future__ import annotations

import pytest

from tests.support import VaultHTTP, reset_process_state


def _init(client: VaultHTTP, shares: int = 3, threshold: int = 2) -> dict:
    reply = client.put("sys/init", {"recovery_shares": shares, "recovery_threshold": threshold})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_uninitialised_server_reports_itself(fresh: VaultHTTP) -> None:
    assert fresh.get("sys/init").json() == {"initialized": False}
    status = fresh.get("sys/seal-status").json()
    assert status["initialized"] is False and status["sealed"] is True
    assert status["type"] == "awskms" and status["recovery_seal"] is True
    assert fresh.get("sys/health").status_code == 501
    assert fresh.get("sys/health", params={"uninitcode": 299}).status_code == 299
    assert fresh.get("sys/mounts", token="x").status_code == 503


def test_init_returns_recovery_keys_once_and_refuses_twice(fresh: VaultHTTP) -> None:
    body = _init(fresh)
    assert len(body["recovery_keys"]) == len(body["recovery_keys_base64"]) == 3
    assert body["keys"] == [] and body["root_token"].startswith("s.")
    assert fresh.get("sys/init").json() == {"initialized": True}
    again = fresh.put("sys/init", {"recovery_shares": 1, "recovery_threshold": 1})
    assert again.status_code == 400
    assert again.json() == {"errors": ["Vault is already initialized"]}
    fresh.token = body["root_token"]
    assert fresh.get("sys/mounts").status_code == 200


@pytest.mark.parametrize(("shares", "threshold"), [(3, 4), (0, 0), (3, 1), (256, 3)])
def test_init_validates_share_counts(fresh: VaultHTTP, shares: int, threshold: int) -> None:
    reply = fresh.put("sys/init", {"recovery_shares": shares, "recovery_threshold": threshold})
    assert reply.status_code == 400
    assert fresh.get("sys/init").json() == {"initialized": False}


def test_health_codes_follow_query_parameters(vault: VaultHTTP) -> None:
    healthy = vault.get("sys/health", token="")
    assert healthy.status_code == 200
    body = healthy.json()
    assert body["initialized"] is True and body["sealed"] is False and body["standby"] is False
    assert vault.get("sys/health", params={"activecode": 204}).status_code == 204
    assert vault.request("HEAD", "sys/health").status_code == 200
    vault.put("sys/seal")
    assert vault.get("sys/health").status_code == 503
    assert vault.get("sys/health", params={"sealedcode": 200}).status_code == 200


def test_leader_is_served_without_a_token(vault: VaultHTTP) -> None:
    body = vault.get("sys/leader", token="").json()
    assert body["ha_enabled"] is False


def test_seal_needs_a_token_then_refuses_everything_but_status(fresh: VaultHTTP) -> None:
    body = _init(fresh)
    fresh.token = body["root_token"]
    assert fresh.put("sys/seal", token="").status_code == 403
    assert fresh.put("sys/seal").status_code == 204
    assert fresh.get("sys/seal-status").json()["sealed"] is True
    sealed = fresh.get("sys/mounts")
    assert sealed.status_code == 503
    assert sealed.json() == {"errors": ["Vault is sealed"]}


def test_unseal_with_a_threshold_of_recovery_shares(fresh: VaultHTTP) -> None:
    body = _init(fresh)
    fresh.token = body["root_token"]
    fresh.put("sys/seal")
    first = fresh.put("sys/unseal", {"key": body["recovery_keys"][0]}).json()
    assert first["sealed"] is True and first["progress"] == 1 and first["nonce"]
    second = fresh.put("sys/unseal", {"key": body["recovery_keys_base64"][2]}).json()
    assert second["sealed"] is False and second["progress"] == 0
    assert fresh.get("sys/mounts").status_code == 200


def test_unseal_reset_and_wrong_shares(fresh: VaultHTTP) -> None:
    body = _init(fresh)
    other = fresh  # the same server; the wrong key comes from a second split below
    fresh.token = body["root_token"]
    fresh.put("sys/seal")
    fresh.put("sys/unseal", {"key": body["recovery_keys"][0]})
    reset = fresh.put("sys/unseal", {"reset": True}).json()
    assert reset["progress"] == 0
    fresh.put("sys/unseal", {"key": body["recovery_keys"][0]})
    wrong = other.put("sys/unseal", {"key": "00" * 33})
    assert wrong.status_code == 400
    assert fresh.get("sys/seal-status").json()["sealed"] is True
    bad = fresh.put("sys/unseal", {"key": "not hex or base64!"})
    assert bad.status_code == 400


def test_rotate_adds_a_term_and_old_values_still_read(vault: VaultHTTP) -> None:
    assert vault.get("sys/key-status").json()["data"]["term"] == 1
    tuned = vault.post("sys/mounts/cubbyhole/tune", {"description": "before rotate"})
    assert tuned.status_code == 204
    assert vault.post("sys/rotate").status_code == 204
    assert vault.get("sys/key-status").json()["data"]["term"] == 2
    reset_process_state()  # a new container: nothing cached
    tune = vault.get("sys/mounts/cubbyhole/tune").json()
    assert tune["data"]["description"] == "before rotate"
    assert vault.get("sys/key-status").json()["data"]["term"] == 2


def test_seal_is_answered_as_openbaos_http_layer_does(vault: VaultHTTP) -> None:
    for method in ("GET", "DELETE"):  # before any token check
        reply = vault.request(method, "sys/seal", token="")
        assert (reply.status_code, reply.json()) == (405, {"errors": []})
    assert vault.put("sys/seal").status_code == 204
    # Already sealed: nothing to do, and no token to check.
    for token in ("", "not-a-token"):
        reply = vault.request("POST", "sys/seal", token=token)
        assert (reply.status_code, reply.text) == (204, "")
    reply = vault.request("GET", "sys/seal")
    assert (reply.status_code, reply.json()) == (405, {"errors": []})

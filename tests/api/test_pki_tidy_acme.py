"""pki tidy with tidy_acme over HTTP, as OpenBao 2.7.2's doTidyAcme: unused accounts past
acme_account_safety_buffer revoked, then deleted; expired orders removed with their
authorizations and certificate trackers; old EAB keys and dead nonce folders dropped; the
acme_* tidy-status counters; auto-tidy through the scheduled job; a tidy that runs out of
time in the ACME pass resumed by the next run. Expiry is reached by backdating stored items
(as OpenBao's own tests do) instead of waiting days."""
# The fixture dev_acme comes from test_pki_acme, imported by name:
# ruff: noqa: F811

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib import jobs
from chalicelib.engines.pki import tidy
from chalicelib.engines.pki.acme import state
from chalicelib.storage.view import StorageView
from tests.api.test_pki_acme import (  # noqa: F401
    AcmeClient,
    csr_der,
    dev_acme,
    enable_acme,
    problem_of,
    ready_order,
)
from tests.api.test_pki_tidy import _view
from tests.support import VaultHTTP

DAY = 24 * 3600
_ACME_COUNTERS = ("total_acme_account_count", "acme_account_revoked_count",
                  "acme_account_deleted_count", "acme_orders_deleted_count")


@pytest.fixture
def directory(vault: VaultHTTP, server: str, dev_acme: dict[str, int]) -> str:
    return f"{enable_acme(vault, server)}/roles/web/acme/directory"


def _kid(client: AcmeClient) -> str:
    return client.kid.rsplit("/", 1)[1]


def _order_id(body: dict[str, Any]) -> str:
    return str(body["finalize"].split("/order/")[1].split("/")[0])


def _backdate(view: StorageView, key: str, change: Callable[[dict[str, Any]], None]) -> None:
    raw = view.get_json(key)
    assert raw is not None, key
    change(raw)
    view.put_json(key, raw)


def _age_account(view: StorageView, client: AcmeClient, seconds: int) -> None:
    def older(raw: dict[str, Any]) -> None:
        raw["created"] -= seconds
        if raw["deactivated"]:
            raw["deactivated"] -= seconds
    _backdate(view, state.ACCOUNT_PREFIX + _kid(client), older)


def _tidy(vault: VaultHTTP, **options: Any) -> dict[str, Any]:
    reply = vault.post("pki/tidy", {"tidy_acme": True, **options})
    assert reply.status_code == 202, reply.text
    status = vault.get("pki/tidy-status").json()["data"]
    assert status["state"] == "Finished", status
    return status


def _counters(status: dict[str, Any]) -> tuple[int, ...]:
    return tuple(status[name] for name in _ACME_COUNTERS)


def test_unused_account_is_revoked_then_deleted(vault: VaultHTTP, directory: str) -> None:
    unused, busy = AcmeClient(directory), AcmeClient(directory)
    assert unused.register().status_code == 201
    assert busy.register().status_code == 201
    assert busy.order("localhost").status_code == 201  # pending, not expired: kept
    view = _view()
    for client in (unused, busy):
        _age_account(view, client, 31 * DAY)
    status = _tidy(vault)
    assert _counters(status) == (2, 1, 0, 0)
    assert status["acme_account_safety_buffer"] == 30 * DAY
    assert status["tidy_acme"] is True and status["message"] is None
    # Revoked: every signed request is refused, as OpenBao.
    assert problem_of(unused.order("localhost")) == (
        401, "unauthorized", "the client lacks sufficient authorization: account in status: "
        "revoked")
    assert busy.order("localhost").status_code == 201
    # Not yet revoked for the buffer: kept.
    assert _counters(_tidy(vault)) == (2, 0, 0, 0)
    _age_account(view, unused, 31 * DAY)
    assert _counters(_tidy(vault)) == (2, 0, 1, 0)
    assert view.get(state.ACCOUNT_PREFIX + _kid(unused)) is None
    assert view.get(state.THUMBPRINT_PREFIX + unused.thumbprint) is None
    # The key is free again: a new account, as OpenBao.
    again = AcmeClient(directory, unused.key)
    assert again.register().status_code == 201
    assert _kid(again) != _kid(unused)


def test_deactivated_account_is_deleted_and_a_short_buffer_applies(vault: VaultHTTP,
                                                                    directory: str) -> None:
    client = AcmeClient(directory)
    assert client.register().status_code == 201
    assert client.post(client.kid, {"status": "deactivated"}).status_code == 200
    time.sleep(2.1)
    status = _tidy(vault, acme_account_safety_buffer="1s")
    assert _counters(status) == (1, 0, 1, 0)
    assert status["acme_account_safety_buffer"] == 1


def test_expired_orders_go_with_their_authorizations(vault: VaultHTTP, directory: str,
                                                     dev_acme: dict[str, int]) -> None:
    client = AcmeClient(directory)
    assert client.register().status_code == 201
    kid = _kid(client)
    pending = client.order("localhost").json()
    issued = ready_order(client, "localhost", dev_acme["http"])
    final = client.post(issued["finalize"], {"csr": csr_der(["localhost"])})
    assert final.json()["status"] == "valid", final.text
    fresh = client.order("example.test").json()
    view = _view()
    ids = {"pending": _order_id(pending), "issued": _order_id(issued),
           "fresh": _order_id(fresh)}
    issued_order = view.get_json(f"{state.ORDER_PREFIX}{kid}/{ids['issued']}")
    assert issued_order is not None and issued_order["certificate_expiry"] > time.time()
    serial = issued_order["certificate_serial"]
    assert view.get(state.CERT_ACCOUNT_PREFIX + serial) is not None

    def expire(key: str, field: str) -> None:
        _backdate(view, key, lambda raw: raw.update({field: int(time.time()) - 10}))
    expire(f"{state.ORDER_PREFIX}{kid}/{ids['pending']}", "expires")
    expire(f"{state.ORDER_PREFIX}{kid}/{ids['issued']}", "certificate_expiry")
    # The certificate expired 10s ago: kept under a longer safety_buffer, gone under 5s.
    assert _counters(_tidy(vault, safety_buffer="1h")) == (1, 0, 0, 1)
    assert _counters(_tidy(vault, safety_buffer="5s")) == (1, 0, 0, 1)
    left = set(state.order_ids(view, kid))
    assert left == {ids["fresh"]}
    authz = {f"{state.AUTHZ_PREFIX}{kid}/{a.rsplit('/', 1)[1]}": name
             for name, body in (("pending", pending), ("issued", issued), ("fresh", fresh))
             for a in body["authorizations"]}
    assert {name for key, name in authz.items() if view.get(key) is not None} == {"fresh"}
    assert view.get(state.CERT_ACCOUNT_PREFIX + serial) is None
    # The account is young and still has an order: valid, and it remembers the latest expiry.
    account = view.get_json(state.ACCOUNT_PREFIX + kid)
    assert account is not None and account["status"] == "valid"
    fresh_order = view.get_json(f"{state.ORDER_PREFIX}{kid}/{ids['fresh']}")
    assert fresh_order is not None and account["max_cert_expiry"] == fresh_order["expires"]
    orders = client.post(f"{client.kid}/orders").json()["orders"]
    assert [url.rsplit("/", 1)[1] for url in orders] == [ids["fresh"]]


def test_old_eab_keys_and_dead_nonces_go(vault: VaultHTTP, directory: str) -> None:
    old, new = (vault.post("pki/acme/new-eab").json()["data"]["id"] for _ in range(2))
    view = _view()
    _backdate(view, state.EAB_PREFIX + old, lambda raw: raw.update(
        created_on=raw["created_on"] - 31 * DAY))
    past_hour = int(time.time()) // 3600 - 2
    view.put(f"{state.NONCE_PREFIX}{past_hour}/00ff", b"")
    AcmeClient(directory).new_nonce()  # this hour's: still redeemable, kept
    _tidy(vault)
    assert set(state.eab_ids(view)) == {new}
    assert [k.rstrip("/") for k in view.list(state.NONCE_PREFIX)] == [
        str(int(time.time()) // 3600)]
    assert vault.list("pki/eab").json()["data"]["keys"] == [new]


def test_without_tidy_acme_nothing_is_touched(vault: VaultHTTP, directory: str) -> None:
    client = AcmeClient(directory)
    assert client.register().status_code == 201
    _age_account(_view(), client, 31 * DAY)
    reply = vault.post("pki/tidy", {"tidy_cert_store": True})
    assert reply.status_code == 202
    status = vault.get("pki/tidy-status").json()["data"]
    assert status["tidy_acme"] is False and _counters(status) == (0, 0, 0, 0)
    assert client.order("localhost").status_code == 201


def test_auto_tidy_runs_tidy_acme(vault: VaultHTTP, directory: str) -> None:
    client = AcmeClient(directory)
    assert client.register().status_code == 201
    body = {"enabled": True, "interval_duration": "1h", "tidy_acme": True,
            "acme_account_safety_buffer": "1s"}
    reply = vault.post("pki/config/auto-tidy", body).json()["data"]
    assert (reply["tidy_acme"], reply["acme_account_safety_buffer"]) == (True, 1)
    time.sleep(2.1)
    assert jobs.run(jobs.PKI_TIDY) is True
    status = vault.get("pki/tidy-status").json()["data"]
    assert status["state"] == "Finished" and _counters(status) == (1, 1, 0, 0)
    assert problem_of(client.order("localhost"))[1] == "unauthorized"


def test_acme_pass_out_of_time_resumes(vault: VaultHTTP, directory: str) -> None:
    view = _view()
    for _ in range(7):
        client = AcmeClient(directory)
        assert client.register().status_code == 201
        _age_account(view, client, 31 * DAY)
    config = tidy.TidyConfig(tidy_acme=True, page_size=5, pause_duration="300ms")
    assert tidy.start(view, config, auto=False, now=time.time())
    seen = []
    for _ in range(20):  # each run does one page: its deadline passes during the pause
        tidy.run(view, time.time() + 0.05)
        status, _ = tidy.read_status(view)
        assert status is not None
        seen.append((status.phase, status.total_acme_account_count))
        if status.state == "Finished":
            break
    assert ("acme", 5) in seen and seen[-1] == ("done", 7)
    final = vault.get("pki/tidy-status").json()["data"]
    assert _counters(final) == (7, 7, 0, 0)

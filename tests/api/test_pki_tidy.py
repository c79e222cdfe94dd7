"""pki tidy over HTTP and the tidy-pki job: expired certificates and expired revoked
entries removed (and gone from the next CRL), tidy-status and config/auto-tidy as OpenBao
2.7.2 shows them, auto-tidy run by the scheduled job, a tidy that ran out of time resumed by
the next run, one runner per mount, tidy-cancel."""

from __future__ import annotations

import threading
import time

import pytest

from chalicelib import jobs
from chalicelib.core.runtime import runtime
from chalicelib.engines.pki import tidy
from chalicelib.storage.view import StorageView
from tests.api.pki_revocation_support import as_int, crl_of, issue, mount_with_root, serials
from tests.support import VaultHTTP


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def _view(mount: str = "pki/") -> StorageView:
    rt = runtime()
    entry = next(m for m in rt.mounts.entries if m.path == mount)
    return StorageView(rt.barrier, entry.storage_prefix)


def _stored(vault: VaultHTTP) -> set[str]:
    reply = vault.list("pki/certs")
    return set(reply.json()["data"]["keys"]) if reply.status_code == 200 else set()


def _revoked(vault: VaultHTTP) -> set[str]:
    reply = vault.list("pki/certs/revoked")
    return set(reply.json()["data"]["keys"]) if reply.status_code == 200 else set()


def test_tidy_removes_expired_certificates_and_revocations(pki: VaultHTTP) -> None:
    # Revoked however close to its expiry the revoke lands.
    assert pki.post("pki/config/crl", {"allow_expired_cert_revocation": True}).status_code == 200
    short = issue(pki, "s.example.com", ttl="2s")["data"]["serial_number"]
    revoked_short = issue(pki, "rs.example.com", ttl="2s")["data"]["serial_number"]
    kept = issue(pki, "k.example.com")["data"]["serial_number"]
    assert pki.post("pki/revoke", {"serial_number": revoked_short}).status_code == 200
    assert as_int(revoked_short) in serials(crl_of(pki))
    time.sleep(3.2)  # both short ones expire, plus a second of safety buffer
    reply = pki.post("pki/tidy", {"tidy_cert_store": True, "tidy_revoked_certs": True,
                                  "safety_buffer": "1s"})
    assert reply.status_code == 202
    assert reply.json()["warnings"] == [
        "Tidy operation successfully started. Any information from the operation will be "
        "printed to OpenBao's server logs."]
    status = pki.get("pki/tidy-status").json()["data"]
    assert status["state"] == "Finished", status
    assert (status["cert_store_deleted_count"], status["revoked_cert_deleted_count"]) == (2, 1)
    assert status["safety_buffer"] == 1 and status["revoked_safety_buffer"] == 1
    assert status["time_finished"] and status["last_auto_tidy_finished"]
    assert short not in _stored(pki) and revoked_short not in _stored(pki)
    assert kept in _stored(pki)
    assert _revoked(pki) == set()
    assert as_int(revoked_short) not in serials(crl_of(pki))


def test_tidy_texts_and_shapes_as_openbao(pki: VaultHTTP) -> None:
    status = pki.get("pki/tidy-status").json()["data"]
    assert status["state"] == "Inactive" and status["time_started"] is None
    assert "last_auto_tidy_finished" not in status
    assert pki.post("pki/tidy", {"safety_buffer": 0}).json()["errors"] == [
        "safety_buffer must be greater than zero"]
    assert pki.post("pki/tidy", {"page_size": 3}).json()["errors"] == [
        "page_size must be greater than five"]
    nothing = pki.post("pki/tidy", {})
    assert nothing.status_code == 202
    assert nothing.json()["warnings"] == [
        f"Manual tidy requested but no tidy operations were set. Enable at least one tidy "
        f"operation to be run ({tidy.ANY_TIDY})."]
    assert pki.post("pki/tidy-cancel").json()["warnings"] == [
        "Tidy operation cannot be cancelled as none is currently running."]
    assert pki.get("pki/config/auto-tidy").json()["data"]["interval_duration"] == 43200
    refusals = [
        ({"enabled": True}, "Auto-tidy enabled but no tidy operations were requested. Enable "
         f"at least one tidy operation to be run ({tidy.ANY_TIDY})."),
        ({"interval_duration": -1}, "given interval_duration must be greater than or equal "
         "to zero seconds; got: -1"),
        ({"page_size": 2}, "page_size must be at least 5"),
        ({"publish_stored_certificate_count_metrics": True},
         "Can not publish a running storage metrics count to metrics without first "
         "maintaining that count.  Enable `maintain_stored_certificate_counts` to enable "
         "`publish_stored_certificate_count_metrics`."),
    ]
    for body, text in refusals:
        reply = pki.post("pki/config/auto-tidy", body)
        assert (reply.status_code, reply.json()["errors"]) == (400, [text]), body


def test_the_job_runs_auto_tidy_when_due(pki: VaultHTTP) -> None:
    expired = issue(pki, "s.example.com", ttl="2s")["data"]["serial_number"]
    body = {"enabled": True, "interval_duration": "1h", "tidy_cert_store": True,
            "safety_buffer": "1s"}
    assert pki.post("pki/config/auto-tidy", body).json()["data"]["enabled"] is True
    time.sleep(3.2)
    assert jobs.run(jobs.PKI_TIDY) is True
    assert expired not in _stored(pki)
    status = pki.get("pki/tidy-status").json()["data"]
    assert (status["state"], status["cert_store_deleted_count"]) == ("Finished", 1)
    issue(pki, "t.example.com", ttl="2s")
    time.sleep(3.2)
    jobs.run(jobs.PKI_TIDY)  # not due again for an hour
    assert pki.get("pki/tidy-status").json()["data"]["cert_store_deleted_count"] == 1


def test_a_tidy_out_of_time_is_resumed_by_the_next_run(pki: VaultHTTP) -> None:
    for n in range(7):
        issue(pki, f"e{n}.example.com", ttl="2s")
    time.sleep(3.2)
    view = _view()
    config = tidy.TidyConfig(tidy_cert_store=True, safety_buffer=1, page_size=5)
    assert tidy.start(view, config, auto=False, now=time.time())
    # A runner whose deadline passes after one page leaves a resumable status.
    deadline = time.time() + 0.0
    tidy.run(view, deadline)
    status, _ = tidy.read_status(view)
    assert status is not None and status.state == "Running" and status.claimed_until == 0.0
    assert jobs.run(jobs.PKI_TIDY) is True
    final = pki.get("pki/tidy-status").json()["data"]
    assert (final["state"], final["cert_store_deleted_count"]) == ("Finished", 7)


def test_one_runner_per_mount_and_cancel(pki: VaultHTTP) -> None:
    view = _view()
    config = tidy.TidyConfig(tidy_cert_store=True, pause_duration="1s", page_size=5)
    for n in range(6):
        issue(pki, f"p{n}.example.com")
    assert tidy.start(view, config, auto=False, now=time.time())
    assert pki.post("pki/tidy", {"tidy_cert_store": True}).json()["warnings"] == [
        "Tidy operation already in progress."]
    ran: list[bool] = []
    first = threading.Thread(target=lambda: ran.append(tidy.run(view, time.time() + 30)))
    first.start()
    time.sleep(0.5)  # the first runner holds the claim and pauses between pages
    assert tidy.run(view, time.time() + 30) is False
    cancelled = pki.post("pki/tidy-cancel").json()["data"]
    assert cancelled["state"] == "Cancelling"
    first.join()
    assert ran == [True]
    assert pki.get("pki/tidy-status").json()["data"]["state"] == "Cancelled"


def test_tidy_repairs_revocations_whose_issuer_is_gone(pki: VaultHTTP) -> None:
    other = pki.post("pki/root/generate/internal", {"common_name": "Other", "key_type": "ec",
                                                    "issuer_name": "other", "ttl": "24h"})
    assert other.status_code == 200
    serial = pki.post("pki/issuer/other/issue/web",
                      {"common_name": "o.example.com"}).json()["data"]["serial_number"]
    pki.post("pki/revoke", {"serial_number": serial})
    assert pki.delete("pki/issuer/other").status_code in (200, 204)
    reply = pki.post("pki/tidy", {"tidy_revoked_cert_issuer_associations": True})
    assert reply.status_code == 202
    status = pki.get("pki/tidy-status").json()["data"]
    assert (status["state"], status["missing_issuer_cert_count"]) == ("Finished", 1)
    assert pki.get(f"pki/cert/{serial}").json()["data"]["issuer_id"] == ""

"""The tidy settings beyond the certificate store, as OpenBao 2.7.2's path_tidy.go:
tidy_expired_issuers (issuer_safety_buffer; the default issuer and every key stay),
tidy_invalid_certs (entries whose certificate does not parse), the stored certificate
counts of maintain_stored_certificate_counts / publish_stored_certificate_count_metrics
(counted by a listing pass, counts.py) and tidy_move_legacy_ca_bundle (never a legacy
bundle here: tidy-status says so)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib import jobs
from chalicelib.core.runtime import runtime
from chalicelib.engines.pki import counts, storage, tidy
from chalicelib.storage.view import StorageView
from tests.api.pki_revocation_support import issue, mount_with_root
from tests.support import VaultHTTP


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def _view() -> StorageView:
    rt = runtime()
    mount = next(m for m in rt.mounts.entries if m.path == "pki/")
    return StorageView(rt.barrier, mount.storage_prefix)


def tidied(vault: VaultHTTP, **body: Any) -> dict[str, Any]:
    assert vault.post("pki/tidy", body).status_code == 202
    reply = vault.get("pki/tidy-status").json()
    assert reply["data"]["state"] == "Finished", reply
    return dict(reply)


def _issuer_names(vault: VaultHTTP) -> set[str]:
    info = vault.list("pki/issuers").json()["data"]["key_info"]
    return {entry["issuer_name"] for entry in info.values()}


def test_expired_issuers_go_but_not_the_default_nor_keys(pki: VaultHTTP) -> None:
    for name in ("old", "current"):
        reply = pki.post("pki/root/generate/internal",
                         {"common_name": name, "key_type": "ec", "issuer_name": name,
                          "ttl": "2s" if name == "old" else "1h"})
        assert reply.status_code == 200, reply.text
    keys_before = pki.list("pki/keys").json()["data"]["keys"]
    time.sleep(3.1)
    status = tidied(pki, tidy_expired_issuers=True, issuer_safety_buffer="1h")["data"]
    assert status["tidy_expired_issuers"] is True and status["issuer_safety_buffer"] == 3600
    assert "old" in _issuer_names(pki)  # within its safety buffer
    tidied(pki, tidy_expired_issuers=True, issuer_safety_buffer="1s")
    assert "old" not in _issuer_names(pki) and "current" in _issuer_names(pki)
    assert pki.list("pki/keys").json()["data"]["keys"] == keys_before
    assert pki.get("pki/crl").status_code == 200


def test_an_expired_default_issuer_stays(vault: VaultHTTP) -> None:
    assert vault.post("sys/mounts/pki", {"type": "pki"}).status_code == 204
    reply = vault.post("pki/root/generate/internal",
                       {"common_name": "short", "key_type": "ec", "issuer_name": "short",
                        "ttl": "2s"})
    assert reply.status_code == 200
    time.sleep(3.1)
    tidied(vault, tidy_expired_issuers=True, issuer_safety_buffer="1s")
    assert _issuer_names(vault) == {"short"}


def test_invalid_entries_go_only_with_tidy_invalid_certs(pki: VaultHTTP) -> None:
    kept = issue(pki)["data"]["serial_number"]
    view = _view()
    view.put(storage.CERTS_PREFIX + "01-02", b"not json")
    view.put_json(storage.REVOKED_PREFIX + "01-03", {"certificate": "junk", "expiration": 1})
    status = tidied(pki, tidy_cert_store=True, tidy_revoked_certs=True,
                    safety_buffer="1s")["data"]
    assert (status["cert_store_deleted_count"], status["revoked_cert_deleted_count"]) == (0, 0)
    assert view.get(storage.CERTS_PREFIX + "01-02") is not None
    status = tidied(pki, tidy_invalid_certs=True)["data"]
    assert (status["cert_store_deleted_count"], status["revoked_cert_deleted_count"]) == (1, 1)
    assert view.get(storage.CERTS_PREFIX + "01-02") is None
    assert view.get(storage.REVOKED_PREFIX + "01-03") is None
    assert kept in pki.list("pki/certs").json()["data"]["keys"]


def _counts(vault: VaultHTTP) -> tuple[Any, Any, list[str]]:
    reply = vault.get("pki/tidy-status").json()
    data = reply["data"]
    return (data["current_cert_store_count"], data["current_revoked_cert_count"],
            reply.get("warnings") or [])


def test_stored_certificate_counts(pki: VaultHTTP, capsys: pytest.CaptureFixture[str]) -> None:
    assert _counts(pki) == (None, None, [])
    body = {"maintain_stored_certificate_counts": True,
            "publish_stored_certificate_count_metrics": True}
    assert pki.post("pki/config/auto-tidy", body).status_code == 200
    assert _counts(pki) == (0, 0, [counts.STILL_COUNTING])
    serial = issue(pki)["data"]["serial_number"]
    stored = len(pki.list("pki/certs").json()["data"]["keys"])  # the root and the leaf
    capsys.readouterr()
    assert jobs.run(jobs.PKI_TIDY) is True
    assert _counts(pki) == (stored, 0, [])
    gauges = [json.loads(line) for line in capsys.readouterr().out.splitlines()
              if "total_certificates_stored" in line]
    assert [(g["total_certificates_stored"], g["total_revoked_certificates_stored"])
            for g in gauges] == [(stored, 0)]
    assert pki.post("pki/revoke", {"serial_number": serial}).status_code == 200
    issue(pki, "b.example.com")
    assert _counts(pki) == (stored, 0, [])  # until the next pass
    tidied(pki, tidy_revoked_cert_issuer_associations=True)
    assert _counts(pki) == (stored + 1, 1, [])
    pki.post("pki/config/auto-tidy", {"maintain_stored_certificate_counts": False,
                                      "publish_stored_certificate_count_metrics": False})
    assert _counts(pki) == (None, None, [])


def test_no_legacy_bundle_to_move_is_said(pki: VaultHTTP) -> None:
    reply = tidied(pki, tidy_move_legacy_ca_bundle=True)
    assert reply["data"]["tidy_move_legacy_ca_bundle"] is True
    assert reply["warnings"] == [tidy.LEGACY_BUNDLE]
    reply = tidied(pki, tidy_cert_store=True)
    assert not reply.get("warnings")

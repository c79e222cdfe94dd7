"""delta_rebuild_interval over HTTP, as OpenBao 2.7.2: under auto_rebuild with delta CRLs a
revocation reaches the delta CRL once the interval has passed since the last one (the
scheduled job builds it whether or not anyone reads; a reader past the interval too), the
complete CRL only at its grace period or crl/rotate, crl/rotate-delta at once."""

from __future__ import annotations

import time

import pytest
from cryptography import x509

from chalicelib import jobs
from chalicelib.core.runtime import runtime
from chalicelib.engines.pki import crl
from chalicelib.storage.view import StorageView
from tests.api.pki_revocation_support import as_int, crl_of, issue, mount_with_root, serials
from tests.support import VaultHTTP


@pytest.fixture
def pki(vault: VaultHTTP) -> VaultHTTP:
    mount_with_root(vault)
    return vault


def _deltas(vault: VaultHTTP, interval: str) -> None:
    body = {"auto_rebuild": True, "enable_delta": True, "delta_rebuild_interval": interval}
    reply = vault.post("pki/config/crl", body)
    assert reply.json()["data"]["delta_rebuild_interval"] == interval, reply.text


def _revoked(vault: VaultHTTP) -> int:
    serial = issue(vault)["data"]["serial_number"]
    assert vault.post("pki/revoke", {"serial_number": serial}).status_code == 200
    return as_int(serial)


def _stored_delta() -> set[int]:
    """The default issuer's delta CRL as stored (read without any rebuild on the way)."""
    rt = runtime()
    mount = next(m for m in rt.mounts.entries if m.path == "pki/")
    view = StorageView(rt.barrier, mount.storage_prefix)
    state, _, _ = crl.read_state(view)
    assert state is not None
    (issuer_id,) = state.crls
    der = crl.stored_der(view, state, issuer_id, delta=True)
    assert der is not None
    return {entry.serial_number for entry in x509.load_der_x509_crl(der)}


def test_a_revocation_waits_for_the_interval(pki: VaultHTTP) -> None:
    _deltas(pki, "2s")
    crl_of(pki, "pki/crl/delta")
    serial = _revoked(pki)
    assert serials(crl_of(pki, "pki/crl/delta")) == set()
    time.sleep(2.1)
    assert serials(crl_of(pki, "pki/crl/delta")) == {serial}
    assert serial not in serials(crl_of(pki))


def test_the_job_builds_the_delta_nobody_reads(pki: VaultHTTP) -> None:
    _deltas(pki, "3s")
    crl_of(pki, "pki/crl/delta")
    serial = _revoked(pki)
    assert jobs.run(jobs.PKI_TIDY) is True
    assert _stored_delta() == set()
    time.sleep(3.1)
    assert jobs.run(jobs.PKI_TIDY) is True
    assert _stored_delta() == {serial}


def test_rotate_delta_builds_at_once(pki: VaultHTTP) -> None:
    _deltas(pki, "1h")
    crl_of(pki, "pki/crl/delta")
    serial = _revoked(pki)
    assert serials(crl_of(pki, "pki/crl/delta")) == set()
    assert pki.get("pki/crl/rotate-delta").json()["data"] == {"success": True}
    assert serials(crl_of(pki, "pki/crl/delta")) == {serial}
    second = _revoked(pki)
    assert serials(crl_of(pki, "pki/crl/delta")) == {serial}  # not before the hour is out
    assert pki.get("pki/crl/rotate").status_code == 200
    assert serials(crl_of(pki)) == {serial, second}
    assert serials(crl_of(pki, "pki/crl/delta")) == set()


def test_only_complete_crls_name_the_delta_points(pki: VaultHTTP) -> None:
    _deltas(pki, "1h")
    points = {"ocsp_servers": "http://ocsp.example.com",
              "delta_crl_distribution_points": "http://crl.example.com/delta"}
    assert pki.post("pki/config/urls", points).status_code == 200
    assert pki.get("pki/crl/rotate").status_code == 200
    assert pki.get("pki/crl/rotate-delta").status_code == 200
    freshest = crl_of(pki).extensions.get_extension_for_class(x509.FreshestCRL).value
    assert [p.full_name[0].value for p in freshest if p.full_name] == [
        "http://crl.example.com/delta"]
    delta = crl_of(pki, "pki/crl/delta").extensions
    assert delta.get_extension_for_class(x509.DeltaCRLIndicator).critical
    with pytest.raises(x509.ExtensionNotFound):
        delta.get_extension_for_class(x509.FreshestCRL)

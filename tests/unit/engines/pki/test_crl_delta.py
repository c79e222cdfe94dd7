"""delta_rebuild_interval: under auto_rebuild with delta CRLs, a revocation reaches the
delta CRL at the first check once the interval has passed since the last delta build
(the scheduled job's crl.periodic or a reader), never earlier; the complete CRL waits for
its expiry minus the grace period, as in OpenBao."""

from __future__ import annotations

import datetime

from cryptography import x509

from chalicelib.engines.pki import certs, crl, issuers, revocation
from chalicelib.engines.pki.crl_config import CRL_CONFIG, CrlConfig
from chalicelib.engines.pki.keytypes import KeySpec, generate
from chalicelib.engines.pki.validity import now
from chalicelib.engines.pki.x509build import Params, build_certificate
from chalicelib.storage.view import StorageView
from tests.unit.engines.pki.support import self_signed


def _setup(view: StorageView, interval: str) -> tuple[str, x509.Certificate]:
    """A root and one stored leaf under auto_rebuild with delta CRLs every ``interval``."""
    view.put_json(CRL_CONFIG, CrlConfig(auto_rebuild=True, enable_delta=True,
                                        delta_rebuild_interval=interval).to_storage())
    ca, key = self_signed("root")
    stored = issuers.store(view, ca, key)
    assert stored.issuer
    start = now()
    params = Params(ca.subject, start, start + datetime.timedelta(hours=1))
    leaf = build_certificate(params, generate(KeySpec("ec", 256, 0)).public_key(), key, ca)
    certs.store_certificate(view, leaf, stored.issuer.id)
    return stored.issuer.id, leaf


def _stored_serials(view: StorageView, issuer_id: str, *, delta: bool) -> set[int]:
    state, _, _ = crl.read_state(view)
    assert state is not None
    der = crl.stored_der(view, state, issuer_id, delta=delta)
    assert der is not None
    return {entry.serial_number for entry in x509.load_der_x509_crl(der)}


def test_the_delta_waits_for_its_interval(view: StorageView) -> None:
    issuer_id, leaf = _setup(view, "10m")
    start = datetime.datetime.now(datetime.UTC)
    crl.ensure_current(view, now=start)  # the first CRLs, and their (empty) delta
    revocation.revoke_certificate(view, leaf)
    assert crl.periodic(view, now=start + datetime.timedelta(minutes=9)) is True
    assert _stored_serials(view, issuer_id, delta=True) == set()
    crl.ensure_current(view, now=start + datetime.timedelta(minutes=9, seconds=59))
    assert _stored_serials(view, issuer_id, delta=True) == set()
    assert crl.periodic(view, now=start + datetime.timedelta(minutes=10, seconds=1))
    assert _stored_serials(view, issuer_id, delta=True) == {leaf.serial_number}
    assert _stored_serials(view, issuer_id, delta=False) == set()


def test_a_reader_after_the_interval_builds_the_delta(view: StorageView) -> None:
    issuer_id, leaf = _setup(view, "1m")
    start = datetime.datetime.now(datetime.UTC)
    crl.ensure_current(view, now=start)
    revocation.revoke_certificate(view, leaf)
    state = crl.ensure_current(view, now=start + datetime.timedelta(minutes=2))
    assert state.delta_generation == state.generation + 1
    assert _stored_serials(view, issuer_id, delta=True) == {leaf.serial_number}


def test_the_job_leaves_mounts_without_auto_rebuild_alone(view: StorageView) -> None:
    _, leaf = _setup(view, "1m")
    view.put_json(CRL_CONFIG, CrlConfig().to_storage())
    assert crl.periodic(view) is False
    assert crl.read_state(view)[0] is None
    revocation.revoke_certificate(view, leaf)  # auto_rebuild off: built before answering
    assert crl.read_state(view)[0] is not None

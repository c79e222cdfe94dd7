"""No lost revocation: containers (threads) revoking at once all land in the stored CRL
before their revoke returns, and forced interleavings (a revocation between a builder's
counter read and its store; a revoker that dies before rebuilding) end in a CRL that has
every revoked serial. See crl.py's docstring for the argument."""

from __future__ import annotations

import datetime
import threading

import pytest
from cryptography import x509

from chalicelib.engines.pki import certs, crl, issuers, revocation
from chalicelib.engines.pki.keytypes import KeySpec, generate
from chalicelib.engines.pki.validity import now
from chalicelib.engines.pki.x509build import Params, build_certificate, serial_text
from chalicelib.storage.view import StorageView
from tests.unit.engines.pki.support import self_signed


def _mount(view: StorageView, count: int) -> tuple[str, list[str]]:
    """A root and ``count`` stored leaves: the issuer id and the leaves' serials."""
    ca, key = self_signed("root")
    stored = issuers.store(view, ca, key)
    assert stored.issuer
    start = now()
    serials = []
    for _ in range(count):
        params = Params(ca.subject, start, start + datetime.timedelta(hours=1))
        leaf = build_certificate(params, generate(KeySpec("ec", 256, 0)).public_key(), key, ca)
        certs.store_certificate(view, leaf, stored.issuer.id)
        serials.append(serial_text(leaf))
    return stored.issuer.id, serials


def _in_stored_crl(view: StorageView, issuer_id: str) -> set[int]:
    """The serials of the CRL as stored now (no rebuild on the way)."""
    state, _, _ = crl.read_state(view)
    assert state is not None
    der = crl.stored_der(view, state, issuer_id, delta=False)
    assert der is not None
    return {entry.serial_number for entry in x509.load_der_x509_crl(der)}


def _as_int(serial: str) -> int:
    return int(serial.replace(":", ""), 16)


@pytest.mark.usefixtures("atomic_calls")
def test_racing_revocations_all_reach_the_stored_crl(view: StorageView) -> None:
    issuer_id, serials = _mount(view, 8)
    errors: list[BaseException] = []

    def revoke(serial: str) -> None:
        try:
            revocation.revoke_serial(view, serial)
        except BaseException as error:  # reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=revoke, args=(s,)) for s in serials]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # Every revoke returned only once a CRL holding it was stored: no reader needed.
    assert _in_stored_crl(view, issuer_id) == {_as_int(s) for s in serials}
    assert revocation.index_generation(view)[0] == 8


def test_a_revocation_inside_a_build_is_not_overwritten(
    view: StorageView, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer_id, (first, second) = _mount(view, 2)
    real = crl.load_index
    pending = [second]

    def load_index_then_revoke(v: StorageView) -> list[crl.Revoked]:
        listed = real(v)  # this builder's listing lacks `second` ...
        if pending:
            revocation.revoke_serial(v, pending.pop())  # ... which lands and is built now
        return listed

    monkeypatch.setattr(crl, "load_index", load_index_then_revoke)
    revocation.revoke_serial(view, first)
    # The first builder's store lost its conditional write, rebuilt, and kept both.
    assert _in_stored_crl(view, issuer_id) == {_as_int(first), _as_int(second)}


def test_a_revoker_that_dies_before_rebuilding_is_caught_by_the_next_reader(
    view: StorageView, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer_id, (first, second) = _mount(view, 2)
    revocation.revoke_serial(view, first)
    # The second container writes its index item, then dies before its CRL rebuild.
    monkeypatch.setattr(revocation, "ensure_current", lambda *args, **kwargs: None)
    revocation.revoke_serial(view, second)
    assert _in_stored_crl(view, issuer_id) == {_as_int(first)}
    # The index counter moved past the stored CRL: the next reader rebuilds.
    der = crl.crl_der(view, issuer_id, delta=False)
    assert der is not None
    assert {e.serial_number for e in x509.load_der_x509_crl(der)} == {
        _as_int(first), _as_int(second)}


def test_ten_thousand_revoked_serials_are_chunked(view: StorageView) -> None:
    """A CRL larger than one DynamoDB item is stored in chunks and read back whole."""
    issuer_id, _ = _mount(view, 0)
    signer = next(i for i in issuers.all_issuers(view) if i.id == issuer_id)
    key = crl._crl_issuers(view)[0][1]
    moment = now()
    entries = [crl.Revoked(x509.random_serial_number(), issuer_id, moment, 1)
               for _ in range(10_000)]
    der = crl.build_der(signer, key, entries, 1, moment, moment + datetime.timedelta(days=1))
    assert len(der) > crl.CHUNK
    where = crl._store_chunks(view, issuer_id, 1, der)
    assert where[2] == 2
    state = crl.CrlState(crls={issuer_id: {"full": where, "delta": where}})
    assert crl.stored_der(view, state, issuer_id, delta=False) == der


def test_tidy_drops_the_chunks_a_dead_builder_left(view: StorageView) -> None:
    issuer_id, (serial,) = _mount(view, 1)
    revocation.revoke_serial(view, serial)
    state, _, _ = crl.read_state(view)
    assert state is not None
    dead = crl._store_chunks(view, issuer_id, state.number, b"orphan")  # never named
    ahead = crl._store_chunks(view, issuer_id, state.number + 1, b"in flight")
    assert crl.drop_orphans(view) == 1
    assert view.get(crl._chunk_keys(issuer_id, dead)[0]) is None
    assert view.get(crl._chunk_keys(issuer_id, ahead)[0]) is not None
    assert _in_stored_crl(view, issuer_id) == {_as_int(serial)}

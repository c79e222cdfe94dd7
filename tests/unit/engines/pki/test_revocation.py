"""The revocation index: one item per serial created with the index counter, racing
revocations of one serial revoke it once, an issuer's own certificate refused."""

from __future__ import annotations

import datetime
import threading

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki import certs, issuers, revocation
from chalicelib.engines.pki.keytypes import KeySpec, generate
from chalicelib.engines.pki.validity import now
from chalicelib.engines.pki.x509build import Params, build_certificate, serial_text
from chalicelib.storage.view import StorageView
from tests.unit.engines.pki.support import self_signed


def _leaf(view: StorageView, *, hours: int = 1) -> tuple[str, str]:
    ca, key = self_signed("root")
    stored = issuers.store(view, ca, key)
    assert stored.issuer
    subject = ca.subject
    start = now()
    params = Params(subject, start, start + datetime.timedelta(hours=hours))
    leaf = build_certificate(params, generate(KeySpec("ec", 256, 0)).public_key(), key, ca)
    certs.store_certificate(view, leaf, stored.issuer.id)
    return serial_text(leaf), stored.issuer.id


def test_revoke_writes_one_index_item_and_moves_the_counter(view: StorageView) -> None:
    serial, issuer_id = _leaf(view)
    record = revocation.revoke_serial(view, serial)
    assert record.revoked and record.issuer_id == issuer_id and record.generation == 1
    assert revocation.index_generation(view)[0] == 1
    again = revocation.revoke_serial(view, serial.replace(":", "-"))
    assert again.revocation_time == record.revocation_time
    assert revocation.index_generation(view)[0] == 1
    assert view.list("revoked/") == [serial.replace(":", "-")]


def test_unknown_serial_and_issuer_refused(view: StorageView) -> None:
    _, issuer_id = _leaf(view)
    with pytest.raises(BadRequest, match=r"certificate with serial 01:02 not found\."):
        revocation.revoke_serial(view, "01:02")
    issuer = issuers.all_issuers(view)[0]
    certs.store_certificate(view, issuers.load_pem(issuer.certificate), issuer_id)
    with pytest.raises(BadRequest, match=rf"adding issuer \(id: {issuer_id}\) to its own"):
        revocation.revoke_serial(view, issuer.serial_number)


@pytest.mark.usefixtures("atomic_calls")
def test_racing_revocations_of_one_serial_revoke_it_once(view: StorageView) -> None:
    serial, _ = _leaf(view)
    records: list[revocation.RevocationRecord] = []
    threads = [threading.Thread(target=lambda: records.append(
        revocation.revoke_serial(view, serial))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.revocation_time_rfc3339 for r in records}) == 1
    assert revocation.index_generation(view)[0] == 1

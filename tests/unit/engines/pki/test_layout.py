"""The pki storage layout: one item per certificate under certs/<serial>, written once,
and prefixes that cannot collide (revoked/ is reserved for the revocation index)."""

from __future__ import annotations

import pytest

from chalicelib.core import jsonio
from chalicelib.engines.pki import certs
from chalicelib.engines.pki import storage as st
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView
from tests.unit.engines.pki.support import self_signed


def test_serials_are_stored_lowercase_with_hyphens() -> None:
    assert st.normalize_serial("0A:1b:FF") == "0a-1b-ff"
    assert st.colon_serial("0a-1b-ff") == "0a:1b:ff"


def test_prefixes_are_distinct_folders() -> None:
    prefixes = [st.ISSUER_PREFIX, st.KEY_PREFIX, st.ISSUER_NAME_PREFIX, st.KEY_NAME_PREFIX,
                st.KEY_SPKI_PREFIX, st.ISSUER_DER_PREFIX, st.ROLE_PREFIX, st.CERTS_PREFIX,
                st.REVOKED_PREFIX]
    assert len(set(prefixes)) == len(prefixes)
    assert all(p.endswith("/") for p in prefixes)
    assert not any(a != b and b.startswith(a) for a in prefixes for b in prefixes)


def test_one_item_per_certificate_written_once(view: StorageView) -> None:
    cert, _ = self_signed("leaf")
    certs.store_certificate(view, cert, "issuer-id")
    (serial,) = view.list(st.CERTS_PREFIX)
    stored = jsonio.loads(view.get(st.CERTS_PREFIX + serial).value)  # type: ignore[union-attr]
    assert stored["issuer_id"] == "issuer-id"
    assert stored["expiration"] == int(cert.not_valid_after_utc.timestamp())
    assert certs.read_certificate(view, st.colon_serial(serial)) == stored["certificate"]
    with pytest.raises(ConditionFailed):  # a serial is never overwritten
        certs.store_certificate(view, cert, "other")

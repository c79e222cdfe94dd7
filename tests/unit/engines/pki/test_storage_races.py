"""The mount's issuers under concurrent containers: the first issuer becomes the default
exactly once, a lost conditional write is retried on fresh reads, and a name is given
away at most once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from cryptography import x509

from chalicelib.core.errors import BadRequest
from chalicelib.engines.pki import issuers
from chalicelib.engines.pki import storage as st
from chalicelib.storage.view import StorageView
from tests.unit.engines.pki.support import self_signed


def test_a_stale_read_loses_the_default_race_and_is_retried(
    view: StorageView, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = issuers.store(view, *self_signed("a"))
    real = st.read_config
    stale = {"left": 2}  # one stale answer for config/keys and one for config/issuers

    def read_config(v: StorageView, key: str) -> tuple[dict, int]:
        if stale["left"]:
            stale["left"] -= 1
            return {}, 0  # as a container that read before the first issuer was written
        return real(v, key)

    monkeypatch.setattr(st, "read_config", read_config)
    second = issuers.store(view, *self_signed("b"))
    assert first.issuer and second.issuer
    assert st.issuers_config(view)["default"] == first.issuer.id
    assert sorted(i.id for i in issuers.all_issuers(view)) == sorted(
        [first.issuer.id, second.issuer.id])  # the failed attempt left nothing behind


@pytest.mark.usefixtures("atomic_calls")
def test_racing_first_issuers_agree_on_one_default(view: StorageView) -> None:
    material = [self_signed(f"ca-{n}") for n in range(4)]
    results: list[issuers.Stored] = []

    def create(cert: x509.Certificate, key: Any) -> None:
        results.append(issuers.store(view, cert, key))

    threads = [threading.Thread(target=create, args=pair) for pair in material]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {r.issuer.id for r in results if r.issuer}
    assert len(ids) == 4
    assert st.issuers_config(view)["default"] in ids
    assert len(issuers.all_issuers(view)) == 4


@pytest.mark.usefixtures("atomic_calls")
def test_a_name_is_given_away_once(view: StorageView) -> None:
    outcomes: list[str] = []

    def create(cert: x509.Certificate, key: Any) -> None:
        try:
            issuers.store(view, cert, key, issuer_name="shared")
            outcomes.append("ok")
        except BadRequest as error:
            outcomes.append(error.message)

    threads = [threading.Thread(target=create, args=self_signed(f"n{n}")) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["issuer name already in use"] * 2 + ["ok"]
    assert [i.name for i in issuers.all_issuers(view)].count("shared") == 1


@pytest.mark.usefixtures("atomic_calls")
def test_racing_imports_of_one_certificate_add_it_once(view: StorageView) -> None:
    cert, key = self_signed("shared")
    results: list[issuers.Stored] = []
    threads = [threading.Thread(target=lambda: results.append(issuers.store(view, cert, None)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.issuer.id for r in results if r.issuer}) == 1
    assert sorted(r.issuer_existed for r in results) == [False, True, True]
    # The key arriving later is adopted by the issuer that lacked it.
    stored = issuers.store(view, None, key)
    (issuer,) = issuers.all_issuers(view)
    assert stored.key is not None and issuer.key_id == stored.key.id

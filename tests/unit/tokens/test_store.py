"""Token entries as the per-request read returns them: sealed, opened (and memoised) here."""

from __future__ import annotations

import pytest

from chalicelib.storage.barrier import Barrier, BarrierError, Keyring
from chalicelib.storage.physical import Entry
from chalicelib.tokens import ids
from chalicelib.tokens.entry import root_entry
from chalicelib.tokens.store import encode, open_sealed

KEY = "sys/token/id/" + "ab" * 32


def _sealed(barrier: Barrier, key: str, plaintext: bytes, version: int = 1) -> Entry:
    assert barrier.keyring is not None
    return Entry(key, barrier.keyring.encrypt(key, plaintext), version)


def test_each_write_is_opened_anew_and_the_same_bytes_once() -> None:
    barrier = Barrier(physical=None, keyring=Keyring.generate())  # type: ignore[arg-type]
    first, second = root_entry(), root_entry(display_name="other")
    sealed = _sealed(barrier, KEY, encode(first))
    opened = open_sealed(barrier, sealed)
    assert opened == first._replace(key=KEY, version=1)
    assert open_sealed(barrier, sealed) is opened  # the same bytes: the memo
    rewritten = _sealed(barrier, KEY, encode(second), version=2)
    assert open_sealed(barrier, rewritten).display_name == "other"


def test_moved_or_tampered_bytes_are_still_refused() -> None:
    barrier = Barrier(physical=None, keyring=Keyring.generate())  # type: ignore[arg-type]
    sealed = _sealed(barrier, KEY, encode(root_entry()))
    open_sealed(barrier, sealed)  # memoised under its own key only
    with pytest.raises(BarrierError):
        open_sealed(barrier, sealed._replace(key=KEY[:-1] + "c"))
    flipped = sealed.value[:-1] + bytes([sealed.value[-1] ^ 1])
    with pytest.raises(BarrierError):
        open_sealed(barrier, sealed._replace(value=flipped))


def test_the_id_key_memo_is_per_salt() -> None:
    assert ids.id_key(b"1" * 32, "s.token") == ids.id_key(b"1" * 32, "s.token")
    assert ids.id_key(b"1" * 32, "s.token") != ids.id_key(b"2" * 32, "s.token")
    assert ids.id_key(b"1" * 32, "s.token") == ids.ID_PREFIX + ids.salted_id(b"1" * 32, "s.token")

"""Batch tokens open only under their own key, untampered, with their lease derived."""

from __future__ import annotations

import os

from chalicelib.tokens.batch import BatchCodec
from chalicelib.tokens.clock import NANOS
from chalicelib.tokens.entry import TokenEntry


def _entry(**changes: object) -> TokenEntry:
    base = TokenEntry(accessor="", policies=("default", "web"), type="batch",
                      creation_time=1_800_000_000, ttl=600, parent="ab" * 32)
    return base.evolve(**changes)


def test_round_trip_derives_the_lease() -> None:
    codec = BatchCodec(os.urandom(32))
    token = codec.seal(_entry(meta={"k": "v"}))
    assert token.startswith("b.") and "=" not in token
    opened = codec.open(token)
    assert opened is not None
    assert opened.policies == ("default", "web") and opened.meta == {"k": "v"}
    assert opened.issued_ns == 1_800_000_000 * NANOS
    assert opened.expires_ns == (1_800_000_000 + 600) * NANOS
    assert opened.parent == "ab" * 32 and opened.accessor == "" and opened.type == "batch"


def test_tokens_stay_short() -> None:
    token = BatchCodec(os.urandom(32)).seal(_entry())
    assert len(token) < 260


def test_other_keys_tampering_and_junk_are_refused() -> None:
    codec = BatchCodec(os.urandom(32))
    token = codec.seal(_entry())
    assert BatchCodec(os.urandom(32)).open(token) is None
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in [tampered, "b.", "b.!!!", "b.AAAA", "s.abc", token + "x", "hvb." + token[2:-1]]:
        assert codec.open(bad) is None, bad

"""Keyring and Barrier: AES-256-GCM sealing, AD binding, rotation, sealed behaviour."""

import base64

import pytest

from chalicelib.core.errors import EntryTooLarge, Sealed
from chalicelib.storage import (
    Barrier,
    BarrierError,
    ConditionFailed,
    Delete,
    Entry,
    Keyring,
    Put,
)
from chalicelib.storage.barrier import OVERHEAD_BYTES

# --- Keyring -----------------------------------------------------------------------------------


def test_blob_layout():
    ring = Keyring.generate()
    blob = ring.encrypt("k", b"hello")
    assert blob[:4] == (1).to_bytes(4, "big")
    assert len(blob) == 4 + 12 + len(b"hello") + 16 == len(b"hello") + OVERHEAD_BYTES
    assert ring.decrypt("k", blob) == b"hello"
    assert ring.encrypt("k", b"hello") != blob  # fresh nonce each time


def test_associated_data_binds_the_key():
    ring = Keyring.generate()
    blob = ring.encrypt("sys/token/id/a", b"secret")
    with pytest.raises(BarrierError, match="authentication"):
        ring.decrypt("sys/token/id/b", blob)


def test_tampering_and_truncation_fail():
    ring = Keyring.generate()
    blob = bytearray(ring.encrypt("k", b"secret"))
    blob[-1] ^= 1
    with pytest.raises(BarrierError):
        ring.decrypt("k", bytes(blob))
    with pytest.raises(BarrierError, match="truncated"):
        ring.decrypt("k", b"\x00\x00\x00\x01short")


def test_unknown_term_and_foreign_key_fail():
    ring = Keyring.generate()
    blob = ring.rotate().encrypt("k", b"v")  # term 2, which `ring` does not have
    with pytest.raises(BarrierError, match="unknown keyring term 2"):
        ring.decrypt("k", blob)
    with pytest.raises(BarrierError):
        Keyring.generate().decrypt("k", ring.encrypt("k", b"v"))  # same term, other key


def test_rotation_keeps_old_terms():
    old = Keyring.generate()
    blob = old.encrypt("k", b"before")
    new = old.rotate()
    assert new.active_term == 2
    assert set(new.terms) == {1, 2}
    assert new.terms[1] == old.terms[1]
    assert new.decrypt("k", blob) == b"before"
    assert new.encrypt("k", b"after")[:4] == (2).to_bytes(4, "big")
    assert old.active_term == 1 and set(old.terms) == {1}  # rotation returns a new keyring


def test_serialization_round_trip():
    ring = Keyring.generate().rotate().rotate()
    copy = Keyring.from_bytes(ring.to_bytes())
    assert copy.active_term == 3
    assert copy.terms == ring.terms
    assert copy.decrypt("k", ring.encrypt("k", b"v")) == b"v"


@pytest.mark.parametrize("data", [b"", b"\x01\x00\x00", b"\x02\x00\x00\x00\x01", b"\x01" * 10])
def test_malformed_keyrings_are_rejected(data):
    with pytest.raises(BarrierError):
        Keyring.from_bytes(data)


def test_keyring_validation():
    with pytest.raises(BarrierError):
        Keyring({1: b"short"}, 1)
    with pytest.raises(BarrierError):
        Keyring({1: b"k" * 32}, 2)
    with pytest.raises(BarrierError):
        Keyring({0: b"k" * 32}, 0)


def test_no_key_material_in_repr_or_errors():
    ring = Keyring.generate()
    key = ring.terms[1]
    assert key.hex() not in repr(ring) and repr(key) not in repr(ring)
    try:
        ring.decrypt("k", ring.encrypt("j", b"v"))
    except BarrierError as error:
        assert key.hex() not in str(error) and repr(key) not in str(error)


def test_terms_cannot_be_mutated_from_outside():
    ring = Keyring.generate()
    ring.terms[1] = b"x" * 32
    assert ring.terms[1] != b"x" * 32


# --- Barrier over DynamoDB ------------------------------------------------------------------


def test_barrier_round_trip(barrier, physical):
    assert barrier.put("core/mounts", b"plain") == 1
    assert barrier.get("core/mounts") == Entry("core/mounts", b"plain", 1)
    raw = physical.get("core/mounts")
    assert raw.value != b"plain" and len(raw.value) == len(b"plain") + OVERHEAD_BYTES
    assert barrier.get("missing") is None
    barrier.delete("core/mounts")
    assert barrier.get("core/mounts") is None


def test_barrier_get_many_and_transact(barrier, physical):
    barrier.transact([Put("a/x", b"1", expected_version=0), Put("a/y", b"2")])
    barrier.transact([Put("a/x", b"3", expected_version=1), Delete("a/y")])
    assert barrier.get_many(["a/x", "a/y"]) == {"a/x": Entry("a/x", b"3", 2)}
    assert barrier.list("a/") == ["x"]
    with pytest.raises(ConditionFailed):
        barrier.put("a/x", b"4", expected_version=1)


def test_copied_ciphertext_does_not_decrypt_under_another_key(barrier, physical):
    barrier.put("sys/token/id/victim", b"root-policy")
    stolen = physical.get("sys/token/id/victim").value
    physical.put("sys/token/id/attacker", stolen)
    with pytest.raises(BarrierError):
        barrier.get("sys/token/id/attacker")


def test_rotation_through_the_barrier(barrier, physical, keyring):
    barrier.put("k/old", b"old")
    barrier.keyring = keyring.rotate()
    barrier.put("k/new", b"new")
    assert physical.get("k/old").value[:4] == (1).to_bytes(4, "big")
    assert physical.get("k/new").value[:4] == (2).to_bytes(4, "big")
    assert barrier.get("k/old").value == b"old"
    assert barrier.get_many(["k/old", "k/new"])["k/new"].value == b"new"


def test_sealed_barrier_refuses_everything(physical):
    barrier = Barrier(physical)
    operations = [
        lambda: barrier.get("k"),
        lambda: barrier.get_many(["k"]),
        lambda: barrier.put("k", b"v"),
        lambda: barrier.delete("k"),
        lambda: barrier.transact([Put("k", b"v")]),
        lambda: barrier.list(""),
        lambda: barrier.delete_prefix("a/"),
    ]
    for operation in operations:
        with pytest.raises(Sealed):
            operation()
    barrier.keyring = Keyring.generate()
    assert barrier.get("k") is None
    barrier.keyring = None
    with pytest.raises(Sealed):
        barrier.get("k")


def test_entry_too_large_through_the_barrier(barrier):
    with pytest.raises(EntryTooLarge, match="409600"):
        barrier.put("big", b"x" * 409_600)


def test_table_holds_no_plaintext(barrier, raw_items):
    canary = b"CANARY-6b1f0c2e-secret-value"
    barrier.put("logical/uuid/secret/data/canary", canary)
    barrier.transact([Put("logical/uuid/other", canary + b"-2")])
    items = raw_items()
    assert items
    needles = [canary, base64.b64encode(canary), canary.hex().encode()]
    for item in items:
        dumped = repr(item).encode()
        for attribute in item.values():
            for value in attribute.values():
                blob = value if isinstance(value, bytes) else str(value).encode()
                assert not any(needle in blob for needle in needles)
        assert not any(needle in dumped for needle in needles)

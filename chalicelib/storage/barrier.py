"""The barrier: every value is sealed with AES-256-GCM before it reaches physical storage.

Blob layout: 4-byte big-endian keyring term | 12-byte random nonce | ciphertext + 16-byte
tag. The associated data is the full storage key (UTF-8), so a ciphertext moved to another
key fails to open. The term in the header lets values written before `sys/rotate` still
decrypt after it; new writes always use the active term.

Who does what for a prefix copy (remount): the physical backend walks and writes (it knows
the table layout and batches), the barrier supplies a transform that opens each value
under its old key and seals it under its new one (the AD changes with the key).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from chalicelib.core.errors import Sealed
from chalicelib.storage.encryptions import EncryptionTally
from chalicelib.storage.physical import Due, Entry, Physical, Put, WriteOp
from chalicelib.storage.writeguard import check_write

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_TERM = struct.Struct(">I")
HEADER_BYTES = _TERM.size + NONCE_BYTES
OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES  # what sealing adds to a value
_MAX_TERM = 2**32 - 1

# Serialized keyring: format byte | active term | (term | 32-byte key) per term.
_KEYRING_FORMAT = 1
_KEYRING_HEADER = struct.Struct(">BI")
_KEYRING_TERM = struct.Struct(f">I{KEY_BYTES}s")


class BarrierError(Exception):
    """A value cannot be opened (unknown term, tampering, wrong key) or a keyring is malformed.

    Internal: it surfaces as a 500, and its message never carries key material.
    """


class UnknownTerm(BarrierError):
    """A value sealed under a term this keyring lacks (maybe one rotated in since)."""

    def __init__(self, term: int) -> None:
        super().__init__(f"value sealed under unknown keyring term {term}")
        self.term = term


class Keyring:
    """The barrier's data keys by term; immutable (rotation returns a new keyring)."""

    __slots__ = ("_ciphers", "_terms", "active_term")

    def __init__(self, terms: Mapping[int, bytes], active_term: int) -> None:
        for term, key in terms.items():
            if not 1 <= term <= _MAX_TERM or len(key) != KEY_BYTES:
                raise BarrierError("keyring terms must be 1..2^32-1 with 32-byte keys")
        if active_term not in terms:
            raise BarrierError("the active term is not in the keyring")
        self._terms = dict(terms)
        self.active_term = active_term
        self._ciphers: dict[int, AESGCM] = {}

    @property
    def terms(self) -> dict[int, bytes]:
        """A copy: the keyring itself never changes."""
        return dict(self._terms)

    def __repr__(self) -> str:
        # Never the keys themselves: a keyring may end up in a log line or a traceback.
        return f"Keyring(terms={sorted(self._terms)}, active_term={self.active_term})"

    @classmethod
    def generate(cls) -> Keyring:
        return cls({1: AESGCM.generate_key(bit_length=256)}, 1)

    def rotate(self) -> Keyring:
        """A keyring with a fresh key under term max+1 made active; old terms stay readable."""
        term = max(self._terms) + 1
        if term > _MAX_TERM:
            raise BarrierError("keyring term space exhausted")
        return Keyring({**self._terms, term: AESGCM.generate_key(bit_length=256)}, term)

    def to_bytes(self) -> bytes:
        header = _KEYRING_HEADER.pack(_KEYRING_FORMAT, self.active_term)
        body = b"".join(_KEYRING_TERM.pack(term, key) for term, key in sorted(self._terms.items()))
        return header + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Keyring:
        body = data[_KEYRING_HEADER.size :]
        if len(data) < _KEYRING_HEADER.size or len(body) % _KEYRING_TERM.size:
            raise BarrierError("malformed keyring")
        version, active = _KEYRING_HEADER.unpack_from(data)
        if version != _KEYRING_FORMAT:
            raise BarrierError("unsupported keyring format")
        terms = dict(_KEYRING_TERM.iter_unpack(body))
        return cls(terms, active)

    def _cipher(self, term: int) -> AESGCM:
        cipher = self._ciphers.get(term)
        if cipher is None:
            key = self._terms.get(term)
            if key is None:
                raise UnknownTerm(term)
            cipher = self._ciphers[term] = AESGCM(key)
        return cipher

    def encrypt(self, key: str, plaintext: bytes) -> bytes:
        """Seal `plaintext` for storage key `key` under the active term."""
        # Random 96-bit nonces: safe well past any write volume a Vault sees between
        # rotations (the GCM bound is 2^32 messages per key).
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(self.active_term).encrypt(nonce, plaintext, key.encode())
        return _TERM.pack(self.active_term) + nonce + sealed

    def decrypt(self, key: str, blob: bytes) -> bytes:
        """Open a blob sealed for `key`; BarrierError if it was not (or was tampered with)."""
        if len(blob) < OVERHEAD_BYTES:
            raise BarrierError("sealed value is truncated")
        (term,) = _TERM.unpack_from(blob)
        nonce = blob[_TERM.size : HEADER_BYTES]
        try:
            return self._cipher(term).decrypt(nonce, blob[HEADER_BYTES:], key.encode())
        except InvalidTag:
            raise BarrierError("sealed value failed authentication") from None


class Barrier:
    """Physical storage with plaintext values; raises Sealed while no keyring is loaded.

    Each value it seals and stores is counted in `tally` (when given), for the automatic
    keyring rotation (chalicelib.storage.encryptions). A value sealed under a term newer
    than the keyring's active one was written after a rotation this container has not
    seen yet (another container rotated during this request, or the cluster state lags
    the keyring): `reload` (when given) installs the stored keyring, and the value is
    opened with it.
    """

    def __init__(
        self, physical: Physical, keyring: Keyring | None = None,
        tally: EncryptionTally | None = None,
        reload: Callable[[], Keyring] | None = None,
    ) -> None:  # fmt: skip
        self.physical = physical
        self.keyring = keyring
        self.tally = tally
        self.reload = reload

    def _counted(self, ring: Keyring, count: int) -> None:
        # After the write: a write that failed made no ciphertext anyone will read.
        if self.tally is not None and count:
            self.tally.add(ring.active_term, count)

    def _ring(self) -> Keyring:
        if self.keyring is None:
            raise Sealed()
        return self.keyring

    def open(self, entry: Entry) -> Entry:
        """``entry`` as physical storage holds it (read directly, as the per-request read
        does), with its value opened."""
        return self._open(entry)

    def _open(self, entry: Entry) -> Entry:
        ring = self._ring()
        try:
            plaintext = ring.decrypt(entry.key, entry.value)
        except UnknownTerm as error:
            if self.reload is None or error.term <= ring.active_term:
                raise
            plaintext = self.reload().decrypt(entry.key, entry.value)
        return Entry(entry.key, plaintext, entry.version)

    def get(self, key: str) -> Entry | None:
        self._ring()
        entry = self.physical.get(key)
        return None if entry is None else self._open(entry)

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        self._ring()
        return {key: self._open(entry) for key, entry in self.physical.get_many(keys).items()}

    def put(
        self, key: str, value: bytes, *, expected_version: int | None = None, due: Due | None = None
    ) -> int:
        ring = self._ring()
        check_write(key)
        sealed = ring.encrypt(key, value)
        version = self.physical.put(key, sealed, expected_version=expected_version, due=due)
        self._counted(ring, 1)
        return version

    def delete(self, key: str, *, expected_version: int | None = None) -> None:
        self._ring()
        check_write(key)
        self.physical.delete(key, expected_version=expected_version)

    def delete_many(self, keys: Sequence[str]) -> None:
        self._ring()
        if keys:
            check_write(keys[0])
        self.physical.delete_many(keys)

    def transact(self, ops: Sequence[WriteOp], *, bump: Sequence[str] = ()) -> None:
        ring = self._ring()
        if ops:
            check_write(ops[0].key)
        self.physical.transact([self._seal_op(ring, op) for op in ops], bump=bump)
        self._counted(ring, sum(isinstance(op, Put) for op in ops))

    @staticmethod
    def _seal_op(ring: Keyring, op: WriteOp) -> WriteOp:
        if isinstance(op, Put):
            return op._replace(value=ring.encrypt(op.key, op.value))
        return op

    def list(self, prefix: str) -> list[str]:
        self._ring()
        return self.physical.list(prefix)

    def delete_prefix(self, prefix: str) -> int:
        self._ring()
        check_write(prefix)
        return self.physical.delete_prefix(prefix)

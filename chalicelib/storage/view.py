"""StorageView: the barrier seen through a prefix, the only storage an engine gets.

Keys are plain concatenation onto the prefix (no path resolution, and "//" is rejected by
the key check), so nothing a handler passes can reach outside its view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.core import jsonio
from chalicelib.storage.barrier import Barrier
from chalicelib.storage.physical import Entry, WriteOp, check_key, check_prefix


class StorageView:
    """Barrier operations with keys relative to `prefix` ("" or ending with "/")."""

    def __init__(
        self,
        barrier: Barrier,
        prefix: str,
        prefetched: dict[str, Entry | None] | None = None,
    ) -> None:
        """``prefetched``: entries (absolute keys, still sealed; None = known absent) that
        the pipeline read in its first round trip for this request; reads are served from
        them, opened then, until the request writes the key."""
        check_prefix(prefix)
        self._barrier = barrier
        self._prefix = prefix
        self._prefetched = prefetched if prefetched is not None else {}

    @property
    def prefix(self) -> str:
        return self._prefix

    def __repr__(self) -> str:
        return f"StorageView(prefix={self._prefix!r})"

    def _key(self, key: str) -> str:
        check_key(key)  # before joining: a relative "/x" would otherwise hide as "prefix//x"
        return self._prefix + key

    def _relative(self, entry: Entry) -> Entry:
        return Entry(entry.key[len(self._prefix) :], entry.value, entry.version)

    def get(self, key: str) -> Entry | None:
        absolute = self._key(key)
        if absolute not in self._prefetched:
            entry = self._barrier.get(absolute)
        elif (sealed := self._prefetched[absolute]) is not None:
            entry = self._barrier.open(sealed)
        else:
            return None
        return None if entry is None else self._relative(entry)

    def get_many(self, keys: Sequence[str]) -> dict[str, Entry]:
        wanted = [self._key(key) for key in keys]
        found = {
            k: self._barrier.open(sealed)
            for k in wanted
            if k in self._prefetched and (sealed := self._prefetched[k]) is not None
        }
        missing = [k for k in wanted if k not in self._prefetched]
        if missing:
            found.update(self._barrier.get_many(missing))
        return {entry.key: entry for entry in map(self._relative, found.values())}

    def put(self, key: str, value: bytes, *, expected_version: int | None = None) -> int:
        absolute = self._key(key)
        self._prefetched.pop(absolute, None)
        return self._barrier.put(absolute, value, expected_version=expected_version)

    def delete(self, key: str, *, expected_version: int | None = None) -> None:
        absolute = self._key(key)
        self._prefetched.pop(absolute, None)
        self._barrier.delete(absolute, expected_version=expected_version)

    def transact(self, ops: Sequence[WriteOp], *, bump: Sequence[str] = ()) -> None:
        absolute = [self._absolute(op) for op in ops]
        for op in absolute:
            self._prefetched.pop(op.key, None)
        self._barrier.transact(absolute, bump=bump)

    def _absolute(self, op: WriteOp) -> WriteOp:
        return op._replace(key=self._key(op.key))

    def list(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        return self._barrier.list(self._prefix + prefix)

    def delete_prefix(self, prefix: str = "") -> int:
        """Delete everything under `prefix` in this view (all of it by default)."""
        check_prefix(prefix)
        doomed = self._prefix + prefix
        for key in [k for k in self._prefetched if k.startswith(doomed)]:
            del self._prefetched[key]
        return self._barrier.delete_prefix(doomed)

    def get_json(self, key: str) -> Any | None:
        entry = self.get(key)
        return None if entry is None else jsonio.loads(entry.value)

    def put_json(self, key: str, obj: Any, *, expected_version: int | None = None) -> int:
        # Compact and UTF-8: every byte counts against the 400 KB item limit.
        data = jsonio.dumpb(obj)
        return self.put(key, data, expected_version=expected_version)

    def beside(self, prefix: str) -> StorageView:
        """Another prefix's view that shares what this request prefetched (a login's
        identity entries ride in its mount's first read)."""
        return StorageView(self._barrier, prefix, self._prefetched)

    def sub(self, prefix: str) -> StorageView:
        """A narrower view: `prefix` ("x/") relative to this one."""
        check_prefix(prefix)
        return StorageView(self._barrier, self._prefix + prefix, self._prefetched)

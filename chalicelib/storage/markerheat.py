"""Which folders' markers are hot, as one container can tell, and so where its next ADD goes.

Every creation of a key ADDs 1 to its folder's marker (storage/dynamodb, the marker
protocol): one item, which DynamoDB serves at most 1,000 writes/s. A folder that every
login or lease creates a key in (``sys/token/accessor/``, a login path's lease folder) would cap
the cluster there. The marker's ``gen`` counts creations from every container, so this
container's own ADDs to it, over a window of at least `_MIN_SEEN` creations or `_WINDOW`
seconds, tell it the folder's rate cluster-wide; above `HOT_RATE` its creations there go to
a random shard ("b/#1".."b/#15") for `SPREAD_SECONDS`, then an ADD to the marker itself
measures again. Cold folders keep one marker item, so their parent's LIST reads one item
per sub-folder; a hot one shows up to sixteen there.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from chalicelib.storage.dynamowire import MARKER_SHARDS

HOT_RATE = 200.0  # creations/s in one folder, all containers together
SPREAD_SECONDS = 60.0
# A rate is judged over at least this many creations or this many seconds: fewer are noise
# (two logins a millisecond apart).
_MIN_SEEN = 50
_WINDOW = 1.0
_MAX_FOLDERS = 1024  # folders remembered per container (forgotten all at once beyond)


class MarkerHeat:
    """Per container: for each folder it created keys in, the marker's gen and the time
    its measuring window opened, and until when its ADDs go to shards."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._seen: dict[str, tuple[int, float, float]] = {}

    def shard(self, folder: str) -> int:
        """Where the next ADD for `folder` goes: 0 (the marker) unless it is hot."""
        seen = self._seen.get(folder)
        if seen is not None and seen[2] > self._clock():
            return random.randrange(1, MARKER_SHARDS)  # noqa: S311 (spreading, not secrecy)
        return 0

    def saw(self, folder: str, shard: int, gen: int) -> None:
        """An ADD to `shard` of `folder`'s marker answered `gen`."""
        if shard:
            return  # a shard's gen counts only its own share
        now = self._clock()
        seen = self._seen.get(folder)
        if seen is None:
            if len(self._seen) >= _MAX_FOLDERS:
                self._seen.clear()
            self._seen[folder] = (gen, now, 0.0)
            return
        opened_at_gen, opened, _ = seen
        created, elapsed = gen - opened_at_gen, now - opened
        if created < 0:  # the marker was pruned and made again: a new count
            self._seen[folder] = (gen, now, 0.0)
        elif created >= _MIN_SEEN or elapsed >= _WINDOW:
            hot = created >= _MIN_SEEN and created > HOT_RATE * elapsed
            self._seen[folder] = (gen, now, now + SPREAD_SECONDS if hot else 0.0)

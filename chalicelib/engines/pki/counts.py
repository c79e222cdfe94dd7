"""The serial count of no_store roles: a certificate a no_store role issues leaves nothing
behind but one increment of a counter (issue #17: "no_store roles keep nothing but the
serial count"). OpenBao keeps nothing at all for them; the count is ours.

The counter is sharded (``stats/unstored/<n>``, one shard picked at random per issue) so
that containers issuing at once rarely race on one item: a lost conditional increment is
retried on a fresh read, and the total is the sum of the shards.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from chalicelib.core import jsonio
from chalicelib.observability import logger
from chalicelib.storage.physical import ConditionFailed

if TYPE_CHECKING:
    from chalicelib.storage.view import StorageView

UNSTORED_PREFIX = "stats/unstored/"
SHARDS = 16
_ATTEMPTS = 10


def count_unstored(view: StorageView) -> None:
    """Add one to the count of certificates issued without being stored."""
    key = f"{UNSTORED_PREFIX}{random.randrange(SHARDS)}"  # noqa: S311 - load spreading only
    for _ in range(_ATTEMPTS):
        entry = view.get(key)
        count = 0 if entry is None else int(jsonio.loads(entry.value)["count"])
        try:
            view.put(key, jsonio.dumpb({"count": count + 1}),
                     expected_version=0 if entry is None else entry.version)
        except ConditionFailed:
            continue
        return
    # The certificate is issued already: a lost count must not lose it.
    logger.warning("no_store serial count not incremented", extra={"prefix": view.prefix})


"""sys/tools/random[/:source][/:bytes] and sys/tools/hash[/:algorithm].

The same handlers serve transit's random and hash (chalicelib.core.randomness), as in
OpenBao; any token whose policy grants the path may call them.
"""

from __future__ import annotations

from chalicelib.core import randomness
from chalicelib.framework import Path


def paths() -> list[Path]:
    return randomness.paths("tools/", hash_requires_input=False)

"""sys/tools/random[/:source][/:bytes] and sys/tools/hash[/:algorithm].

The same handlers serve transit's random and hash (chalicelib.framework.randomness), as in
OpenBao; any token whose policy grants the path may call them.
"""

from __future__ import annotations

from chalicelib.framework import Path, randomness


def paths() -> list[Path]:
    return randomness.paths("tools/", hash_requires_input=False)

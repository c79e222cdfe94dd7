"""random[/:source][/:bytes] and hash[/:algorithm]: the sys/tools endpoints under the mount."""

from __future__ import annotations

from chalicelib.framework import Path, randomness


def paths() -> list[Path]:
    # Transit's hash alone answers "input missing" to a request without input.
    return randomness.paths("", hash_requires_input=True)

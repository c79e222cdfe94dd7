"""Rules with ``+`` segments: how they match a path and, when several glob or
``+`` rules match, which one OpenBao lets decide (:func:`specificity`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.core.globs import matches_wildcard_path
from chalicelib.policy.permissions import Permissions


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A rule containing ``+`` segments (possibly ending in a ``*`` glob)."""

    segments: tuple[str, ...]
    is_prefix: bool
    wc_path: str
    first_wildcard: int
    wildcards: int
    perms: Permissions

    @classmethod
    def build(cls, full_path: str, perms: Permissions) -> Wildcard:
        is_prefix = full_path.endswith("*")
        wc_path = full_path[:-1] if is_prefix else full_path
        segments = tuple(wc_path.split("/"))
        # Positions are byte offsets, as in Go.
        first = full_path.encode().find(b"+")
        return cls(segments, is_prefix, wc_path, first, segments.count("+"), perms)

    def matches(self, parts: Sequence[str]) -> bool:
        return matches_wildcard_path(self.segments, self.is_prefix, parts)

    def covers_mount(self, mount_parts: Sequence[str], mount: str) -> bool:
        """OpenBao's bare-mount walk: does this pattern reach inside the mount?"""
        joined: list[str] = []
        stop = len(mount_parts) - 2
        for index, segment in enumerate(self.segments):
            part = mount_parts[index] if index < len(mount_parts) else ""
            if segment == "+" or segment == part:
                joined.append(part)
            elif self.is_prefix and index == len(self.segments) - 1 and part.startswith(segment):
                joined.extend(mount_parts[index:])
            if index == stop:
                return ("/".join(joined) + "/").startswith(mount)
        return False


def specificity(candidate: tuple[int, bool, int, str, Permissions]) -> tuple[Any, ...]:
    """Sort key for competing non-exact rules; the largest key wins.

    OpenBao prefers, in order: a later first ``+``/``*`` position; no trailing
    glob; fewer ``+`` segments; a longer pattern; the lexically greater one.
    """
    first, is_prefix, wildcards, wc_path, _ = candidate
    encoded = wc_path.encode()
    return (first, not is_prefix, -wildcards, len(encoded), encoded)

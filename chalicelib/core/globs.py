"""Go's strutil.GlobbedStringsMatch, which Vault uses for policy parameter values and bound
ARNs: a ``*`` at the start and/or end of a pattern is a wildcard, anywhere else a ``*``."""

from __future__ import annotations


def globbed_match(pattern: str, value: str) -> bool:
    if len(pattern.encode()) < 2:  # Go measures bytes: a lone "*" is literal
        return value == pattern
    starts, ends = pattern.startswith("*"), pattern.endswith("*")
    if starts and ends:
        return pattern[1:-1] in value
    if starts:
        return value.endswith(pattern[1:])
    if ends:
        return value.startswith(pattern[:-1])
    return value == pattern

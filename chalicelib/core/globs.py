"""Vault's two small glob rules, shared by layers that must not import each other.

``globbed_match``: Go's strutil.GlobbedStringsMatch (policy parameter values, bound ARNs):
a ``*`` at the start and/or end of a pattern is a wildcard, anywhere else a ``*``.
``matches_wildcard_path``: "+" path segments, used by ACL paths and by backends'
PathsSpecial (the framework is on every cold start; the policy package is not)."""

from __future__ import annotations

from collections.abc import Sequence


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


def matches_wildcard_path(segments: Sequence[str], is_prefix: bool, parts: Sequence[str]) -> bool:
    """OpenBao's pathMatchesWildcardPath: ``parts`` (a path split on "/") against a
    pattern's ``segments`` ("*" already stripped when ``is_prefix``), "+" for any one."""
    if len(parts) < len(segments):
        return False
    if not is_prefix and len(parts) != len(segments):
        return False
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        part = parts[index]
        if segment in ("+", part):
            continue
        if not (is_prefix and index == last and part.startswith(segment)):
            return False
    return True

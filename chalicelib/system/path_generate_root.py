"""Placeholder: filled in by the work on issue #19/#21."""

from __future__ import annotations

from chalicelib.framework import Path

UNAUTHENTICATED: tuple[str, ...] = ()


def paths() -> list[Path]:
    return []

"""Placeholder: filled in by the ssh engine's CA and OTP work."""

from __future__ import annotations

from chalicelib.framework import Path


def paths() -> list[Path]:
    return []

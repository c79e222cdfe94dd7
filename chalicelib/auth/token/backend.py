"""The token auth method mounted at auth/token/."""

from __future__ import annotations

from chalicelib.auth.token import path_lookup
from chalicelib.framework import Backend


def backend() -> Backend:
    return Backend(
        type_name="token",
        description="token based credentials",
        paths=[*path_lookup.paths()],
    )

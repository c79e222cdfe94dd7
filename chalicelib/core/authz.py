"""Token validation and the ACL decision for one request."""

from __future__ import annotations

import json
import time

from chalicelib.core.errors import PermissionDenied
from chalicelib.core.request import Request
from chalicelib.tokens.entry import TokenEntry


def token_from_storage(raw: bytes | None) -> TokenEntry:
    """The caller's token entry; absent, expired or malformed all read as "permission denied"."""
    if raw is None:
        raise PermissionDenied()
    entry = TokenEntry.from_storage(json.loads(raw))
    expires = entry.expires_at()
    if expires and expires <= time.time():
        raise PermissionDenied()
    return entry


def optional_token(raw: bytes | None) -> TokenEntry | None:
    try:
        return token_from_storage(raw)
    except PermissionDenied:
        return None


def authorize(request: Request, token: TokenEntry, *, sudo_path: bool) -> None:
    """The ACL hook: the root policy may do anything; policies evaluate everything else."""
    if token.is_root:
        return
    del sudo_path  # consulted by the policy evaluator for non-root tokens
    raise PermissionDenied()

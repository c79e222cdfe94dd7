"""Pending OIDC logins (OpenBao's oidcRequest), kept in the mount's storage.

Many containers serve one cluster, so the callback may land anywhere: the state lives
behind the barrier under a hash of its ID (the key is plaintext; the ID is a bearer
value), expires after Vault's 10 minutes, and is consumed by one conditional delete, so
a replayed callback finds nothing. Keys are grouped in 10-minute folders; starting a
login drops the folders that can only hold expired states.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import NamedTuple

from chalicelib.core import jsonio
from chalicelib.storage.physical import ConditionFailed
from chalicelib.storage.view import StorageView

# One folder per time bucket at the top of the mount's view ("oidc-state-<bucket>/"):
# a shallow key costs the fewest folder-marker writes.
STATE_PREFIX = "oidc-state-"
REQUEST_TIMEOUT = 600
# Folder width in seconds; at least REQUEST_TIMEOUT, so a folder two behind holds only
# expired states.
BUCKET = 600
_STATE = re.compile(r"st_(\d{1,12})_[A-Za-z0-9_-]{20,64}")


class PendingLogin(NamedTuple):
    role: str
    redirect_uri: str
    nonce: str
    code_verifier: str
    client_nonce: str
    expires: int


def _folder(bucket: int) -> str:
    return f"{STATE_PREFIX}{bucket}/"


def _bucket(folder: str) -> int | None:
    name = folder.removeprefix(STATE_PREFIX).rstrip("/")
    return int(name) if folder.startswith(STATE_PREFIX) and name.isdigit() else None


def _key(state: str) -> str | None:
    found = _STATE.fullmatch(state)
    if found is None:
        return None
    return _folder(int(found.group(1))) + hashlib.sha256(state.encode()).hexdigest()


def random_value(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def create(view: StorageView, role: str, redirect_uri: str, client_nonce: str) -> tuple[
    str, PendingLogin
]:
    """A new pending login and its state ID (nonce and PKCE verifier are random)."""
    now = int(time.time())
    bucket = now // BUCKET
    _drop_expired(view, bucket)
    state = f"st_{bucket}_{secrets.token_urlsafe(24)}"
    pending = PendingLogin(
        role=role,
        redirect_uri=redirect_uri,
        nonce=random_value("n_"),
        # RFC 7636: 43 to 128 characters of the unreserved set.
        code_verifier=secrets.token_urlsafe(48),
        client_nonce=client_nonce,
        expires=now + REQUEST_TIMEOUT,
    )
    key = _key(state)
    assert key is not None
    view.put_json(key, pending._asdict(), expected_version=0)
    return state, pending


def consume(view: StorageView, state: str) -> PendingLogin | None:
    """The pending login for ``state``, removed so that no other request gets it; None
    when unknown, already used or expired."""
    key = _key(state)
    entry = view.get(key) if key is not None else None
    if key is None or entry is None:
        return None
    try:
        view.delete(key, expected_version=entry.version)
    except ConditionFailed:
        return None  # another callback with the same state won the race
    pending = PendingLogin(**jsonio.loads(entry.value))
    return pending if pending.expires > time.time() else None


def _drop_expired(view: StorageView, bucket: int) -> None:
    for folder in view.list():
        found = _bucket(folder)
        if found is not None and found < bucket - 1:
            view.delete_prefix(_folder(found))

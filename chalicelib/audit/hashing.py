"""HMAC of sensitive values, as OpenBao's ``audit/hashstructure.go`` and ``helper/salt``.

Every audit device has its own random salt; a value is replaced by
``hmac-sha256:<hex of HMAC-SHA256(salt, value)>``, so an operator who knows a secret can
find it in the log (``sys/audit-hash``) but the log alone reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

HMAC_TYPE = "hmac-sha256"
SALT_BYTES = 32

HashFn = Callable[[str], str]

# Go's RFC 3339 layout; such strings are left in clear as OpenBao does (times are not secret).
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")


def new_salt() -> str:
    """A device's salt: random, stored with its config behind the barrier."""
    return secrets.token_hex(SALT_BYTES)


def hmac_value(salt: str, value: str) -> str:
    """OpenBao's ``GetIdentifiedHMAC``: the salt string's bytes are the HMAC key."""
    digest = hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{HMAC_TYPE}:{digest}"


def hasher(salt: str) -> HashFn:
    return lambda value: hmac_value(salt, value)


def is_timestamp(value: str) -> bool:
    """Whether Go's ``time.Time.UnmarshalText`` would accept ``value`` (RFC 3339)."""
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def hash_data(
    data: Mapping[str, Any], fn: HashFn, non_hmac_keys: Collection[str] = ()
) -> dict[str, Any]:
    """A copy of ``data`` with every string value HMAC'd (map keys never are).

    As OpenBao's hash walker: numbers, booleans and nulls stay, RFC 3339 timestamps stay,
    and a string is left alone when the nearest map key above it is in ``non_hmac_keys``
    (a mount's ``audit_non_hmac_*_keys``).
    """
    return {key: _walk(data[key], key, fn, non_hmac_keys) for key in sorted(data)}


def _walk(value: Any, key: str, fn: HashFn | None, skip: Collection[str]) -> Any:
    # Maps come out sorted by key, as Go encodes them.
    if isinstance(value, str):
        if fn is None or key in skip or is_timestamp(value):
            return value
        return fn(value)
    if isinstance(value, Mapping):
        return {k: _walk(value[k], k, fn, skip) for k in sorted(value)}
    if isinstance(value, list | tuple):
        return [_walk(item, key, fn, skip) for item in value]
    return value


def sorted_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` unhashed (``log_raw``), its maps sorted as Go encodes them."""
    return {key: _walk(data[key], key, None, ()) for key in sorted(data)}


def elide_list(data: Mapping[str, Any]) -> dict[str, Any]:
    """``elide_list_responses``: a listing's ``keys`` and ``key_info`` become their counts."""
    elided = dict(data)
    if isinstance(elided.get("keys"), list):
        elided["keys"] = len(elided["keys"])
    if isinstance(elided.get("key_info"), dict):
        elided["key_info"] = len(elided["key_info"])
    return elided

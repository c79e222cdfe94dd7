"""Input rules of OpenBao's identity store, with its messages.

Where OpenBao answers bad metadata or member IDs with a 500 (its errors surface from
deep in the store), the same text comes back here as a 400: it is the client's input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping

from chalicelib.core.errors import BadRequest, multierrors

_META_KEY = re.compile(r"[a-zA-Z0-9=/+_-]+")
_META_MAX_PAIRS = 64
_META_MAX_KEY = 128
_META_MAX_VALUE = 512
_META_RESERVED = "vault-"
_CUSTOM_PREFIX = "custom_metadata validation failed"


def quote(value: str) -> str:
    """Go's %q for the strings these messages carry."""
    return json.dumps(value, ensure_ascii=False)


def checked_policies(names: Iterable[str]) -> tuple[str, ...]:
    """Lowercased, trimmed, unique and sorted (OpenBao's RemoveDuplicates); never root."""
    policies = tuple(sorted({name.strip().lower() for name in names} - {""}))
    if "root" in policies:
        raise BadRequest("policies cannot contain root")
    return policies


def unique_ids(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({value.strip() for value in ids} - {""}))


def checked_metadata(metadata: Mapping[str, str], kind: str) -> dict[str, str]:
    """Entity and group metadata under OpenBao's validateMetadata; ``kind`` names the
    record in the message ("entity", "group")."""
    problem = _metadata_problem(metadata)
    if problem:
        raise BadRequest(multierrors([f"invalid {kind} metadata: {problem}"]))
    return dict(metadata)


def _metadata_problem(metadata: Mapping[str, str]) -> str:
    if len(metadata) > _META_MAX_PAIRS:
        return f"metadata cannot contain more than {_META_MAX_PAIRS} key/value pairs"
    for key in sorted(metadata):
        value = metadata[key]
        if not key:
            reason = "key cannot be blank"
        elif not _META_KEY.fullmatch(key):
            reason = "key contains invalid characters"
        elif len(key) > _META_MAX_KEY:
            reason = f"key is too long (limit: {_META_MAX_KEY} characters)"
        elif key.startswith(_META_RESERVED):
            reason = f"key prefix {quote(_META_RESERVED)} is reserved for internal use"
        elif len(value) > _META_MAX_VALUE:
            reason = f"value is too long (limit: {_META_MAX_VALUE} characters)"
        else:
            continue
        return f"failed to load metadata pair ({quote(key)}, {quote(value)}): {reason}"
    return ""


def checked_custom_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """An alias's custom_metadata under OpenBao's custommetadata.Validate (every problem
    reported at once; lengths in bytes, as Go counts them)."""
    if len(metadata) > _META_MAX_PAIRS:
        raise BadRequest(multierrors([
            f"{_CUSTOM_PREFIX}: payload must contain at most {_META_MAX_PAIRS} keys, "
            f"provided {len(metadata)}"
        ]))  # fmt: skip
    problems: list[str] = []
    for key in sorted(metadata):
        key_len, value_len = len(key.encode()), len(metadata[key].encode())
        if not 0 < key_len <= _META_MAX_KEY:
            problems.append(
                f"{_CUSTOM_PREFIX}: length of key {quote(key)} is {key_len} but must be "
                f"0 < len(key) <= {_META_MAX_KEY}"
            )
        if not 0 < value_len <= _META_MAX_VALUE:
            problems.append(
                f"{_CUSTOM_PREFIX}: length of value for key {quote(key)} is {value_len} but "
                f"must be 0 < len(value) <= {_META_MAX_VALUE}"
            )
        if not key.isprintable():
            problems.append(
                f"{_CUSTOM_PREFIX}: key {quote(key)} ({key}) contains unprintable characters"
            )
        if not metadata[key].isprintable():
            problems.append(
                f"{_CUSTOM_PREFIX}: value for key {quote(key)} contains unprintable characters"
            )
    if problems:
        raise BadRequest(multierrors(problems))
    return dict(metadata)

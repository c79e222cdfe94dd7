"""Request values KV v2 interprets itself, with OpenBao's coercions and messages.

The framework parses declared fields; these are the values inside them (options.cas,
custom_metadata entries) or shapes it has no type for (a comma list of integers).
Messages never echo a value: a secret's data may be in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.errors import BadRequest, multierrors
from chalicelib.engines.kv.versioning import KvConfig, SecretRecord

MAX_CUSTOM_METADATA_KEYS = 64
MAX_CUSTOM_METADATA_KEY_BYTES = 128
MAX_CUSTOM_METADATA_VALUE_BYTES = 512
_CM_PREFIX = "custom_metadata validation failed"


def weak_int(value: Any) -> int:
    """An integer the way Go's mapstructure.WeakDecode reads one from JSON.

    null and "" are 0, booleans are 0/1, JSON numbers must be integers.
    """
    if value is None:
        return 0
    if isinstance(value, bool | int):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        try:
            return int(text, 10)
        except ValueError:
            return int(text, 0)  # Go also takes 0x.., 0o.., 0b..
    raise ValueError("not an integer")


def check_cas(options: Mapping[str, Any], config: KvConfig, record: SecretRecord) -> None:
    """options.cas against the current version; required if the mount or secret says so."""
    if "cas" in options:
        try:
            cas = weak_int(options["cas"])
        except ValueError:
            raise BadRequest("error parsing check-and-set parameter") from None
        if cas != record.current_version:
            raise BadRequest("check-and-set parameter did not match the current version")
    elif config.cas_required or record.cas_required:
        raise BadRequest("check-and-set parameter required for this call")


def check_metadata_cas(
    metadata_cas: int | None, config: KvConfig, record: SecretRecord | None
) -> None:
    """metadata_cas against the metadata version (0 when the metadata is being created)."""
    required = config.metadata_cas_required or (record is not None and record.metadata_cas_required)
    if metadata_cas is None:
        if required:
            raise BadRequest("metadata check-and-set parameter required for this call")
        return
    if record is None:
        if metadata_cas != 0:
            raise BadRequest("metadata_cas must be 0 when creating new metadata")
    elif metadata_cas != record.metadata_version:
        raise BadRequest("metadata check-and-set parameter does not match the current version")


def parse_versions(raw: Any) -> list[int]:
    """Version numbers given as a list, a comma-separated string or a single number."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else [raw]
    present = [item for item in items if not (isinstance(item, str) and not item.strip())]
    try:
        return [weak_int(item) for item in present]
    except ValueError:
        raise BadRequest(
            'error converting input for field "versions": expected a list of integers'
        ) from None


def _as_string(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value)
    raise BadRequest(f"{_CM_PREFIX}: value for key {key!r} must be a string, number or boolean")


def custom_metadata(raw: Mapping[str, Any], *, patch: bool = False) -> dict[str, str | None]:
    """custom_metadata as strings, validated; in a patch, null (remove the key) is kept."""
    values: dict[str, str | None] = {
        str(k): None if patch and v is None else _as_string(str(k), v) for k, v in raw.items()
    }
    _validate_custom_metadata({k: v for k, v in values.items() if v is not None})
    return values


def _validate_custom_metadata(values: Mapping[str, str]) -> None:
    if len(values) > MAX_CUSTOM_METADATA_KEYS:
        raise BadRequest(multierrors([
            f"{_CM_PREFIX}: payload must contain at most {MAX_CUSTOM_METADATA_KEYS} keys, "
            f"provided {len(values)}"
        ]))
    problems: list[str] = []
    for key in sorted(values):
        problems += _problems(key, values[key])
    if problems:
        raise BadRequest(multierrors(problems))


def _problems(key: str, value: str) -> list[str]:
    found = []
    key_len, value_len = len(key.encode()), len(value.encode())
    if not 0 < key_len <= MAX_CUSTOM_METADATA_KEY_BYTES:
        found.append(
            f'{_CM_PREFIX}: length of key "{key}" is {key_len} but must be '
            f"0 < len(key) <= {MAX_CUSTOM_METADATA_KEY_BYTES}"
        )
    if not 0 < value_len <= MAX_CUSTOM_METADATA_VALUE_BYTES:
        found.append(
            f'{_CM_PREFIX}: length of value for key "{key}" is {value_len} but must be '
            f"0 < len(value) <= {MAX_CUSTOM_METADATA_VALUE_BYTES}"
        )
    if not key.isprintable():
        found.append(f'{_CM_PREFIX}: key "{key}" contains unprintable characters')
    if not value.isprintable():
        found.append(f'{_CM_PREFIX}: value for key "{key}" contains unprintable characters')
    return found

"""A secret ID's ``metadata``: OpenBao's ParseArbitraryKeyValues, as clients rely on it.

The string is a JSON object of strings, or comma-separated ``key=value`` pairs (lowercased,
as OpenBao does), either of them optionally base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

from chalicelib.core.errors import BadRequest
from chalicelib.policy.errors import go_quote


def parse_metadata(text: str) -> dict[str, str]:
    """The metadata map; 400 with OpenBao's text when the string is neither form."""
    text = text.strip()
    if not text:
        return {}
    with contextlib.suppress(binascii.Error, ValueError):  # not base64: the text itself
        text = base64.b64decode(text, validate=True).decode(errors="replace")
    parsed = _json_map(text)
    if parsed is None:
        parsed = _pairs(text)
    for key, value in parsed.items():
        if key and not value:
            raise BadRequest(f"failed to parse metadata: invalid value for key {go_quote(key)}")
    return parsed


def _json_map(text: str) -> dict[str, str] | None:
    """A JSON object of strings (null values read as empty, as Go decodes them), else None."""
    try:
        value: Any = json.loads(text)
    except ValueError:
        return None
    if value is None:
        return {}
    if not isinstance(value, dict):
        return None
    if not all(item is None or isinstance(item, str) for item in value.values()):
        return None
    return {key: item or "" for key, item in value.items()}


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in sorted({part.strip().lower() for part in text.split(",") if part.strip()}):
        shards = item.split("=")
        if len(shards) != 2:
            raise BadRequest(
                "failed to parse metadata: failed to parse the input: invalid <key,value> format"
            )
        key, value = shards[0].strip(), shards[1].strip()
        if not key or not value:
            raise BadRequest(
                "failed to parse metadata: failed to parse the input: invalid <key,value> pair: "
                f"key: {go_quote(key)} value: {go_quote(value)}"
            )
        pairs[key] = value
    return pairs

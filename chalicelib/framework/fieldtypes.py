"""Field types and the one place where request values are parsed into typed values.

Mirrors the coercions of OpenBao's sdk/framework field types: clients send numbers as
strings, booleans as "true", lists as comma-separated strings, durations as "1h30m".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import Enum
from typing import Any

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)")
_UNIT_SECONDS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
}


class FieldError(ValueError):
    """A value that cannot be converted to its field's type; the message is client-safe."""


# Go's time.Duration is int64 nanoseconds and its integers int64: a value past either is
# refused there ("invalid duration", "value out of range"); here it would overflow a
# timestamp later, a 500.
_MAX_DURATION_SECONDS = (2**63 - 1) // 10**9
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def parse_duration(value: Any) -> int:
    """Seconds from an int, a numeric string or a Go duration ("90s", "1h30m", "2d")."""
    return int(parse_fine_duration(value))


def parse_fine_duration(value: Any) -> float:
    """As `parse_duration`, keeping fractions of a second ("300ms" is 0.3): for pauses."""
    seconds = _duration_seconds(value)
    if abs(seconds) > _MAX_DURATION_SECONDS:
        raise FieldError(f"time: invalid duration {json.dumps(str(value).strip())}")
    return seconds


def _duration_seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise FieldError("invalid duration")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        # inf is not JSON, but a Python caller may pass it; int() would raise OverflowError.
        return value if abs(value) <= _MAX_DURATION_SECONDS else _MAX_DURATION_SECONDS + 1
    if not isinstance(value, str):
        raise FieldError("invalid duration")
    text = value.strip()
    if text == "":
        return 0
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(body) or not body:
        raise FieldError(f"time: invalid duration {json.dumps(text)}")
    return sign * min(total, _MAX_DURATION_SECONDS + 1)


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise FieldError("expected a string")


def _to_int(value: Any) -> int:
    number = _integer(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise FieldError("value out of range")
    return number


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise FieldError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise FieldError("expected an integer")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "t", "true"):
            return True
        if lowered in ("0", "f", "false", ""):
            return False
    if isinstance(value, int):
        return value != 0
    raise FieldError("expected a boolean")


def _to_string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list):
        return [_to_string(item).strip() for item in value if _to_string(item).strip()]
    raise FieldError("expected a list of strings")


def _to_map(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value) if value else {}
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    raise FieldError("expected a map")


def _to_kv_pairs(value: Any) -> dict[str, str]:
    """A map of strings, also accepted as ["k=v", ...] or one "k=v" the way the CLI sends
    them (Go's weak decoding turns a lone string into a one-item list)."""
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        value = [value] if value else []
    if isinstance(value, list):
        pairs: dict[str, str] = {}
        for item in value:
            key, sep, val = _to_string(item).partition("=")
            if not sep:
                raise FieldError("expected key=value pairs")
            pairs[key] = val
        return pairs
    return {str(k): _to_string(v) for k, v in _to_map(value).items()}


class FieldType(Enum):
    """Each member carries its converter; the framework calls it once per field."""

    STRING = (_to_string,)
    LOWERCASE_STRING = (lambda v: _to_string(v).lower(),)
    INT = (_to_int,)
    BOOL = (_to_bool,)
    DURATION = (parse_duration,)
    COMMA_STRING_LIST = (_to_string_list,)
    MAP = (_to_map,)
    KV_PAIRS = (_to_kv_pairs,)
    ANY = (lambda v: v,)

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self.convert = convert


def go_duration(seconds: int) -> str:
    """Go's time.Duration.String() for whole seconds: "0s", "90s" -> "1m30s", "1h0m0s"."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def go_atoi(text: str) -> int:
    """Go's strconv.Atoi (64-bit): ASCII decimal digits with an optional sign; a FieldError
    in Go's words ('strconv.Atoi: parsing "x": invalid syntax' or 'value out of range')."""
    failure = f"strconv.Atoi: parsing {json.dumps(text, ensure_ascii=False)}"
    if not re.fullmatch(r"[+-]?[0-9]+", text, re.ASCII):
        raise FieldError(f"{failure}: invalid syntax")
    number = int(text)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise FieldError(f"{failure}: value out of range")
    return number

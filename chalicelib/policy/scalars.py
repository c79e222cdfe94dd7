"""Go-compatible scalar parsing: integers, durations and timestamps, with the
error messages of Go's strconv/time and OpenBao's parseutil."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from chalicelib.policy.errors import PolicyTextError

_NANOS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "ns": 1,
        "us": 1_000,
        "\u00b5s": 1_000,
        "\u03bcs": 1_000,
        "ms": 1_000_000,
        "s": 1_000_000_000,
        "m": 60_000_000_000,
        "h": 3_600_000_000_000,
    }
)
_INT64_MAX: Final = (1 << 63) - 1
_DECIMAL_RE: Final = re.compile(r"[+-]?[0-9]+")
_INT_LITERAL_RE: Final = re.compile(r"[+-]?[0-9A-Za-z_]+")
_RFC3339_RE: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})"
)


def fits_int64(value: int) -> bool:
    """Whether ``value`` is in range for Go's int64."""
    return -(1 << 63) <= value <= _INT64_MAX


def _parse_int_error(text: str, reason: str) -> PolicyTextError:
    return PolicyTextError(f'strconv.ParseInt: parsing "{text}": {reason}')


def _int64(text: str, value: int) -> int:
    if not fits_int64(value):
        raise _parse_int_error(text, "value out of range")
    return value


def go_parse_int10(text: str) -> int:
    """strconv.ParseInt(text, 10, 64) including its error messages."""
    if not _DECIMAL_RE.fullmatch(text):
        raise _parse_int_error(text, "invalid syntax")
    return _int64(text, int(text))


def go_parse_int0(text: str) -> int:
    """strconv.ParseInt(text, 0, 0): Go literal syntax, a leading 0 means octal."""
    if not _INT_LITERAL_RE.fullmatch(text):
        raise _parse_int_error(text, "invalid syntax")
    sign, body = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
    if re.fullmatch(r"0[0-7_]+", body):
        body = "0o" + body[1:]  # Python spells Go's legacy octal with a prefix
    try:
        value = sign * int(body, 0)
    except ValueError:
        raise _parse_int_error(text, "invalid syntax") from None
    return _int64(text, value)


def _duration_error(text: str) -> PolicyTextError:
    return PolicyTextError(f'time: invalid duration "{text}"')


def _scan_duration_term(text: str, rest: str) -> tuple[int, str]:
    """Consume one ``<number><unit>`` term of a Go duration; return (ns, rest)."""
    match = re.match(r"([0-9]*)(?:\.([0-9]*))?", rest)
    whole, frac = (match.group(1), match.group(2)) if match else ("", None)
    if not whole and not frac:
        raise _duration_error(text)
    rest = rest[match.end() if match else 0 :]
    unit_match = re.match(r"[^0-9.]+", rest)
    if not unit_match:
        raise PolicyTextError(f'time: missing unit in duration "{text}"')
    unit = unit_match.group(0)
    if unit not in _NANOS:
        raise PolicyTextError(f'time: unknown unit "{unit}" in duration "{text}"')
    scale = _NANOS[unit]
    value = int(whole or "0") * scale
    if frac:
        # Go adds the fraction through float64, truncating; mirror that.
        value += int(float(int(frac)) * (scale / 10 ** len(frac)))
    if value > _INT64_MAX:
        raise _duration_error(text)
    return value, rest[unit_match.end() :]


def go_parse_duration(text: str) -> int:
    """time.ParseDuration, returning nanoseconds."""
    sign, rest = 1, text
    if rest[:1] in "+-" and rest:
        sign, rest = (-1 if rest[0] == "-" else 1), rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise _duration_error(text)
    total = 0
    while rest:
        value, rest = _scan_duration_term(text, rest)
        total += value
        if total > _INT64_MAX:
            raise _duration_error(text)
    return sign * total


def parse_duration_seconds(value: Any) -> int:
    """parseutil.ParseDurationSecond: bare numbers are seconds; returns nanoseconds.

    Accepts what OpenBao accepts for TTL-like fields: ints and floats (whole
    seconds, truncated), numeric strings, ``"<n>d"`` days and Go durations.
    """
    second = 1_000_000_000
    if value is None:
        return 0
    if isinstance(value, bool):
        raise PolicyTextError("could not parse duration from input")
    if isinstance(value, int):
        return value * second
    if isinstance(value, float):
        return math.trunc(value) * second
    if not isinstance(value, str):
        raise PolicyTextError("could not parse duration from input")
    if value == "":
        return 0
    if _DECIMAL_RE.fullmatch(value):
        return go_parse_int10(value) * second
    if value.endswith("d"):
        return go_parse_int10(value[:-1]) * 86_400 * second
    return go_parse_duration(value)


def parse_absolute_time(text: str) -> datetime:
    """parseutil.ParseAbsoluteTime for strings: RFC 3339 or unix seconds."""
    if _RFC3339_RE.fullmatch(text):
        trimmed = re.sub(r"\.(\d{6})\d+", r".\1", text).replace("Z", "+00:00")
        try:
            return datetime.fromisoformat(trimmed)
        except ValueError:
            pass
    elif _DECIMAL_RE.fullmatch(text):
        try:
            return datetime.fromtimestamp(go_parse_int10(text), tz=UTC)
        except (OverflowError, OSError, ValueError, PolicyTextError):
            pass
    raise PolicyTextError("could not parse string as date and time")

"""Go's time.Format, for the username templates' ``timestamp`` function.

Go writes a layout as the reference time ``Mon Jan 2 15:04:05 MST 2006`` in the shape
wanted (``2006-01-02T15:04:05Z07:00`` is RFC 3339); everything else is literal text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

# Go's chunks, longest first where one begins another (time/format.go, nextStdChunk).
_CHUNK = re.compile(
    r"January|Jan(?![a-z])|Monday|Mon(?![a-z])|MST|2006|002|__2|_2(?!006)|01|02|03|04|05|06"
    r"|15|1|2|3|4|5|PM|pm|Z07:00:00|Z070000|Z07:00|Z0700|Z07|-07:00:00|-070000|-07:00|-0700|-07"
    r"|[.,](?:0+|9+)(?!\d)"
)


def _offset(moment: datetime, chunk: str) -> str:
    seconds = int(moment.utcoffset().total_seconds()) if moment.utcoffset() else 0
    if chunk.startswith("Z") and seconds == 0:
        return "Z"
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    colon = ":" if ":" in chunk else ""
    digits = len(chunk.replace(":", "")) - 1  # 2, 4 or 6 digits after the sign
    parts = [f"{hours:02d}", f"{minutes:02d}", f"{secs:02d}"][: digits // 2]
    return sign + colon.join(parts)


def _fraction(moment: datetime, chunk: str) -> str:
    digits = f"{moment.microsecond:06d}000"[: len(chunk) - 1]
    if chunk[1] == "9":  # trailing zeros dropped, and the separator with them if nothing is left
        digits = digits.rstrip("0")
        return chunk[0] + digits if digits else ""
    return chunk[0] + digits


def _hour12(moment: datetime) -> int:
    return moment.hour % 12 or 12


_FORMATTERS: dict[str, Callable[[datetime], str]] = {
    "January": lambda m: m.strftime("%B"),
    "Jan": lambda m: m.strftime("%b"),
    "Monday": lambda m: m.strftime("%A"),
    "Mon": lambda m: m.strftime("%a"),
    "MST": lambda m: m.tzname() or "UTC",
    "2006": lambda m: f"{m.year:04d}",
    "06": lambda m: f"{m.year % 100:02d}",
    "01": lambda m: f"{m.month:02d}",
    "1": lambda m: str(m.month),
    "02": lambda m: f"{m.day:02d}",
    "2": lambda m: str(m.day),
    "_2": lambda m: f"{m.day:2d}",
    "002": lambda m: f"{m.timetuple().tm_yday:03d}",
    "__2": lambda m: f"{m.timetuple().tm_yday:3d}",
    "15": lambda m: f"{m.hour:02d}",
    "03": lambda m: f"{_hour12(m):02d}",
    "3": lambda m: str(_hour12(m)),
    "04": lambda m: f"{m.minute:02d}",
    "4": lambda m: str(m.minute),
    "05": lambda m: f"{m.second:02d}",
    "5": lambda m: str(m.second),
    "PM": lambda m: "PM" if m.hour >= 12 else "AM",
    "pm": lambda m: "pm" if m.hour >= 12 else "am",
}


def go_format(moment: datetime, layout: str) -> str:
    """``moment`` (timezone-aware) written in Go ``layout``."""

    def chunk(match: re.Match[str]) -> str:
        text = match.group(0)
        if text[0] in ".,":
            return _fraction(moment, text)
        if text[0] in "Z-":
            return _offset(moment, text)
        return _FORMATTERS[text](moment)

    return _CHUNK.sub(chunk, layout)

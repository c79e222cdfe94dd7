"""Where Firehose puts audit objects in S3, so that a time window lists only its days.

Firehose names an object ``<evaluated prefix><stream>-<version>-YYYY-MM-DD-HH-MM-SS-<id>``
in UTC. ``!{timestamp:<pattern>}`` expressions in the stream's prefix (Java
DateTimeFormatter patterns) take the arrival time of the object's oldest record; a prefix
without expressions gets Firehose's default ``YYYY/MM/dd/HH/`` after it. infra/ partitions
by day: ``audit/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from chalicelib.tokens.clock import NANOS

__all__ = ["day_prefixes", "evaluate", "object_time"]

_EXPRESSION = re.compile(r"!\{([^:}]+):([^}]*)\}")
# A Java pattern: a quoted literal ('' is a quote), a run of one letter, or other characters.
_PATTERN_PART = re.compile(r"'([^']*)'|([A-Za-z])\2*|[^A-Za-z']+")
_FIELDS = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_FINER_THAN_A_DAY = ("%H", "%M", "%S")
_DEFAULT_TIME_PREFIX = "!{timestamp:yyyy/MM/dd}/"  # the HH level of Firehose's default is left out
_NAME_TIME = re.compile(r"-(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-[^/]*\Z")


def _strftime(pattern: str) -> str | None:
    """``pattern`` as a strftime format; None when it uses a field not handled here."""
    parts, position = [], 0
    for match in _PATTERN_PART.finditer(pattern):
        if match.start() != position:
            return None  # an unclosed quote
        position = match.end()
        quoted, letter = match.group(1), match.group(2)
        if quoted is not None:
            parts.append((quoted or "'").replace("%", "%%"))
        elif letter is None:
            parts.append(match.group(0).replace("%", "%%"))
        elif match.group(0) in _FIELDS:
            parts.append(_FIELDS[match.group(0)])
        else:
            return None
    return "".join(parts) if position == len(pattern) else None


def evaluate(prefix: str, when: datetime) -> str:
    """``prefix`` with its timestamp expressions evaluated at ``when`` (others kept as
    written): the prefix of an object whose oldest record arrived then."""

    def value(match: re.Match[str]) -> str:
        form = _strftime(match.group(2)) if match.group(1) == "timestamp" else None
        return match.group(0) if form is None else when.strftime(form)

    return _EXPRESSION.sub(value, prefix)


def _day_prefix(prefix: str, day: date) -> str:
    """The key prefix common to the objects of ``day``: evaluated up to the first expression
    that is finer than a day or not a timestamp (the listing then filters by name)."""
    parts, position = [], 0
    for match in _EXPRESSION.finditer(prefix):
        parts.append(prefix[position:match.start()])
        form = _strftime(match.group(2)) if match.group(1) == "timestamp" else None
        if form is None or any(field in form for field in _FINER_THAN_A_DAY):
            return "".join(parts)
        parts.append(day.strftime(form))
        position = match.end()
    return "".join(parts) + prefix[position:]


def day_prefixes(prefix: str, days: list[date]) -> list[str]:
    """The distinct listing prefixes of ``days``, in their order."""
    if not _EXPRESSION.search(prefix):
        prefix += _DEFAULT_TIME_PREFIX
    return list(dict.fromkeys(_day_prefix(prefix, day) for day in days))


def object_time(key: str) -> int | None:
    """Unix nanoseconds of the time in an object's Firehose name; None for other names."""
    match = _NAME_TIME.search(key)
    if match is None:
        return None
    try:
        moment = datetime(*(int(part) for part in match.groups()), tzinfo=UTC)
    except ValueError:
        return None
    return int(moment.timestamp()) * NANOS

"""Standard 5-field cron schedules (minute hour day-of-month month day-of-week), in UTC,
as Vault's rotation_schedule (robfig/cron's standard parser): ``*``, numbers, ranges,
steps and lists; day-of-month and day-of-week match either when both are restricted.

Own code rather than a new dependency: the engine needs "the next time after t" only,
which is ~60 lines over five small sets.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))  # Sunday is 0 or 7
_MAX_YEARS = 5  # "30 2 31 2 *" never matches: give up instead of looping forever


class CronError(ValueError):
    """An invalid schedule; the message is safe to show."""


class Schedule(NamedTuple):
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month was "*"
    any_weekday: bool

    def matches_day(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after ``moment``."""
        current = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = current + timedelta(days=366 * _MAX_YEARS)
        while current < limit:
            if current.month not in self.months:
                current = (current.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(
                    day=1
                )
            elif not self.matches_day(current):
                current = current.replace(hour=0, minute=0) + timedelta(days=1)
            elif current.hour not in self.hours:
                current = current.replace(minute=0) + timedelta(hours=1)
            elif current.minute not in self.minutes:
                current += timedelta(minutes=1)
            else:
                return current
        raise CronError("schedule never matches")


def _field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else (1 if not step_text else 0)
        if step <= 0:
            raise CronError(f"invalid step in {part!r}")
        if body == "*":
            start, end = low, high
        else:
            first, dash, last = body.partition("-")
            if not first.isdigit() or (dash and not last.isdigit()):
                raise CronError(f"invalid value {part!r}")
            start = int(first)
            end = int(last) if dash else (high if step_text else start)
        if not low <= start <= end <= high:
            raise CronError(f"value out of range in {part!r} ({low}-{high})")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse(text: str) -> Schedule:
    fields = text.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {text!r}")
    parsed = [_field(part, low, high) for part, (low, high) in zip(fields, _BOUNDS, strict=True)]
    weekdays = frozenset(day % 7 for day in parsed[4])
    return Schedule(*parsed[:4], weekdays, fields[2] == "*", fields[4] == "*")

"""When a reminder is due: a schedule's local wall-clock times as UTC instants, checked and described."""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from bot.domain.reminder import Frequency, Schedule

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HORIZON = timedelta(days=5 * 366)  # a schedule with no due time this far ahead is treated as ended
CHANGE_SPAN = timedelta(days=2)  # clocks are taken to change at most once in this long
CRON_RUNS_CHECKED = 48
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


def parse_time(text: str) -> str | None:
    """Normalise "9:00" or "09:00" to "09:00"; None unless it is a time of day on the 24-hour clock."""
    match = _CLOCK.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        return None
    return f"{int(match[1]):02d}:{match[2]}"


def clock_error(text: str) -> str | None:
    """Why `text` is not a time "HH:MM" from 00:00 to 23:59, or None if it is one."""
    return None if parse_time(text) == text else "Enter a time like 09:00 (24-hour clock, 00:00 to 23:59)."


def time_zone_error(name: str) -> str | None:
    """Why `name` is not an IANA time zone, or None if it is one."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError: "../x", "/etc/x"; OSError: "America"
        return f"Unknown time zone {name!r}: use a name like Europe/London."
    return None


def to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of the naive wall-clock time `wall` in `zone`."""
    # fold=0: a time skipped by spring-forward takes the offset from before the change (01:30 on
    # 2026-03-29 in London runs at 01:30 GMT = 02:30 BST, shifted forward by the gap), and a time
    # repeated by fall-back its first occurrence, so it runs once.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_run(schedule: Schedule, after: datetime) -> datetime | None:
    """The first due time strictly after `after` (aware), in UTC; None if none is left before the end."""
    zone = ZoneInfo(schedule.timezone)
    local = after.astimezone(zone).replace(tzinfo=None)
    # A time skipped by spring-forward runs later than its place on the clock (see to_utc), so the scan
    # starts as far before `after` as the clock has just jumped forward, and goes on past the first hit as
    # far as the clock is about to jump: a later wall-clock time may run earlier.
    begin = max(datetime.combine(schedule.start, time()), local - _jump(zone, local - CHANGE_SPAN, local))
    last = min(begin.date() + HORIZON, schedule.end or date.max)
    best: datetime | None = None
    stop = datetime.max
    for wall in _walls(schedule, begin, last):
        instant = to_utc(wall, zone)
        if instant > after and (best is None or instant < best):
            best, stop = instant, min(stop, wall + _jump(zone, wall, wall + CHANGE_SPAN))
        if wall >= stop:
            break
    return best


def due_times(schedule: Schedule, after: datetime, until: datetime, limit: int = 1000) -> list[datetime]:
    """Every due time in (after, until], oldest first, at most the first `limit`."""
    times: list[datetime] = []
    while len(times) < limit and (due := next_run(schedule, after)) is not None and due <= until:
        times.append(due)
        after = due
    return times


def schedule_errors(schedule: Schedule) -> dict[str, str]:
    """Each wrong field's id -> a one-line message for the person setting it; empty when valid."""
    errors: dict[str, str] = {}
    frequency = schedule.frequency
    if message := time_zone_error(schedule.timezone):
        errors["timezone"] = message
    if frequency is not Frequency.CRON and (message := clock_error(schedule.time)):
        errors["time"] = message
    if frequency is Frequency.WEEKDAYS and not schedule.weekdays:
        errors["weekdays"] = "Choose at least one day."
    elif frequency is Frequency.WEEKLY and len(schedule.weekdays) != 1:
        errors["weekdays"] = "Choose exactly one day."
    elif not schedule.weekdays <= set(range(7)):
        errors["weekdays"] = "Days run from Monday (0) to Sunday (6)."
    if frequency is Frequency.MONTHLY and not 1 <= schedule.day_of_month <= 31:
        errors["day_of_month"] = "Choose a day of the month from 1 to 31."
    if frequency is Frequency.CRON and (message := _cron_error(schedule.cron, schedule.start)):
        errors["cron"] = message
    if schedule.end is not None and schedule.end < schedule.start:
        errors["end"] = "The end date is before the start date."
    return errors


def describe(schedule: Schedule) -> str:
    """A short plain-English summary, e.g. "Mondays and Wednesdays at 16:30 (Europe/London)"."""
    at = f"at {schedule.time} ({schedule.timezone})"
    days = sorted(schedule.weekdays)
    match schedule.frequency:
        case Frequency.DAILY:
            text = f"Every day {at}"
        case Frequency.WEEKDAYS:
            text = f"{_join(DAY_NAMES[day] + 's' for day in days)} {at}"
        case Frequency.WEEKLY:
            text = f"Weekly on {_join(DAY_NAMES[day] for day in days)} {at}"
        case Frequency.MONTHLY:
            shorter = " (or the month's last day)" if schedule.day_of_month > 28 else ""
            text = f"Monthly on day {schedule.day_of_month}{shorter} {at}"
        case _:
            text = f"Cron {schedule.cron} ({schedule.timezone})"
    if schedule.end is not None:
        text += f" until {schedule.end.day} {schedule.end:%b %Y}"
    return text


def _jump(zone: ZoneInfo, earlier: datetime, later: datetime) -> timedelta:
    """How far the clock goes forward between two naive wall-clock times (zero if it goes back)."""
    offsets = [wall.replace(tzinfo=zone, fold=0).utcoffset() or timedelta() for wall in (earlier, later)]
    return max(timedelta(), offsets[1] - offsets[0])


def _walls(schedule: Schedule, begin: datetime, last: date) -> Iterator[datetime]:
    """The schedule's naive local wall-clock times from about `begin` to the end of `last`, in order."""
    if schedule.frequency is Frequency.CRON:
        # Over naive wall-clock times, localised later by to_utc: croniter's own aware iteration fires
        # twice on the autumn fall-back in Europe/London ('30 1 * * *' gives both 01:30 BST and
        # 01:30 GMT on 2026-10-25).
        runs = croniter(schedule.cron, begin - timedelta(minutes=1))
        while True:
            try:
                wall = runs.get_next(datetime)
            except CroniterBadDateError:  # it never matches again, e.g. 30 February
                return
            if wall.date() > last:
                return
            yield wall
    clock = time.fromisoformat(parse_time(schedule.time) or schedule.time)
    day = begin.date()
    while day <= last:
        if _falls_on(schedule, day):
            yield datetime.combine(day, clock)
        day += timedelta(days=1)


def _falls_on(schedule: Schedule, day: date) -> bool:
    match schedule.frequency:
        case Frequency.WEEKDAYS | Frequency.WEEKLY:
            return day.weekday() in schedule.weekdays
        case Frequency.MONTHLY:
            return day.day == min(schedule.day_of_month, monthrange(day.year, day.month)[1])
        case _:
            return True


def _cron_error(expression: str, start: date) -> str | None:
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        return "Enter a cron expression of five fields: minute hour day-of-month month day-of-week."
    runs = croniter(expression, datetime.combine(start, time()))
    try:
        walls = [runs.get_next(datetime) for _ in range(CRON_RUNS_CHECKED)]
    except CroniterBadDateError:
        return "This cron expression never runs."
    if any(later - earlier < timedelta(hours=1) for earlier, later in pairwise(walls)):
        return "Reminders can repeat at most once an hour."
    return None


def _join(words: Iterable[str]) -> str:
    words = list(words)
    return " and ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} and {words[-1]}"

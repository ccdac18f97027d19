"""Working hours: a window (such as escalation's) that counts only the time inside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.schedule import clock_error, time_zone_error, to_utc


@dataclass(frozen=True)
class WorkingHours:
    """The hours of the working days, in local wall-clock time of `timezone`."""

    start: str  # "HH:MM"
    end: str  # "HH:MM", later the same day
    days: frozenset[int]  # 0 = Monday
    timezone: str


def working_hours_errors(working: WorkingHours) -> dict[str, str]:
    """Each wrong field's name -> a one-line message; empty when valid."""
    errors = {field: message for field, message in (
        ("start", clock_error(working.start)),
        ("end", clock_error(working.end)),
        ("timezone", time_zone_error(working.timezone)),
    ) if message}
    if not errors.keys() & {"start", "end"} and working.end <= working.start:
        errors["end"] = "Working hours must end after they start."
    if not working.days or not working.days <= set(range(7)):
        errors["days"] = "Choose at least one working day, Monday (0) to Sunday (6)."
    return errors


def add_working_time(start: datetime, hours: float, working: WorkingHours | None) -> datetime:
    """`start` (aware) plus `hours`, counting only working hours unless `working` is None; in UTC."""
    left = timedelta(hours=hours)
    start = start.astimezone(UTC)
    if working is None:
        return start + left
    if hours < 0 or working_hours_errors(working):
        raise ValueError("add_working_time needs hours >= 0 and valid working hours")
    zone = ZoneInfo(working.timezone)
    opens, closes = time.fromisoformat(working.start), time.fromisoformat(working.end)
    # From the day before: a closing time skipped by spring-forward late that day can still be after `start`.
    day = start.astimezone(zone).date() - timedelta(days=1)
    while True:
        if day.weekday() in working.days:
            begin = max(start, _instant(day, opens, zone))
            close = _instant(day, closes, zone)
            if close > begin:
                if left <= close - begin:
                    return begin + left
                left -= close - begin
        day += timedelta(days=1)


def _instant(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return to_utc(datetime.combine(day, clock), zone)

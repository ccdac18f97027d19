"""Dates as UK staff type them: 12/03/2026, 12 March 2026, 12 Mar 26, 2026-03-12, today, yesterday."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name} | {
    name.lower(): number for number, name in enumerate(calendar.month_abbr) if name} | {"sept": 9}
_NUMERIC = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_WORDS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([a-z]+)\.?,?\s+(\d{2}|\d{4})")
RELATIVE = {"today": 0, "yesterday": 1}


def read_date(text: str, *, today: date) -> tuple[date | None, str]:
    """(the date, "") or (None, why it is not a date), reading day before month as the UK does."""
    typed = " ".join(str(text).strip().lower().split())
    if typed in RELATIVE:
        return today - timedelta(days=RELATIVE[typed]), ""
    parts = _parts(typed)
    if parts is None:
        return None, "Please give a date like 12/03/2026, 12 March 2026, or 'yesterday'."
    year, month, day = parts
    if year < 100:
        year += 2000 if 2000 + year <= today.year else 1900
    if not 1 <= month <= 12:
        return None, f"There is no month {month}: give the day first, then the month (12/03/2026 is 12 March)."
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return None, f"There is no {day} {calendar.month_name[month]} {year}: that month has {days} days."
    return date(year, month, day), ""


def _parts(typed: str) -> tuple[int, int, int] | None:
    if match := _ISO.fullmatch(typed):
        year, month, day = map(int, match.groups())
        return year, month, day
    if match := _NUMERIC.fullmatch(typed):
        day, month, year = map(int, match.groups())
        return year, month, day
    if (match := _WORDS.fullmatch(typed)) and match.group(2) in _MONTHS:
        return int(match.group(3)), _MONTHS[match.group(2)], int(match.group(1))
    return None

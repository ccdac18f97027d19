"""Awareness reminders: what an admin schedules, each claimed send, and the anonymous button counts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

ROTATION = "rotation"  # a reminder's topic: every tip in turn, one per send
DEFAULT_TIME_ZONE = "Europe/London"
SEEDED_BY = "app.yaml"  # `created_by` of a reminder seeded from app.yaml


class Frequency(StrEnum):
    """How often a reminder repeats."""

    DAILY = "daily"
    WEEKDAYS = "weekdays"  # on chosen days of the week
    WEEKLY = "weekly"  # on one day of the week
    MONTHLY = "monthly"  # on one day of the month (the last day in shorter months)
    CRON = "cron"  # a five-field cron expression


@dataclass(frozen=True)
class Schedule:
    """When a reminder is due, in local wall-clock time of `timezone` (computed in bot.domain.schedule)."""

    frequency: Frequency
    start: date
    time: str = "09:00"  # "HH:MM" local; unused by CRON
    timezone: str = DEFAULT_TIME_ZONE
    weekdays: frozenset[int] = frozenset()  # 0 = Monday; WEEKDAYS (one or more), WEEKLY (exactly one)
    day_of_month: int = 0  # MONTHLY: 1..31
    cron: str = ""  # CRON: "minute hour day-of-month month day-of-week"
    end: date | None = None  # the last day it may run, inclusive


@dataclass(frozen=True)
class Reminder:
    """A scheduled awareness reminder. Holds no personal data beyond who created it."""

    id: str
    name: str
    channels: tuple[str, ...]  # platform-qualified channel ids, e.g. "slack:C0123ABCD"
    schedule: Schedule
    topic: str  # a tip id from content/tips.yaml, or ROTATION
    created_by: str  # platform-qualified user id, or SEEDED_BY
    created_at: datetime
    next_run: datetime | None  # UTC; None once the schedule has ended
    paused: bool = False
    deleted: bool = False  # kept (not removed) so a seeded reminder an admin deleted is not seeded again
    sends: int = 0  # sends claimed so far: the rotation's position
    blocked_channels: tuple[str, ...] = ()  # the platform refused a post there: skipped until edited or resumed
    updated_at: datetime | None = None
    version: int = 1

    @property
    def active(self) -> bool:
        """Whether the scheduler should send it when due."""
        return not (self.paused or self.deleted) and self.next_run is not None

    @property
    def targets(self) -> tuple[str, ...]:
        """The channels a send goes to now."""
        return tuple(c for c in self.channels if c not in self.blocked_channels)

    def evolve(self, *, now: datetime, **changes: Any) -> Reminder:
        """A new version, saved with an optimistic version check (so two schedulers cannot both claim)."""
        return replace(self, updated_at=now, version=self.version + 1, **changes)


def run_id(reminder_id: str, due_at: datetime) -> str:
    """The id of the scheduled send due at `due_at`: unique, so a due time is claimed once."""
    return f"{reminder_id}@{due_at:%Y%m%dT%H%M%SZ}"


@dataclass(frozen=True)
class ReminderRun:
    """One claimed send of a reminder, recorded before anything is posted. Append-only."""

    id: str  # run_id(...) for a scheduled send; "<reminder id>@now-<uuid>" for "send now"
    reminder_id: str
    due_at: datetime
    claimed_at: datetime
    topic: str  # the tip sent (a rotation's pick is fixed here, so a retry sends the same one)
    channels: tuple[str, ...]
    requested_by: str = ""  # the admin who pressed "send now"; "" for the schedule


class PressKind(StrEnum):
    """The buttons on a reminder message."""

    DONE = "done"
    HOW = "how"  # "show me how"


@dataclass(frozen=True)
class ReminderPress:
    """One person pressing one button of one send. Counted, never shown: `presser_id` is sealed.

    Stores refuse a second press with the same (run_id, button, presser_id), so a person counts once.
    """

    id: str
    reminder_id: str
    run_id: str
    button: PressKind
    presser_id: str
    at: datetime


@dataclass(frozen=True)
class PurgeRecord:
    """What is left of a purged report: its reference and when it went. Append-only."""

    id: str
    reference: str
    purged_at: datetime

"""The organisation's scheduling settings: part of app.yaml's config (`AppConfig` is a `Policy`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.hours import WorkingHours


@dataclass(frozen=True, kw_only=True)
class Policy:
    """When reminders, escalations and retention fall due; the defaults are app.yaml's."""

    escalation_hours: float = 24.0
    working_hours: WorkingHours | None = None  # None: every hour counts towards the escalation window
    retention_days: int = 365
    reminder_grace_minutes: float = 120  # a reminder missed while the bot was down is still sent within this

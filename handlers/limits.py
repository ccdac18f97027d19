"""Per-person limits on reports and screenshots: a friendly refusal saying when, and where to go meanwhile."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.limits import WINDOW
from bot.domain.org import Actor
from bot.domain.reminder import DEFAULT_TIME_ZONE
from bot.domain.report import Delivery
from bot.domain.ui import FieldErrors
from handlers.services import Services


def limit_errors(services: Services, actor: Actor, files: int, now: datetime) -> FieldErrors:
    """Why this person cannot file a report with `files` screenshots now ({} if they can).

    Kept short (a form shows errors in 150 characters) and beside the fields, so nothing typed is lost.
    """
    limits = services.limits
    recent = services.store.reports_by_reporter(actor.id, since=now - WINDOW)[::-1]  # oldest first
    if len(recent) >= limits.reports_per_day:
        again = recent[len(recent) - limits.reports_per_day].created_at + WINDOW
        reports = f"{len(recent)} report" + ("s" if len(recent) != 1 else "")
        return {"what_happened": f"That is {reports} in 24 hours, the most one person can send. "
                                 f"You can send again after {_when(services, actor, again)}. "
                                 "Urgent? Tell a lead now, or call 999."}
    problem = file_limit_error(services, actor, files, now)
    return {"screenshots": f"{problem} Send without them: a lead can ask."} if problem else {}


def file_limit_error(services: Services, actor: Actor, files: int, now: datetime) -> str:
    """Why this person cannot attach `files` more screenshots now ("" if they can)."""
    if not files:
        return ""
    recent = services.store.reports_by_reporter(actor.id, since=now - WINDOW)
    sent = [(r.created_at, sum(1 for item in services.store.outbox_of(r.id) if item.kind is Delivery.EVIDENCE))
            for r in recent]
    left = max(services.limits.files_per_day - sum(count for _, count in sent), 0)
    if files <= left:
        return ""
    again = min(at for at, count in sent if count) + WINDOW
    return (f"You can attach {left} more in 24 hours (the most is {services.limits.files_per_day}); "
            f"more after {_when(services, actor, again)}.")


def _when(services: Services, actor: Actor, at: datetime) -> str:
    """A time as the person reads it, in their own time zone if the platform knows it."""
    try:
        zone = ZoneInfo(services.directory_for(actor.id).time_zone(actor.id) or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        zone = ZoneInfo(DEFAULT_TIME_ZONE)
    local = at.astimezone(zone)
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b}"

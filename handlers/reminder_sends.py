"""Sending reminders: claim a due time once (in the store, before anything is posted), then fan out via the outbox.

A claim is one commit: the reminder's next version (its next due time), the run record (whose id is
unique per due time) and one outbox item per channel. Two schedulers, a restart or a crash between
claim and send cannot send a due time twice: the loser of a race gets Conflict and moves on, and the
outbox delivers each channel's item exactly once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.content import Content
from bot.domain.errors import Conflict
from bot.domain.reminder import ROTATION, Reminder, ReminderRun, run_id
from bot.domain.platform import platform_of
from bot.domain.ports import Changes
from bot.domain.report import Delivery, OutboxItem, new_id
from bot.domain.schedule import due_times, next_run
from bot.incidents import log_incident
from handlers.paging import every_page
from handlers.services import Services

log = logging.getLogger(__name__)

PAGE = 100  # reminders read at a time


def tip_for(content: Content, reminder: Reminder) -> str:
    """The tip the reminder's next send carries: its topic, or the rotation's next one."""
    if reminder.topic != ROTATION:
        return reminder.topic
    tips = list(content.tips)
    return tips[reminder.sends % len(tips)]


def claim(services: Services, reminder: Reminder, *, run: str, due_at: datetime, now: datetime,
          next_due: datetime | None, requested_by: str = "") -> Changes:
    """The commit that claims one send: run record, outbox items per channel, reminder moved on."""
    targets = reminder.targets
    record = ReminderRun(id=run, reminder_id=reminder.id, due_at=due_at, claimed_at=now,
                         topic=tip_for(services.content, reminder), channels=targets, requested_by=requested_by)
    items = tuple(OutboxItem(id=f"{run}>{channel}", kind=Delivery.REMINDER, report_id="", run_id=run,
                             platform=platform_of(channel), channel=channel, due_at=now) for channel in targets)
    moved_on = reminder.evolve(now=now, next_run=next_due, sends=reminder.sends + 1)
    return Changes(reminders=(moved_on,), runs=(record,), outbox=items)


def send_due_reminders(services: Services, *, grace: timedelta) -> int:
    """Claim every reminder due now; returns how many sends were claimed here."""
    now = services.clock.now()
    claimed = 0
    # Paged: a reminder that fails stays due, and must not hold up those after it.
    for reminder in every_page(lambda after: services.store.due_reminders(now, PAGE, after), PAGE):
        try:
            claimed += _claim_due(services, reminder, now, grace)
        except Conflict:
            continue  # another scheduler (or an admin's edit) got there first: it is handled once
        except Exception as error:  # noqa: BLE001 - one broken reminder must not stop the others
            log_incident(log, f"reminder {reminder.id}", error)
    return claimed


def _claim_due(services: Services, reminder: Reminder, now: datetime, grace: timedelta) -> int:
    assert reminder.next_run is not None
    # After downtime only the latest due time within the grace window is sent, and once.
    recent = [t for t in (reminder.next_run, *due_times(reminder.schedule, now - grace, now)) if now - t <= grace]
    latest = max(recent) if recent else None
    missed = 1 + len(due_times(reminder.schedule, reminder.next_run, now)) - (1 if latest else 0)
    if missed:
        log.warning("reminder %s: skipped %d send(s) missed while the bot was down (from %s; grace %s)",
                    reminder.id, missed, f"{reminder.next_run:%Y-%m-%d %H:%M} UTC", grace)
    following = next_run(reminder.schedule, now)
    if latest is None:
        services.store.commit(Changes(reminders=(reminder.evolve(now=now, next_run=following),)))
        return 0
    services.store.commit(claim(services, reminder, run=run_id(reminder.id, latest), due_at=latest, now=now,
                                next_due=following))
    return 1


def send_now(services: Services, reminder: Reminder, requested_by: str) -> Changes:
    """A send outside the schedule, for an admin's "send now"; the schedule is unchanged."""
    now = services.clock.now()
    return claim(services, reminder, run=f"{reminder.id}@now-{new_id()}", due_at=now, now=now,
                 next_due=reminder.next_run, requested_by=requested_by)

"""Delivering reminder posts and the admins' notices; a channel that refuses the bot is skipped and reported."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.errors import Conflict
from bot.domain.ports import Changes, Destination, Notifier, PermanentFailure
from bot.domain.platform import platform_of
from bot.domain.reminder import SEEDED_BY, Reminder, ReminderRun
from bot.domain.report import Delivery, OutboxItem, OutboxState
from bot.domain.routing import person_tag
from handlers.outbox_state import Outcome, closed, delivered, refused, retried
from handlers.reminder_cards import SHOWN_CHANNELS, refused_notice_card, reminder_card
from handlers.services import Services

log = logging.getLogger(__name__)

NOTICE_GATHER = timedelta(seconds=30)  # one notice per send lists every channel that refused it


def deliver_reminder(services: Services, notifier: Notifier, item: OutboxItem, *, maybe_sent: bool) -> Outcome:
    """Post one channel's reminder; a refusal (bot removed, archived) closes it for good."""
    now = services.clock.now()
    run, reminder = _run_and_reminder(services, item)
    tip = services.content.tips.get(run.topic) if run else None
    if run is None or reminder is None or reminder.deleted or tip is None:
        return closed(item, now, OutboxState.CANCELLED), False
    try:
        receipt = notifier.send(Destination(platform=item.platform, channel=item.channel), reminder_card(tip, run.id),
                                idempotency_key=item.id, maybe_sent=maybe_sent)
    except PermanentFailure as error:
        return _refused(services, item, run, error, now), False
    except Exception as error:  # noqa: BLE001 - every other failure is retried (only its class is logged)
        return retried(item, now, error), False
    return delivered(item, now, receipt), True


def deliver_reminder_notice(services: Services, notifier: Notifier, item: OutboxItem, *, maybe_sent: bool) -> Outcome:
    """Tell an admin which channels refused a send (gathered for a while, so it is one message)."""
    now = services.clock.now()
    run, reminder = _run_and_reminder(services, item)
    channels = run.channels if run else ()
    admins = _admins(services, reminder, channels[0]) if reminder and channels else []
    admin = next((a for a in admins if _tag(a) == item.recipient), "")
    if run is None or reminder is None or not admin:
        return closed(item, now, OutboxState.UNDELIVERABLE), False
    channels = [o.channel for o in services.store.outbox_of_run(run.id)
                if o.kind is Delivery.REMINDER and o.state is OutboxState.REFUSED]
    labels = [services.directory_for(c).channel_label(c) for c in channels[:SHOWN_CHANNELS]]
    try:
        receipt = notifier.send(Destination(platform=item.platform, user_id=admin),
                                refused_notice_card(reminder, labels, len(channels)),
                                idempotency_key=item.id, maybe_sent=maybe_sent)
    except Exception as error:  # noqa: BLE001
        return retried(item, now, error), False
    return delivered(item, now, receipt), True


def _refused(services: Services, item: OutboxItem, run: ReminderRun, error: PermanentFailure,
             now: datetime) -> OutboxItem | None:
    """Close the item, skip the channel from now on and queue the admins' notice, in one commit."""
    done = refused(item, now, error)
    for _ in range(5):  # the reminder may be moving on (a claim) at the same moment: re-read and retry
        reminder = services.store.reminder(run.reminder_id)
        if reminder is None:
            return done
        blocked = tuple(dict.fromkeys((*reminder.blocked_channels, item.channel)))
        notices = tuple(
            OutboxItem(id=f"{run.id}>notice>{tag}", kind=Delivery.REMINDER_NOTICE, report_id="", run_id=run.id,
                       platform=item.platform, recipient=tag, due_at=now + NOTICE_GATHER)
            for tag in map(_tag, _admins(services, reminder, item.channel))
            if services.store.outbox_item(f"{run.id}>notice>{tag}") is None
        )
        try:
            services.store.commit(Changes(outbox=(done, *notices),
                                          reminders=(reminder.evolve(now=now, blocked_channels=blocked),)))
            return None
        except Conflict:
            continue
    return done


def _run_and_reminder(services: Services, item: OutboxItem) -> tuple[ReminderRun | None, Reminder | None]:
    run = services.store.reminder_run(item.run_id)
    return run, services.store.reminder(run.reminder_id) if run else None


def _admins(services: Services, reminder: Reminder, channel: str) -> list[str]:
    """Who hears about a refused channel: the reminder's creator, or app.yaml's admins on that platform."""
    platform = platform_of(channel)
    if reminder.created_by != SEEDED_BY and platform_of(reminder.created_by) == platform:
        return [reminder.created_by]
    admins = sorted(a for a in services.org.admins if platform_of(a) == platform)
    if not admins:
        log.warning("reminder %s: a channel refused it and no admin is configured to tell", reminder.id)
    return admins


def _tag(user_id: str) -> str:
    # Outbox items are stored in the clear: they name a recipient by a tag, never by user id.
    return person_tag(user_id, role="admin")

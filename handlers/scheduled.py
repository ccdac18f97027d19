"""The scheduler's work, one pass at a time: reminders due, escalations due, retention due, housekeeping.

Each pass is a pure function of the store and the clock, so tests drive it with a fake clock, and
any number of schedulers may run it over one store: every step claims its work with a commit that
only one of them can win.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.domain.policy import Policy
from bot.domain.ports import Changes
from bot.domain.report import Delivery
from bot.incidents import log_incident
from handlers.escalation import escalate_due_reports
from handlers.reminder_sends import send_due_reminders
from handlers.retention import purge_due_reports
from handlers.services import Services

log = logging.getLogger(__name__)

KEEP_REMINDER_ITEMS = timedelta(days=7)  # delivered reminder posts are only needed to answer retries


@dataclass(frozen=True)
class PassResult:
    """What one pass did."""

    reminders: int = 0
    escalations: int = 0
    purges: int = 0
    pruned: int = 0

    @property
    def queued(self) -> bool:
        """Whether the outbox has something new to deliver."""
        return bool(self.reminders or self.escalations or self.purges)


def run_due_work(services: Services, policy: Policy) -> PassResult:
    """Everything due now, once, by the config's `policy`; one kind of work failing does not hold up the others."""
    return PassResult(
        reminders=_guarded("reminders", lambda: send_due_reminders(
            services, grace=timedelta(minutes=policy.reminder_grace_minutes))),
        escalations=_guarded("escalation", lambda: escalate_due_reports(
            services, window_hours=policy.escalation_hours, working=policy.working_hours)),
        purges=_guarded("retention", lambda: purge_due_reports(services, retention_days=policy.retention_days)),
        pruned=_guarded("pruning", lambda: prune_delivered(services)),
    )


def _guarded(what: str, step: Callable[[], int]) -> int:
    try:
        return step()
    except Exception as error:  # noqa: BLE001 - logged with an incident id; the next pass tries again
        log_incident(log, f"scheduler: {what}", error)
        return 0


def prune_delivered(services: Services, limit: int = 500) -> int:
    """Drop reminder posts delivered over a week ago: 1,000 channels a day must not pile up forever."""
    before = services.clock.now() - KEEP_REMINDER_ITEMS
    ids = tuple(item.id for kind in (Delivery.REMINDER, Delivery.REMINDER_NOTICE)
                for item in services.store.delivered_outbox(kind, before, limit))
    if ids:
        services.store.commit(Changes(drop_outbox=ids))
    return len(ids)

"""Retention: closed reports are purged after the retention period, leads warned 7 days before, unless held."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.domain.errors import Conflict
from bot.domain.reminder import PurgeRecord
from bot.domain.ports import Changes
from bot.domain.report import Delivery, Report, new_id
from bot.domain.routing import lead_notices
from handlers.escalation import SYSTEM
from handlers.reports import audit
from handlers.services import Services

log = logging.getLogger(__name__)

WARNING = timedelta(days=7)


def purge_date(report: Report, retention_days: float) -> datetime | None:
    """When a closed report will be purged (None while open or held); always 7 days after the warning."""
    if report.is_open or report.legal_hold:
        return None
    # Reports closed before closed_at was recorded count from their last change.
    closed_at = report.closed_at or report.updated_at or report.created_at
    due = closed_at + timedelta(days=retention_days)
    if report.retention_warned_at is not None:
        due = max(due, report.retention_warned_at + WARNING)
    return due


def purge_due_reports(services: Services, *, retention_days: float) -> int:
    """Warn the leads of purges a week away, and purge what is due; returns how many were purged."""
    now = services.clock.now()
    purged = 0
    for report in services.store.all_reports():
        due = purge_date(report, retention_days)
        if due is None:
            continue
        try:
            if report.retention_warned_at is None and now >= due - WARNING:
                services.store.commit(_warning(services, report, now))
            elif report.retention_warned_at is not None and now >= due:
                services.store.commit(Changes(purge_reports=(report,), purges=(
                    PurgeRecord(id=new_id(), reference=report.reference, purged_at=now),)))
                log.info("purged closed report %s (retention %s days)", report.reference, retention_days)
                purged += 1
        except Conflict:
            continue  # changed meanwhile (a legal hold, a reopening) or handled by another scheduler
    return purged


def _warning(services: Services, report: Report, now: datetime) -> Changes:
    warned = report.evolve(now=now, retention_warned_at=now)
    return Changes(reports=(warned,), outbox=lead_notices(services.org, warned, Delivery.RETENTION_WARNING, now),
                   audit=(audit(report, SYSTEM, "case.retention_warning", now),))

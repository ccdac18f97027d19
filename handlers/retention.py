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
BATCH = 200  # warnings, and purges, per pass


def purge_date(report: Report, retention_days: float) -> datetime | None:
    """When a closed report will be purged (None while open or held); always 7 days after the warning."""
    if report.closed_since is None or report.legal_hold:
        return None
    due = report.closed_since + timedelta(days=retention_days)
    if report.retention_warned_at is not None:
        due = max(due, report.retention_warned_at + WARNING)
    return due


def purge_due_reports(services: Services, *, retention_days: float) -> int:
    """Warn the leads of purges a week away, and purge what is due; returns how many were purged.

    At most BATCH of each per pass: a backlog (retention just shortened) drains over the next passes.
    """
    now = services.clock.now()
    retention = timedelta(days=retention_days)
    for report in services.store.reports_to_warn(now - retention + WARNING, BATCH):
        try:
            services.store.commit(_warning(services, report, now))
        except Conflict:
            continue  # changed meanwhile (a legal hold, a reopening) or handled by another scheduler
    purged = 0
    # Purged no sooner than closing + retention, nor than a week after the leads were warned.
    for report in services.store.reports_to_purge(now - retention, now - WARNING, BATCH):
        try:
            services.store.commit(Changes(purge_reports=(report,), purges=(
                PurgeRecord(id=new_id(), reference=report.reference, purged_at=now),)))
        except Conflict:
            continue
        log.info("purged closed report %s (retention %s days)", report.reference, retention_days)
        purged += 1
    return purged


def _warning(services: Services, report: Report, now: datetime) -> Changes:
    warned = report.evolve(now=now, retention_warned_at=now)
    return Changes(reports=(warned,), outbox=lead_notices(services.org, warned, Delivery.RETENTION_WARNING, now),
                   audit=(audit(report, SYSTEM, "case.retention_warning", now),))

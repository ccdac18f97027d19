"""Escalation: a report no lead has acknowledged within the window is chased, once per window."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.errors import Conflict
from bot.domain.hours import WorkingHours, add_working_time
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import Delivery, OutboxItem, Report, Status
from bot.domain.routing import alert_updates, has_recipient, lead_notices, to_reporter
from bot.domain.workflow import Role, allowed_moves
from handlers.paging import every_page
from handlers.reports import audit
from handlers.services import Services

log = logging.getLogger(__name__)

SYSTEM = Actor(id="system:scheduler", name="StaffSafe")
CHASED = "chased"  # a REPORTER_UPDATE's news: "your report is being chased"
BY_LEAD = "lead"  # an ESCALATION's cause when a lead escalated the case (automatic ones have none)
PAGE = 100  # reports read at a time


def escalate_due_reports(services: Services, *, window_hours: float, working: WorkingHours | None = None) -> int:
    """Escalate every unacknowledged open report whose next window has passed; returns how many."""
    now = services.clock.now()
    window = timedelta(hours=window_hours)
    escalated = 0
    # Paged: reports nobody may be told about, or not yet due in working time, stay due on the clock.
    due = every_page(lambda after: services.store.escalation_due(now, window, PAGE, after), PAGE)
    for report in due:
        if not has_recipient(services.org, report):
            continue  # nobody to chase: the reporter and an admin were told so when it came in
        windows = windows_passed(report, now, window_hours, working)
        if windows <= report.escalations:
            continue
        try:
            services.store.commit(_escalation(services, report, windows, now))
        except Conflict:
            continue  # acknowledged meanwhile, or another scheduler escalated it: once per window
        log.info("report %s escalated: unacknowledged after %d window(s)", report.reference, windows)
        escalated += 1
    return escalated


def windows_passed(report: Report, now: datetime, window_hours: float, working: WorkingHours | None) -> int:
    """How many whole escalation windows have passed since the report came in (working time if set)."""
    count = report.escalations
    while add_working_time(report.created_at, (count + 1) * window_hours, working) <= now:
        count += 1  # after downtime several windows may have passed: they escalate once, together
    return count


def _escalation(services: Services, report: Report, windows: int, now: datetime) -> Changes:
    status = Status.ESCALATED if Status.ESCALATED in allowed_moves(Role.SYSTEM, report.status) else report.status
    updated = report.evolve(now=now, status=status, escalations=windows)
    return Changes(
        reports=(updated,),
        outbox=(*lead_notices(services.org, updated, Delivery.ESCALATION, now),
                to_reporter(updated, Delivery.REPORTER_UPDATE, now, update=CHASED),
                *alert_updates(services.org, updated, now)),
        audit=(audit(report, SYSTEM, "case.escalate", now, detail=f"unacknowledged, window {windows}"),),
    )




def escalated_by_lead(services: Services, report: Report, now: datetime) -> tuple[OutboxItem, ...]:
    """A lead's escalation, routed as the automatic one is: the leads' channel and each backup lead."""
    return tuple(replace(item, update=BY_LEAD)
                 for item in lead_notices(services.org, report, Delivery.ESCALATION, now))


def escalation_targets(services: Services, report: Report, actor_id: str) -> frozenset[str]:
    """The backup leads a lead's escalation reaches: those who may see the report, other than that lead."""
    return (services.org.leads_for(report) & services.org.backup_leads) - {actor_id}

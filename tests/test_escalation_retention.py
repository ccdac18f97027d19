"""Escalation of unacknowledged reports and retention of closed ones: each fires once, exactly when due."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from bot.domain.hours import WorkingHours
from bot.domain.ports import Changes
from bot.domain.report import Status
from handlers import escalation, leads, reports
from handlers.delivery import deliver_due
from handlers.escalation import escalate_due_reports
from handlers.retention import purge_due_reports
from testkit.builders import a_report, report_answers
from tests.conftest import BACKUP, LEAD, STAFF


def submit(services, **answers):
    assert reports.submit_report(services, STAFF, report_answers(**answers)).ok
    return services.store.reports_by_reporter(STAFF.id)[0]


def titles(cards) -> list[str]:
    return [card.title for card in cards]


def test_an_unacknowledged_report_escalates_once_per_window(services, notifier, clock):
    report = submit(services)
    deliver_due(services, notifier)
    notifier.sent.clear()
    clock.advance(hours=24, seconds=-1)
    assert escalate_due_reports(services, window_hours=24) == 0
    clock.advance(seconds=1)
    assert escalate_due_reports(services, window_hours=24) == 1
    assert escalate_due_reports(services, window_hours=24) == 0  # once per window
    deliver_due(services, notifier)
    assert titles(notifier.to_leads()) == [f"Not yet acknowledged: {report.reference}"]
    assert titles(notifier.to_user(BACKUP.id)) == [f"Not yet acknowledged: {report.reference}"]
    [chased] = notifier.to_user(STAFF.id)
    assert "chasing" in chased.summary and report.reference in chased.summary
    escalated = services.store.report(report.id)
    assert escalated.status is Status.ESCALATED and escalated.escalations == 1
    assert "being chased" in repr(reports.my_reports(services, STAFF))
    assert notifier.updated, "the first alert is edited to show the new status"
    clock.advance(hours=24)
    assert escalate_due_reports(services, window_hours=24) == 1  # the next window
    assert services.store.report(report.id).escalations == 2


def test_an_acknowledged_report_is_never_escalated_and_an_escalated_one_can_be_acknowledged(services, clock):
    first, second = submit(services), submit(services)
    leads.acknowledge(services, LEAD, first.id)
    clock.advance(hours=25)
    assert escalate_due_reports(services, window_hours=24) == 1
    assert services.store.report(first.id).escalations == 0
    leads.acknowledge(services, LEAD, second.id)
    assert services.store.report(second.id).status is Status.ACKNOWLEDGED
    clock.advance(hours=48)
    assert escalate_due_reports(services, window_hours=24) == 0


def test_after_downtime_missed_windows_escalate_once(services, clock):
    report = submit(services)
    clock.advance(days=5)
    assert escalate_due_reports(services, window_hours=24) == 1
    assert services.store.report(report.id).escalations == 5
    assert escalate_due_reports(services, window_hours=24) == 0


def test_working_hours_count_only_working_time(services, clock):
    clock.current = datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)  # Friday 16:00 London
    submit(services)
    hours = WorkingHours(start="08:00", end="18:00", days=frozenset(range(5)), timezone="Europe/London")
    clock.current = datetime(2026, 11, 30, 9, 59, tzinfo=timezone.utc)  # Monday: 2 h Friday + 1 h 59
    assert escalate_due_reports(services, window_hours=4, working=hours) == 0
    clock.advance(minutes=1)
    assert escalate_due_reports(services, window_hours=4, working=hours) == 1


def test_a_report_about_a_lead_escalates_to_the_other_leads_only(services, notifier, clock):
    report = submit(services, perpetrator="colleague", subject=LEAD.id)
    deliver_due(services, notifier)
    notifier.sent.clear()
    clock.advance(hours=24)
    escalate_due_reports(services, window_hours=24)
    deliver_due(services, notifier)
    assert notifier.to_leads() == [] and notifier.to_user(LEAD.id) == []
    assert titles(notifier.to_user(BACKUP.id)) == [f"Not yet acknowledged: {report.reference}"]


def closed_report(services, clock):
    report = submit(services)
    leads.set_status(services, LEAD, report.id, "closed")
    return services.store.report(report.id)


def test_a_closed_report_is_warned_7_days_before_and_purged_when_due(services, notifier, clock):
    report = closed_report(services, clock)
    closed_at = report.closed_at
    clock.current = closed_at + timedelta(days=30 - 7) - timedelta(seconds=1)
    assert purge_due_reports(services, retention_days=30) == 0
    assert services.store.report(report.id).retention_warned_at is None
    clock.advance(seconds=1)
    assert purge_due_reports(services, retention_days=30) == 0
    assert services.store.report(report.id).retention_warned_at == clock.now()
    deliver_due(services, notifier)
    [warning] = [c for c in notifier.to_leads() if "will be deleted" in c.title]
    assert "Legal hold" in [b.label for b in warning.buttons]
    clock.current = closed_at + timedelta(days=30) - timedelta(seconds=1)
    assert purge_due_reports(services, retention_days=30) == 0
    clock.advance(seconds=1)
    assert purge_due_reports(services, retention_days=30) == 1
    assert purge_due_reports(services, retention_days=30) == 0
    assert services.store.report(report.id) is None
    assert services.store.notes(report.id) == [] and services.store.audit(report.id) == []
    [record] = services.store.purges()
    assert (record.reference, record.purged_at) == (report.reference, clock.now())


def test_a_legal_hold_stops_the_purge_and_lifting_it_warns_again(services, clock):
    report = closed_report(services, clock)
    clock.advance(days=360)
    purge_due_reports(services, retention_days=365)  # warned
    leads.set_legal_hold(services, LEAD, report.id)
    assert "already" in leads.set_legal_hold(services, BACKUP, report.id).text  # a second press changes nothing
    clock.advance(days=100)
    assert purge_due_reports(services, retention_days=365) == 0
    leads.set_legal_hold(services, LEAD, report.id, held=False)
    assert purge_due_reports(services, retention_days=365) == 0  # warned again first
    clock.advance(days=7)
    assert purge_due_reports(services, retention_days=365) == 1
    assert [e.action for e in services.store.audit(report.id)] == []


def test_reopening_stops_the_retention_clock(services, clock):
    report = closed_report(services, clock)
    clock.advance(days=100)
    leads.set_status(services, LEAD, report.id, "in_progress")
    clock.advance(days=400)
    assert purge_due_reports(services, retention_days=365) == 0
    assert services.store.report(report.id).closed_at is None


def test_open_reports_are_never_purged(services, clock):
    submit(services)
    clock.advance(days=1000)
    assert purge_due_reports(services, retention_days=365) == 0


def test_reports_nobody_may_be_told_about_do_not_hold_up_a_due_escalation(services, clock):
    # They stay due on the clock for ever; more than a page of them must not hide the one behind.
    services = replace(services, org=replace(services.org, backup_leads=frozenset()))
    about_the_only_lead = [a_report(reporter_id=f"console:staff{n}", subject_id=LEAD.id, created_at=clock.now())
                           for n in range(escalation.PAGE + 1)]
    services.store.commit(Changes(reports=tuple(about_the_only_lead)))
    clock.advance(minutes=1)
    chased = submit(services)
    clock.advance(hours=24)
    assert escalate_due_reports(services, window_hours=24) == 1
    assert services.store.report(chased.id).escalations == 1
    assert all(services.store.report(r.id).escalations == 0 for r in about_the_only_lead)

"""No report goes nowhere, and every message that says what will happen is true when it is said."""

from __future__ import annotations

import pytest

from bot.config import parse_config, recipient_warnings
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Organisation
from bot.domain.report import Delivery, Status
from bot.domain.routing import lead_notices, leads_nobody_covers
from handlers import leads, reports
from handlers.delivery import deliver_due
from handlers.escalation import escalate_due_reports
from handlers.services import Services
from testkit.builders import report_answers
from tests.conftest import BACKUP, LEAD, STAFF

ADMIN = "console:ada"


@pytest.fixture
def sole_lead(content, clock):
    """The README's own example: one lead, no backup lead."""
    from bot.store.memory import MemoryStore

    org = Organisation(name="Example Academy Trust", leads=frozenset({LEAD.id}), admins=frozenset({ADMIN}),
                       names={LEAD.id: LEAD.name})
    store = MemoryStore()
    yield Services(store=store, content=content, clock=clock, org=org, guidance=GuidanceEngine(content=content))
    store.close()


def text_of(cards) -> str:
    """The cards' words as written (not wrapped by a renderer)."""
    return "\n".join(f"{card.title}\n" + "\n".join(f"{s.heading}\n{s.body}\n{s.quote}\n"
                                                   + "\n".join(f"{f.label}: {f.value}" for f in s.facts)
                                                   for s in card.sections) for card in cards)


def submit(services, **answers):
    result = reports.submit_report(services, STAFF, report_answers(**answers))
    assert result.ok, result.errors
    return result.reply.text, services.store.reports_by_reporter(STAFF.id)[0]


def test_a_report_about_the_only_lead_tells_the_reporter_the_truth_at_once(sole_lead, notifier):
    said, report = submit(sole_lead, perpetrator="colleague", subject=LEAD.id)
    assert "Nobody here can read it yet" in said and "will be alerted" not in said
    for where_else in ("line manager", "senior colleague", "HR", "union", "Professionals Online Safety Helpline",
                       "0344 381 4772"):
        assert where_else in said
    assert "I am telling an admin" in said
    kinds = {item.kind for item in sole_lead.store.outbox_of(report.id)}
    assert kinds == {Delivery.RECEIPT, Delivery.REPORT_WAITING}
    deliver_due(sole_lead, notifier)
    receipt = text_of(notifier.to_user(STAFF.id))
    assert "Nobody here can read it yet" in receipt and "being alerted" not in receipt
    assert notifier.to_user(LEAD.id) == [] and notifier.to_leads() == []


def test_admins_get_a_notice_without_any_detail_of_the_report(sole_lead, notifier):
    _, report = submit(sole_lead, perpetrator="colleague", subject=LEAD.id, what_happened="SECRET WORDS")
    deliver_due(sole_lead, notifier)
    notice = text_of(notifier.to_user(ADMIN))
    assert "A report is waiting for someone who can read it" in notice and "backup_leads" in notice
    for detail in (report.reference, "SECRET WORDS", LEAD.name, LEAD.id, STAFF.name, "Facebook"):
        assert detail not in notice


def test_an_admin_who_is_the_person_reported_is_not_told(content, clock, notifier):
    from bot.store.memory import MemoryStore

    org = Organisation(name="Trust", leads=frozenset({LEAD.id}), admins=frozenset({LEAD.id}))
    services = Services(store=MemoryStore(), content=content, clock=clock, org=org,
                        guidance=GuidanceEngine(content=content))
    said, report = submit(services, perpetrator="colleague", subject=LEAD.id)
    assert "Nobody here can read it yet" in said and "I am telling an admin" not in said
    assert [i.kind for i in services.store.outbox_of(report.id)] == [Delivery.RECEIPT]


def test_a_report_nobody_can_read_is_never_said_to_be_chased(sole_lead, notifier, clock):
    submit(sole_lead, perpetrator="colleague", subject=LEAD.id)
    clock.advance(hours=100)
    assert escalate_due_reports(sole_lead, window_hours=24) == 0
    deliver_due(sole_lead, notifier)
    assert "chasing" not in text_of(notifier.to_user(STAFF.id))
    assert notifier.to_user(LEAD.id) == []


def test_a_reply_on_a_report_nobody_can_read_says_so(sole_lead):
    _, report = submit(sole_lead, perpetrator="colleague", subject=LEAD.id)
    result = reports.reply_to_leads(sole_lead, STAFF, report.reference, "More happened today.")
    assert "Nobody here can read it yet" in result.reply.text and "passed to the designated leads" not in result.reply.text
    assert Delivery.LEAD_MESSAGE not in {i.kind for i in sole_lead.store.outbox_of(report.id)}


def test_what_a_reachable_report_is_promised_happens(services, notifier):
    said, report = submit(services)
    assert "I am sending you a private message" in said and "Nobody here" not in said
    deliver_due(services, notifier)
    assert "They are being alerted" in text_of(notifier.to_user(STAFF.id))
    assert [c.title for c in notifier.to_leads()] == [f"New report {report.reference}"]
    reply = reports.reply_to_leads(services, STAFF, report.reference, "More happened today.").reply.text
    assert "will be passed to the designated leads" in reply
    deliver_due(services, notifier)
    assert any(c.title.startswith("The reporter replied") for c in notifier.to_leads())


def test_a_report_about_a_lead_with_a_backup_reaches_the_backup(services, notifier):
    said, report = submit(services, perpetrator="colleague", subject=LEAD.id)
    assert "Nobody here" not in said
    deliver_due(services, notifier)
    assert notifier.to_user(BACKUP.id) and not notifier.to_user(LEAD.id)


def test_the_start_warns_of_a_lead_nobody_covers():
    sole = parse_config({"organisation": "Trust", "leads": {"console": [{"id": "lee", "name": "Lee Harper"}]}})
    assert leads_nobody_covers(sole.organisation) == ["console:lee"]
    [warning] = recipient_warnings(sole)
    assert "Lee Harper" in warning and "would reach nobody" in warning and "backup_leads" in warning
    covered = parse_config({"organisation": "Trust", "leads": {"console": ["lee"]},
                            "backup_leads": {"console": ["bea"]}})
    assert recipient_warnings(covered) == []


@pytest.mark.parametrize("typed", ["in-progress", "in progress", "in_progress", "In Progress", " IN-PROGRESS "])
def test_statuses_as_people_type_them(services, typed):
    _, report = submit(services)
    assert leads.set_status(services, LEAD, report.id, typed).ok
    assert services.store.report(report.id).status is Status.IN_PROGRESS
    again = leads.set_status(services, LEAD, report.id, typed)
    assert again.reply.text == f"{report.reference} is already in progress."


def test_a_leads_escalation_reaches_the_backup_leads_as_the_automatic_one_does(services, notifier):
    _, report = submit(services)
    deliver_due(services, notifier)
    said = leads.set_status(services, LEAD, report.id, "escalated").reply.text
    assert "escalated to senior leads" in said and "backup leads will be alerted" in said
    deliver_due(services, notifier)
    to_backup = text_of(notifier.to_user(BACKUP.id))
    assert f"Escalated: {report.reference}" in to_backup and "Lee Harper escalated" in to_backup
    assert "escalated to senior leads" in text_of(notifier.to_user(STAFF.id))
    kinds = [i for i in services.store.outbox_of(report.id) if i.kind is Delivery.ESCALATION]
    automatic = lead_notices(services.org, services.store.report(report.id), Delivery.ESCALATION, kinds[0].due_at)
    assert sorted((i.platform, i.recipient) for i in kinds) == sorted((i.platform, i.recipient) for i in automatic)


def test_a_lead_cannot_escalate_when_no_backup_lead_may_see_the_case(sole_lead):
    _, report = submit(sole_lead)
    result = leads.set_status(sole_lead, LEAD, report.id, "escalated")
    assert "no backup lead to escalate to" in result.errors["status"]
    assert sole_lead.store.report(report.id).status is Status.NEW


def test_a_backup_lead_is_told_why_they_received_a_notice(services, notifier, clock):
    _, about_lead = submit(services, perpetrator="colleague", subject=LEAD.id)
    deliver_due(services, notifier)
    told = text_of(notifier.to_user(BACKUP.id))
    assert "names one of the designated leads" in told and "another designated lead" not in told  # bea is a backup
    notifier.sent.clear()
    _, waiting = submit(services)
    clock.advance(hours=25)
    escalate_due_reports(services, window_hours=24)
    deliver_due(services, notifier)
    to_backup = text_of(c for c in notifier.to_user(BACKUP.id) if waiting.reference in c.title)
    assert "as a backup lead" in to_backup
    assert "as a backup lead" not in text_of(notifier.to_leads())


def test_my_reports_never_says_a_report_nobody_can_read_is_waiting_for_a_lead(sole_lead):
    submit(sole_lead, perpetrator="colleague", subject=LEAD.id)
    mine = text_of(reports.my_reports(sole_lead, STAFF).cards)
    assert "waiting for a designated lead" not in mine
    assert "nobody set up here can read it yet" in mine


def test_my_reports_says_waiting_when_a_lead_can_read_it(sole_lead):
    submit(sole_lead)
    assert "received, waiting for a designated lead" in text_of(reports.my_reports(sole_lead, STAFF).cards)

"""No report goes nowhere, and every message that says what will happen is true when it is said."""

from __future__ import annotations

import pytest

from bot.config import parse_config, recipient_warnings
from bot.console.render import render_card
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Organisation
from bot.domain.report import Delivery
from bot.domain.routing import leads_nobody_covers
from handlers import reports
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
    return "\n".join(render_card(card) for card in cards)


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
    assert "An admin has been told" in said
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
    assert "Nobody here can read it yet" in said and "An admin has been told" not in said
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

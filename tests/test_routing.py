"""Routing across platforms: leads on Slack and on a second (fake) platform, every notice kind."""

from __future__ import annotations


import pytest

from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Actor, Organisation
from bot.domain.ports import Notifiers
from bot.domain.report import Delivery, Report
from bot.domain.routing import LEAD_NOTICES, Recipient, lead_recipients, person_tag
from bot.store.memory import MemoryStore
from handlers import leads, reports
from handlers.delivery import deliver_due
from handlers.escalation import escalate_due_reports
from handlers.retention import purge_due_reports
from handlers.services import Services
from testkit.builders import a_report, report_answers
from testkit.fakes import RecordingNotifier

LEE, LOU = "slack:ULEE", "fakechat:lou"  # leads
BEA, BOB = "slack:UBEA", "fakechat:bob"  # backup leads
STAFF = Actor(id="slack:USAM", name="Sam Jones")
OTHER_STAFF = Actor(id="fakechat:kim", name="Kim Lee")
ALL_LEADS = {LEE, LOU, BEA, BOB}


def org(lead_platforms: frozenset[str] | None = frozenset({"slack"})) -> Organisation:
    """Leads and backup leads on Slack and on fakechat; a leads' channel on Slack only, unless told."""
    return Organisation(name="Trust", leads=frozenset({LEE, LOU}), backup_leads=frozenset({BEA, BOB}),
                        names={LEE: "Lee", LOU: "Lou", BEA: "Bea", BOB: "Bob"}, lead_platforms=lead_platforms)


def dm(user_id: str) -> Recipient:
    return Recipient(platform=user_id.partition(":")[0], tag=person_tag(user_id))


CHANNEL = Recipient(platform="slack")


@pytest.mark.parametrize("kind", [Delivery.LEAD_ALERT, Delivery.LEAD_MESSAGE])
def test_a_notice_goes_to_each_leads_channel_and_privately_to_leads_on_a_platform_without_one(kind):
    assert set(lead_recipients(org(), a_report(), kind)) == {CHANNEL, dm(LOU), dm(BOB)}


@pytest.mark.parametrize("kind", [Delivery.ESCALATION, Delivery.RETENTION_WARNING])
def test_escalations_and_warnings_also_reach_each_backup_lead_privately(kind):
    assert set(lead_recipients(org(), a_report(), kind)) == {CHANNEL, dm(LOU), dm(BOB), dm(BEA)}


@pytest.mark.parametrize("kind", sorted(LEAD_NOTICES))
def test_every_platform_with_a_leads_channel_gets_the_notice_there(kind):
    both = org(frozenset({"slack", "fakechat"}))
    channels = {r for r in lead_recipients(both, a_report(), kind) if not r.tag}
    assert channels == {CHANNEL, Recipient(platform="fakechat")}


@pytest.mark.parametrize("subject", sorted(ALL_LEADS))
@pytest.mark.parametrize("kind", sorted(LEAD_NOTICES))
def test_a_report_about_a_lead_goes_to_every_other_lead_privately_on_their_platform(subject, kind):
    for lead_platforms in (frozenset({"slack"}), frozenset({"slack", "fakechat"}), None):
        recipients = lead_recipients(org(lead_platforms), a_report(subject_id=subject), kind)
        assert set(recipients) == {dm(lead) for lead in ALL_LEADS - {subject}}  # no channel: the subject may read it


def test_a_lead_with_ids_on_two_platforms_is_told_on_both_unless_the_report_is_about_one_of_them():
    two = Organisation(name="Trust", leads=frozenset({LEE, "fakechat:lee"}), backup_leads=frozenset({BEA}),
                       lead_platforms=frozenset())
    assert set(lead_recipients(two, a_report(), Delivery.LEAD_ALERT)) == {dm(LEE), dm("fakechat:lee"), dm(BEA)}
    about = lead_recipients(two, a_report(subject_id="fakechat:lee"), Delivery.LEAD_ALERT)
    assert set(about) == {dm(LEE), dm(BEA)}


# --- through the use cases and the outbox, with one fake notifier per platform


@pytest.fixture
def services(content, clock):
    store = MemoryStore()
    yield Services(store=store, content=content, clock=clock, org=org(), guidance=GuidanceEngine(content=content))
    store.close()


@pytest.fixture
def platforms():
    return {"slack": RecordingNotifier("slack"), "fakechat": RecordingNotifier("fakechat")}


def deliver(services: Services, platforms: dict[str, RecordingNotifier]) -> None:
    deliver_due(services, Notifiers(platforms.values()))


def submit(services: Services, actor: Actor = STAFF, **answers: object) -> Report:
    assert reports.submit_report(services, actor, report_answers(**answers)).ok
    return services.store.reports_by_reporter(actor.id)[0]


def told(platforms: dict[str, RecordingNotifier], reference: str) -> set[str]:
    """Who saw a card naming `reference`: "<platform>:leads" for a channel, else the person's id."""
    seen = set()
    for platform, notifier in platforms.items():
        for destination, card, _ in notifier.sent:
            assert destination.platform == platform, "an item went to another platform's notifier"
            if reference in repr(card):
                seen.add(f"{platform}:leads" if destination.leads else destination.user_id)
    return seen


def test_a_report_from_the_second_platform_is_routed_and_its_receipt_goes_back_there(services, platforms):
    report = submit(services, OTHER_STAFF)
    deliver(services, platforms)
    assert told(platforms, report.reference) == {"slack:leads", LOU, BOB, OTHER_STAFF.id}
    assert [d.user_id for d, _, _ in platforms["fakechat"].sent if d.user_id == OTHER_STAFF.id]


@pytest.mark.parametrize("subject", [LEE, LOU])
def test_a_report_about_a_lead_on_either_platform_reaches_only_the_others(services, platforms, subject):
    report = submit(services, perpetrator="colleague", subject=subject)
    deliver(services, platforms)
    assert told(platforms, report.reference) == ALL_LEADS - {subject} | {STAFF.id}


@pytest.mark.parametrize("subject", [LEE, LOU])
def test_the_reporter_replied_notice_never_reaches_the_lead_it_is_about(services, platforms, clock, subject):
    report = submit(services, perpetrator="colleague", subject=subject)
    deliver(services, platforms)
    for notifier in platforms.values():
        notifier.sent.clear()
    assert reports.reply_to_leads(services, STAFF, report.reference, "They posted again today.").ok
    deliver(services, platforms)
    assert told(platforms, report.reference) == ALL_LEADS - {subject}
    assert not any(d.leads for n in platforms.values() for d, _, _ in n.sent)  # not the leads' channel


def test_the_reporter_replied_notice_goes_to_the_channel_and_leads_without_one(services, platforms):
    report = submit(services)
    deliver(services, platforms)
    for notifier in platforms.values():
        notifier.sent.clear()
    reports.reply_to_leads(services, STAFF, report.reference, "More screenshots coming.")
    deliver(services, platforms)
    assert told(platforms, report.reference) == {"slack:leads", LOU, BOB}


def test_escalations_go_to_every_platform_and_the_alerts_there_are_edited(services, platforms, clock):
    report = submit(services, OTHER_STAFF)
    deliver(services, platforms)
    for notifier in platforms.values():
        notifier.sent.clear()
    clock.advance(hours=24)
    assert escalate_due_reports(services, window_hours=24) == 1
    deliver(services, platforms)
    assert told(platforms, report.reference) == {"slack:leads", LOU, BOB, BEA, OTHER_STAFF.id}
    edited = {(p, d.leads, d.user_id) for p, n in platforms.items() for d, _, _ in n.updated}
    assert edited == {("slack", True, ""), ("fakechat", False, LOU), ("fakechat", False, BOB)}


def test_retention_warnings_reach_every_lead_who_may_see_the_report(services, platforms, clock):
    report = submit(services, perpetrator="colleague", subject=BOB)
    leads.set_status(services, Actor(id=LEE), report.reference, "closed")
    deliver(services, platforms)
    for notifier in platforms.values():
        notifier.sent.clear()
    clock.advance(days=30 - 7)
    purge_due_reports(services, retention_days=30)
    deliver(services, platforms)
    assert told(platforms, report.reference) == ALL_LEADS - {BOB}


def test_a_lead_removed_from_app_yaml_is_not_told(services, platforms):
    report = submit(services)
    smaller = Services(store=services.store, content=services.content, clock=services.clock,
                       org=Organisation(name="Trust", leads=frozenset({LEE}), lead_platforms=frozenset({"slack"})),
                       guidance=services.guidance)
    deliver(smaller, platforms)
    assert told(platforms, report.reference) == {"slack:leads", STAFF.id}
    assert not platforms["fakechat"].sent

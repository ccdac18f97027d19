"""Use cases end to end on the in-memory store: submit, route, handle, relay, refuse."""

import pytest

from bot.console.render import render_card
from bot.domain.errors import Conflict, InvalidTransition, NotAllowed, NotFound, user_message
from bot.domain.ports import Changes
from bot.domain.report import Delivery, NoteKind, Status
from bot.domain.report_form import MAX_TEXT
from handlers import info, leads, reports, takedown
from handlers.export import export_case
from handlers.delivery import deliver_due
from testkit.builders import report_answers
from tests.conftest import BACKUP, LEAD, OTHER, STAFF


def submit(services, actor=STAFF, **answers):
    result = reports.submit_report(services, actor, report_answers(**answers))
    assert result.ok, result.errors
    return services.store.reports_by_reporter(actor.id)[0]


def card_text(cards):
    return "\n".join(render_card(card) for card in cards)


def test_a_report_is_stored_with_its_alert_and_receipt_before_anything_is_sent(services):
    result = reports.submit_report(services, STAFF, report_answers())
    report = services.store.reports_by_reporter(STAFF.id)[0]
    assert report.reference in result.reply.text
    kinds = sorted(item.kind for item in services.store.due_outbox(services.clock.now()))
    assert kinds == [Delivery.LEAD_ALERT, Delivery.RECEIPT]
    assert [e.action for e in services.store.audit(report.id)] == ["report.submit"]


def test_the_lead_alert_is_content_light_and_the_receipt_carries_guidance(services, notifier):
    report = submit(services, what_happened="SECRET WORDS here")
    assert deliver_due(services, notifier) == 2
    alert = card_text(notifier.to_leads())
    assert report.reference in alert and "possible crime" in alert
    for private in ("SECRET WORDS", "Sam Jones", STAFF.id, "facebook.com/post"):
        assert private not in alert
    receipt = card_text(notifier.to_user(STAFF.id))
    assert report.reference in receipt and "retaliate" in receipt.lower()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("what_happened", "   ", "required"),
        ("what_happened", "x" * (MAX_TEXT + 1), "under"),
        ("first_seen", "31/02/2026", "there is no 31 february 2026"),
        ("first_seen", "12 Smarch 2026", "date like 12/03/2026"),
        ("first_seen", "12/03/1996", "more than 10 years ago"),
        ("first_seen", "2030-01-01", "future"),
        ("urls", ["not a url"], "not a web address"),
        ("urls", ["javascript:alert(1)"], "not a web address"),
        ("occasions", "0", "from 1"),
        ("occasions", "many", "whole number"),
        ("where", "myspace-forged", "choose one"),
        ("natures", ["forged"], "choose from"),
    ],
)
def test_bad_answers_get_inline_errors_and_nothing_is_stored(services, field, value, message):
    result = reports.submit_report(services, STAFF, report_answers(**{field: value}))
    assert list(result.errors) == [field]
    assert message in result.errors[field].lower()
    assert services.store.all_reports() == []


def test_lead_handles_a_case_and_the_reporter_hears_each_step(services, notifier):
    report = submit(services)
    deliver_due(services, notifier)
    assert "A parent posted" in card_text([leads.view_case(services, LEAD, report.reference)])
    leads.acknowledge(services, LEAD, report.reference)
    leads.add_note(services, LEAD, report.reference, "Called the parent.")
    leads.set_status(services, LEAD, report.reference, "waiting")
    leads.message_reporter(services, LEAD, report.reference, "Could you send the second link?")
    deliver_due(services, notifier)
    told = card_text(notifier.to_user(STAFF.id))
    assert "acknowledged by Lee Harper" in told
    assert "waiting for a reply from the platform" in told
    assert "Could you send the second link?" in told
    assert "Called the parent." not in told  # internal notes stay internal
    reports.reply_to_leads(services, STAFF, report.reference, "Here it is: https://facebook.com/post/2")
    deliver_due(services, notifier)
    assert "replied" in card_text(notifier.to_leads()[-1:]) and "post/2" not in card_text(notifier.to_leads())
    kinds = [n.kind for n in services.store.notes(report.id)]
    assert kinds == [NoteKind.INTERNAL, NoteKind.TO_REPORTER, NoteKind.FROM_REPORTER]
    actions = [e.action for e in services.store.audit(report.id)]
    assert actions == ["report.submit", "case.view", "case.ack", "case.note", "case.status", "case.message", "report.reply"]


def test_an_unnamed_acknowledgement_does_not_name_the_lead(services, notifier):
    report = submit(services)
    leads.acknowledge(services, LEAD, report.reference, named=False)
    deliver_due(services, notifier)
    assert "acknowledged by a designated lead" in card_text(notifier.to_user(STAFF.id))


def test_a_non_lead_is_refused_audited_and_nothing_changes(services):
    report = submit(services)
    for action in (leads.view_case, leads.acknowledge, leads.takedown_letter):
        with pytest.raises(NotAllowed):
            action(services, OTHER, report.id)
    with pytest.raises(NotAllowed):
        leads.set_status(services, STAFF, report.reference, "closed")
    assert services.store.report(report.id) == report
    refusals = [e for e in services.store.audit(report.id) if e.detail.startswith("refused")]
    assert len(refusals) == 4 and {e.actor_id for e in refusals} == {OTHER.id, STAFF.id}
    with pytest.raises(NotAllowed):
        leads.lead_queue(services, OTHER)


def test_a_report_about_a_lead_never_reaches_that_lead(services, notifier):
    report = submit(services, perpetrator="colleague", subject=LEAD.id)
    deliver_due(services, notifier)
    assert notifier.to_leads() == [] and notifier.to_user(LEAD.id) == []
    assert report.reference in card_text(notifier.to_user(BACKUP.id))
    with pytest.raises(NotFound, match="no report with reference"):
        leads.view_case(services, LEAD, report.reference)
    assert report.reference not in card_text(leads.lead_queue(services, LEAD).cards)
    assert report.reference in card_text(leads.lead_queue(services, BACKUP).cards)
    assert services.store.audit(report.id)[-1].detail == "refused: about this lead"


def test_workflow_rules_apply_to_leads(services):
    report = submit(services)
    with pytest.raises(InvalidTransition):
        leads.set_status(services, LEAD, report.id, "resolved")
    assert "in progress" in leads.set_status(services, LEAD, report.id, "nonsense").errors["status"]


def test_unknown_references_say_so_to_leads(services):
    with pytest.raises(NotFound):
        leads.view_case(services, LEAD, "SS-AAAAA-BBBBB")


def test_my_reports_lists_only_my_own(services):
    mine = submit(services)
    submit(services, actor=OTHER)
    text = card_text(reports.my_reports(services, STAFF).cards)
    assert mine.reference in text and text.count("SS-") == 1
    with pytest.raises(NotFound):
        reports.reply_to_leads(services, OTHER, mine.reference, "not mine")


def test_the_reporter_can_withdraw(services):
    report = submit(services)
    reports.withdraw_report(services, STAFF, report.reference.lower())
    assert services.store.report(report.id).status is Status.CLOSED


def test_failed_deliveries_are_retried_after_retry_after_and_sent_once(services, notifier, clock):
    submit(services)
    notifier.fail_next, notifier.retry_after = 2, 30
    assert deliver_due(services, notifier) == 0
    assert deliver_due(services, notifier) == 0  # not due yet: nothing sent, nothing lost
    clock.advance(seconds=31)
    assert deliver_due(services, notifier) == 2
    clock.advance(hours=1)
    assert deliver_due(services, notifier) == 0
    assert len(notifier.sent) == 2


def test_takedown_letter_from_a_report_is_prefilled_without_the_reporters_words(services):
    report = submit(services, what_happened="MY OWN WORDS")
    text = card_text(leads.takedown_letter(services, LEAD, report.id).cards)
    assert "Facebook" in text and "https://facebook.com/post/1" in text and report.reference in text
    assert "MY OWN WORDS" not in text and "{" not in text


@pytest.mark.parametrize("name, expected", [("o2", "O2"), ("THREE", "Three"), ("3", "Three"), ("Vodafone", "Vodafone"), ("orange", "EE")])
def test_hotlines_by_any_name(services, name, expected):
    assert expected in card_text(info.hotlines(services, name).cards)


def test_hotlines_for_an_unknown_network_lists_the_known_ones(services):
    with pytest.raises(NotFound, match="O2"):
        info.hotlines(services, "nokia-net")
    assert "O2" in card_text(info.hotlines(services, "").cards)


def test_takedown_form_fills_the_platforms_template(services):
    form = takedown.takedown(services, "Instagram")
    result = takedown.submit_takedown(services, STAFF, form, {
        "kind": "content", "urls": ["https://instagram.com/p/abc"], "dates": "3 Nov 2026",
        "description": "A post using my photo.", "sender": "self", "sender_name": "Sam Jones", "affected_name": ""})
    text = card_text(result.reply.cards)
    assert "Instagram" in text and "https://instagram.com/p/abc" in text and "Sam Jones" in text
    assert "{" not in text


def test_takedown_form_errors_keep_to_their_fields(services):
    form = takedown.takedown(services, "x")
    result = takedown.submit_takedown(services, STAFF, form, {"urls": ["nope"], "sender": "self", "sender_name": "Sam"})
    assert set(result.errors) == {"kind", "urls", "dates", "description"}


def test_takedown_for_an_unknown_platform_lists_the_known_ones(services):
    with pytest.raises(NotFound, match="Facebook"):
        takedown.takedown(services, "friendster")


def test_staysafe_has_the_advice_checklist_and_helplines(services):
    text = card_text(info.staysafe(services).cards)
    assert "0344 381 4772" in text and "101" in text and "checklist" in text.lower()


def test_export_has_details_guidance_and_timeline_and_never_names_an_anonymous_reporter(services):
    report = submit(services, named="anonymous", what_happened="Line one\nLine two")
    leads.acknowledge(services, LEAD, report.reference)
    leads.add_note(services, LEAD, report.reference, "Spoke to HR")
    reports.reply_to_leads(services, STAFF, report.reference, "Thank you")
    document = export_case(services, LEAD, report.reference)
    assert document.filename == f"{report.reference}.txt"
    text = document.text
    for expected in ("Line one", "Line two", "Don't reply or retaliate", "Internal note:", "Spoke to HR",
                     "Message from the reporter:", "case.ack by Lee Harper", "report.submit by the reporter", "Anonymous"):
        assert expected in text
    assert STAFF.id not in text and STAFF.name not in text
    assert services.store.audit(report.id)[-1].action == "case.export"
    with pytest.raises(NotAllowed):
        export_case(services, OTHER, report.reference)


def test_concurrent_changes_to_one_case_conflict_with_a_friendly_message(services):
    report = submit(services)
    stale = services.store.report(report.id)
    leads.acknowledge(services, LEAD, report.id)
    with pytest.raises(Conflict) as raised:
        services.store.commit(Changes(reports=(stale.evolve(now=services.clock.now(), status=Status.CLOSED),)))
    assert user_message(raised.value) == "Someone changed this at the same moment. Please try again."
    assert services.store.report(report.id).status is Status.ACKNOWLEDGED


def test_the_case_view_and_export_carry_the_data_protection_duties(services):
    report = submit(services)
    view = card_text([leads.view_case(services, LEAD, report.id)])
    assert "UK GDPR" in view and "subject access requests" in view
    document = export_case(services, LEAD, report.id).text
    assert "Duties of the people handling this case" in document and "special category data" in document
    assert "**" not in document and "](" not in document


def test_a_takedown_letter_tells_of_the_platforms_duty_to_offer_reporting(services):
    form = takedown.takedown(services, "tiktok")
    result = takedown.submit_takedown(services, STAFF, form, {
        "kind": "content", "urls": ["https://tiktok.com/@x/video/1"], "dates": "3 Nov 2026",
        "description": "A video mocking me.", "sender": "self", "sender_name": "Sam Jones"})
    text = card_text(result.reply.cards)
    assert "section 20" in text and "complaints procedure" in text


@pytest.mark.parametrize("typed", ["20/11/2026", "20 November 2026", "20 Nov 26", "2026-11-20", "20th November 2026"])
def test_first_seen_dates_as_uk_staff_type_them(services, typed):
    report = submit(services, first_seen=typed)
    assert report.first_seen.isoformat() == "2026-11-20"

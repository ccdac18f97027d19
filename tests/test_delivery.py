"""The outbox worker's rules, with a recording notifier: look before re-posting, fetch files once, edit alerts."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.platform import Capabilities
from bot.domain.ports import Changes, UncertainDelivery
from bot.domain.report import Delivery, OutboxState
from handlers import leads, reports
from handlers.delivery import deliver_due
from handlers.export import request_export
from testkit.builders import evidence_in, report_answers
from testkit.fakes import a_fetched_file
from tests.conftest import LEAD, STAFF


class LookingNotifier:
    """Wraps the recording notifier to see the `maybe_sent` flag and fail once, uncertainly."""

    def __init__(self, inner, *, fail_first: bool = False) -> None:
        self.inner = inner
        self.flags: list[bool] = []
        self.fail_first = fail_first

    def send(self, destination, card, *, idempotency_key, maybe_sent=False):
        self.flags.append(maybe_sent)
        if self.fail_first:
            self.fail_first = False
            raise UncertainDelivery("connection reset")
        return self.inner.send(destination, card, idempotency_key=idempotency_key)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def submit(services, **answers) -> str:
    assert reports.submit_report(services, STAFF, report_answers(**answers)).ok
    return services.store.reports_by_reporter(STAFF.id)[0].id


def test_a_try_is_recorded_before_sending_so_a_crash_mid_send_is_looked_up(services, notifier):
    report_id = submit(services)
    item = next(o for o in services.store.outbox_of(report_id) if o.kind is Delivery.LEAD_ALERT)
    # As if the process died after recording the try and before hearing back:
    services.store.commit(Changes(outbox=(replace(item, state=OutboxState.SENDING, claimed_until=services.clock.now()),)))
    looking = LookingNotifier(notifier)
    deliver_due(services, looking)
    assert looking.flags[0] is True  # the alert is looked for first
    assert looking.flags[1:] == [False]  # the receipt had no earlier try


def test_an_uncertain_failure_is_retried_with_a_look_first(services, notifier, clock):
    submit(services)
    looking = LookingNotifier(notifier, fail_first=True)
    deliver_due(services, looking)
    clock.advance(minutes=1)
    deliver_due(services, looking)
    assert looking.flags == [False, False, True]
    assert len(notifier.to_leads()) == 1


def test_attached_files_are_fetched_once_and_stored_with_their_hash(services, notifier):
    notifier.files["F1"] = a_fetched_file("shot.png", "image/png", b"png-bytes")
    report_id = submit(services, screenshots=["F1"])
    deliver_due(services, notifier)
    [evidence] = services.store.evidence(report_id)
    assert evidence.file_name == "shot.png" and evidence.source_id == "F1" and evidence.size == 9
    assert b"".join(services.store.open_evidence(report_id, evidence.id)) == b"png-bytes"
    item = next(o for o in services.store.outbox_of(report_id) if o.kind is Delivery.EVIDENCE)
    assert item.delivered_at is not None
    # A retry after a crash between storing and closing the item stores nothing twice:
    services.store.commit(Changes(outbox=(replace(item, delivered_at=None, state=OutboxState.PENDING),)))
    deliver_due(services, notifier)
    assert len(services.store.evidence(report_id)) == 1


def test_a_file_the_platform_refuses_closes_its_item_and_stores_nothing(services, notifier):
    report_id = submit(services, screenshots=["F404"])
    deliver_due(services, notifier)
    item = next(o for o in services.store.outbox_of(report_id) if o.kind is Delivery.EVIDENCE)
    assert item.delivered_at and item.state is OutboxState.REFUSED
    assert services.store.evidence(report_id) == []


def test_the_alert_is_edited_after_it_was_sent_and_skipped_before(services, notifier, clock):
    report_id = submit(services)
    deliver_due(services, notifier)
    leads.acknowledge(services, LEAD, report_id)
    deliver_due(services, notifier)
    [(destination, message_id, card)] = notifier.updated
    assert destination.leads and message_id == "msg-1"
    assert any("handled by Lee Harper" in fact.value for section in card.sections for fact in section.facts)

    other = submit(services)
    notifier.fail_next = 1  # the alert is held up ...
    leads.acknowledge(services, LEAD, other)
    deliver_due(services, notifier)  # ... so its edit finds nothing to edit
    clock.advance(minutes=1)
    deliver_due(services, notifier)
    assert len(notifier.updated) == 1
    late_alert = notifier.to_leads()[-1]
    assert any("handled by Lee Harper" in f.value for section in late_alert.sections for f in section.facts)


def test_an_export_goes_to_the_asking_lead_as_a_file(services, notifier):
    report_id = submit(services)
    reply = request_export(services, LEAD, report_id)
    assert "will arrive as a file" in reply.text
    deliver_due(services, notifier)
    [(destination, document, _)] = notifier.uploaded
    assert destination.user_id == LEAD.id and document.filename.endswith(".txt")
    assert "Timeline" in document.text and "A copy of each file follows" not in document.text


def test_where_stored_files_cannot_be_sent_the_export_promises_none(services, notifier):
    notifier.files["F1"] = a_fetched_file("shot.png", "image/png", b"png")
    report_id = submit(services, screenshots=["F1"])
    deliver_due(services, notifier)
    reply = request_export(services, LEAD, report_id)
    assert "will arrive as a file in your messages" in reply.text and "attached file" not in reply.text
    deliver_due(services, notifier)
    [(_, document, _)] = notifier.uploaded
    assert "A copy of each file follows" not in document.text and "shot.png" in document.text
    assert notifier.files_sent == []


def copying(services):
    """The services on a platform that can send stored files as files of their own (as Slack can)."""
    return replace(services, capabilities={"console": Capabilities(file_copies=True)})


def test_an_export_is_followed_by_a_copy_of_each_file_streamed_from_the_store(services, notifier):
    services = copying(services)
    notifier.files["F1"] = a_fetched_file("shot one.png", "image/png", b"first screenshot " * 5000)
    notifier.files["F2"] = a_fetched_file("chat.pdf", "application/pdf", b"%PDF second")
    report_id = submit(services, screenshots=["F1", "F2"])
    deliver_due(services, notifier)
    reply = request_export(services, LEAD, report_id)
    assert reply.text.startswith(f"The export of {services.store.report(report_id).reference} and its 2 attached "
                                 "files will arrive as files in your messages from StaffSafe.")
    deliver_due(services, notifier)
    [(_, document, _)] = notifier.uploaded
    assert "A copy of each file follows this export, as a file of its own in this conversation." in document.text
    copies = {(f.name, f.media_type, f.size, f.data, f.destination.user_id) for f in notifier.files_sent}
    assert copies == {("shot one.png", "image/png", 85_000, b"first screenshot " * 5000, LEAD.id),
                      ("chat.pdf", "application/pdf", 11, b"%PDF second", LEAD.id)}
    deliver_due(services, notifier)
    assert len(notifier.files_sent) == 2  # each copy is an item of its own, sent once


def test_a_copy_is_only_ever_of_a_file_its_case_holds(services, notifier):
    services = copying(services)
    report_id = submit(services)
    record = evidence_in(services.store, report_id=report_id, data=b"stored")
    services.store.commit(Changes(evidence=(record,)))
    request_export(services, LEAD, report_id)
    services.store.write_evidence_blob(report_id, "lost", [b"x"])  # no record: not a file of this case
    [copy] = [o for o in services.store.outbox_of(report_id) if o.kind is Delivery.EVIDENCE_COPY]
    services.store.commit(Changes(outbox=(replace(copy, id="other", file_ref="lost"),)))
    deliver_due(services, notifier)
    assert [f.data for f in notifier.files_sent] == [b"stored"]
    assert services.store.outbox_item("other").state is OutboxState.UNDELIVERABLE


def test_a_batch_that_runs_long_hands_back_the_rest_of_its_claim_untried(services, notifier, clock):
    for n in range(3):
        assert reports.submit_report(services, STAFF, report_answers(what_happened=f"case {n}")).ok

    class SlowNotifier(LookingNotifier):
        def send(self, destination, card, *, idempotency_key, maybe_sent=False):
            clock.advance(minutes=1)  # each send takes a minute of a two-minute lease
            return super().send(destination, card, idempotency_key=idempotency_key, maybe_sent=maybe_sent)

    slow = SlowNotifier(notifier)
    assert deliver_due(services, slow) == 2
    waiting = services.store.due_outbox(clock.now(), 50)
    assert len(waiting) == 4 and all(o.state is OutboxState.PENDING and not o.claimed_by for o in waiting)
    assert deliver_due(services, LookingNotifier(notifier)) == 4
    assert slow.flags == [False, False] and len(notifier.sent) == 6  # none looked up, none sent twice

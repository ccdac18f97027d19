"""The outbox worker: renders each due item from the store and sends it, retrying until it is delivered."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot.domain.errors import Conflict
from bot.domain.ports import Destination, Notifier, PermanentFailure, RateLimited
from bot.domain.report import REFUSED, Changes, Delivery, OutboxItem, Report, Status, new_evidence
from bot.domain.ui import Card, Document
from bot.pacing import Pacer
from handlers.cards import (
    chased_card,
    escalation_card,
    lead_alert_card,
    lead_message_card,
    receipt_card,
    reporter_message_card,
    reporter_update_card,
    retention_warning_card,
)
from handlers.escalation import CHASED
from handlers.export import case_document
from handlers.reminder_delivery import deliver_reminder, deliver_reminder_notice
from handlers.reports import recipient_tag
from handlers.outbox_state import MAYBE_SENT, SENDING, Outcome, closed, delivered, retried
from handlers.services import Services

log = logging.getLogger(__name__)

def render_delivery(services: Services, item: OutboxItem, report: Report) -> tuple[Destination, Card | Document] | None:
    """Where an outbox item goes and what it says, built now from the stored report."""
    if item.kind is Delivery.LEAD_ALERT:
        return _lead_destination(services, item, report), alert_card(services, report)
    if item.kind is Delivery.LEAD_MESSAGE:
        return _lead_destination(services, item, report), lead_message_card(report)
    if item.kind is Delivery.ESCALATION:
        return _lead_destination(services, item, report), escalation_card(report, services.content, now=item.due_at)
    if item.kind is Delivery.RETENTION_WARNING:
        return _lead_destination(services, item, report), retention_warning_card(report, purge_on=item.due_at
                                                                                + RETENTION_NOTICE)
    if item.kind is Delivery.LEAD_EXPORT:
        lead = _lead_destination(services, item, report)
        return lead, case_document(services, report, exporter_id=lead.user_id, at=item.due_at)
    reporter = Destination(user_id=report.reporter_id)
    if item.kind is Delivery.RECEIPT:
        return reporter, receipt_card(report, services.guidance.steps(report))
    if item.kind is Delivery.REPORTER_UPDATE and item.detail == CHASED:
        return reporter, chased_card(report)
    if item.kind is Delivery.REPORTER_UPDATE:
        # The status the item was queued for: later changes have items of their own.
        status = Status(item.detail) if item.detail else report.status
        return reporter, reporter_update_card(report, status, handler_name=_handler_name(services, report))
    if item.kind is Delivery.REPORTER_MESSAGE:
        note = next((n for n in services.store.notes(report.id) if n.id == item.note_id), None)
        return (reporter, reporter_message_card(report, note)) if note else None
    return None


def alert_card(services: Services, report: Report) -> Card:
    """The leads' alert as the case stands now; leads see which of them handles it."""
    handler = services.org.names.get(report.handler_id, "") if report.handler_id else ""
    return lead_alert_card(report, services.content, handler_name=handler)


def _lead_destination(services: Services, item: OutboxItem, report: Report) -> Destination:
    if not item.detail.startswith("lead:"):
        return Destination(leads=True)
    # A report about a lead goes to each other lead alone; the tag names which one.
    lead = next((lead for lead in services.org.leads_for(report) if recipient_tag(lead) == item.detail), "")
    return Destination(user_id=lead)


def _handler_name(services: Services, report: Report) -> str:
    # Only a lead who chose to be named is named, by the display name app.yaml gives them.
    if not (report.handler_named and report.handler_id):
        return ""
    return services.org.names.get(report.handler_id, "")


# Items that post something: each try is recorded before it is made (see deliver_due).
POSTS = frozenset(Delivery) - {Delivery.EVIDENCE, Delivery.ALERT_UPDATE}
RETENTION_NOTICE = timedelta(days=7)  # a retention warning is sent this long before the purge


def deliver_due(services: Services, notifier: Notifier, *, limit: int = 50, pacer: Pacer | None = None) -> int:
    """Send every due outbox item once; failures are rescheduled, never dropped. Returns how many were sent.

    Two commits per batch, not two per item: one marks every post as being tried before any is
    made (a crash mid-batch leaves them marked, so the next try looks before posting again), one
    records the outcomes. After a 429 the rest of the batch waits, untried and unmarked, for the
    platform's Retry-After: the limit is workspace-wide, so trying them would only collect more 429s.
    """
    pacer = pacer or Pacer(channel_gap=0)
    if not pacer.pace():
        return 0
    items = services.store.due_outbox(services.clock.now(), limit)
    posts = tuple(replace(item, last_error=SENDING) for item in items if item.kind in POSTS)
    if posts:
        services.store.commit(Changes(outbox=posts))
    outcomes: list[Outcome] = []
    for item in items:
        if not pacer.pace():
            outcomes.append((item, False))  # untried: back as it was, so no look-up is needed later
            continue
        outcomes.append(_paced(services, notifier, item, pacer))
    states = tuple(state for state, _ in outcomes if state is not None)
    if states:
        services.store.commit(Changes(outbox=states))
    return sum(delivered for _, delivered in outcomes)


def _paced(services: Services, notifier: Notifier, item: OutboxItem, pacer: Pacer) -> Outcome:
    """One item within the rate limits: a reminder waits for its channel's gap; a 429 slows everything."""
    channel = item.detail if item.kind is Delivery.REMINDER else ""
    gap = pacer.channel_wait(channel) if channel else 0.0
    if gap > 0:
        return replace(item, due_at=services.clock.now() + timedelta(seconds=gap)), False
    state, delivered = deliver_one(services, notifier, item)
    if state is not None and state.pending and state.last_error == RateLimited.__name__:
        pacer.limited(max(1.0, (state.due_at - services.clock.now()).total_seconds()))
    elif item.kind in POSTS:
        pacer.sent(channel)
    return state, delivered


def deliver_one(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Try one item (as it was before this batch marked it): delivered with the platform's id, or rescheduled."""
    if item.kind is Delivery.EVIDENCE:
        return fetch_evidence(services, notifier, item)
    if item.kind is Delivery.ALERT_UPDATE:
        return update_alerts(services, notifier, item)
    if item.kind is Delivery.REMINDER:
        return deliver_reminder(services, notifier, item, maybe_sent=item.last_error in MAYBE_SENT)
    if item.kind is Delivery.REMINDER_NOTICE:
        return deliver_reminder_notice(services, notifier, item, maybe_sent=item.last_error in MAYBE_SENT)
    now = services.clock.now()
    report = services.store.report(item.report_id)
    rendered = render_delivery(services, item, report) if report else None
    if rendered is None or (not rendered[0].leads and not rendered[0].user_id):
        # Purged report, or no one left to tell: nothing can ever be sent, so close the item.
        return closed(item, now, "undeliverable"), False
    destination, message = rendered
    try:
        if isinstance(message, Document):
            receipt = notifier.upload(destination, message, idempotency_key=item.id)
        else:
            receipt = notifier.send(destination, message, idempotency_key=item.id,
                                    maybe_sent=item.last_error in MAYBE_SENT)
    except Exception as error:  # noqa: BLE001 - every failure is retried (only its class is logged)
        return retried(item, now, error), False
    return delivered(item, now, receipt), True


def update_alerts(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Edit every alert already sent for the report; an alert not yet sent will show the news anyway."""
    now = services.clock.now()
    report = services.store.report(item.report_id)
    if report is None:
        return closed(item, now, "undeliverable"), False
    sent = [o for o in services.store.outbox_of(report.id)
            if o.kind is Delivery.LEAD_ALERT and o.delivered_at and o.receipt]
    try:
        for alert in sent:
            notifier.update(_lead_destination(services, alert, report), alert.receipt, alert_card(services, report))
    except Exception as error:  # noqa: BLE001 - an edit is idempotent: retry them all later
        return retried(item, now, error), False
    return delivered(item, now), True


def fetch_evidence(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Download one attached file and store it encrypted with its hash; the item closes in the same commit."""
    now = services.clock.now()
    if services.store.report(item.report_id) is None:
        return closed(item, now, "undeliverable"), False
    try:
        fetched = notifier.fetch_file(item.detail)
    except PermanentFailure as error:
        return closed(item, now, f"{REFUSED}: {error}"[:120]), False  # e.g. too large: the export shows it missing
    except Exception as error:  # noqa: BLE001
        return retried(item, now, error), False
    evidence = new_evidence(report_id=item.report_id, file_name=fetched.name, media_type=fetched.media_type,
                            data=fetched.data, source_id=item.detail, received_at=now)
    done = delivered(item, now)
    try:
        services.store.commit(Changes(evidence=(evidence,), outbox=(done,)))
    except Conflict:
        return done, True  # stored by an earlier try that died before closing its item
    return None, True

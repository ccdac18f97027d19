"""The outbox worker: renders each due item from the store and sends it, retrying until it is delivered."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.errors import Conflict
from bot.domain.ports import Destination, Notifier, PermanentFailure, TemporaryFailure, UncertainDelivery
from bot.domain.report import REFUSED, Changes, Delivery, OutboxItem, Report, Status, new_evidence
from bot.domain.ui import Card, Document
from handlers.cards import lead_alert_card, lead_message_card, receipt_card, reporter_message_card, reporter_update_card
from handlers.export import case_document
from handlers.reports import recipient_tag
from handlers.services import Services

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=15)
SENDING = "sending"  # recorded before each try: if the process dies mid-send, the next try looks first
MAYBE_SENT = {SENDING, UncertainDelivery.__name__}


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """How long to wait before the next try: the platform's Retry-After, else exponential, capped."""
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after))
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 10)))


def render_delivery(services: Services, item: OutboxItem, report: Report) -> tuple[Destination, Card | Document] | None:
    """Where an outbox item goes and what it says, built now from the stored report."""
    if item.kind is Delivery.LEAD_ALERT:
        return _lead_destination(services, item, report), alert_card(services, report)
    if item.kind is Delivery.LEAD_MESSAGE:
        return _lead_destination(services, item, report), lead_message_card(report)
    if item.kind is Delivery.LEAD_EXPORT:
        lead = _lead_destination(services, item, report)
        return lead, case_document(services, report, exporter_id=lead.user_id, at=item.due_at)
    reporter = Destination(user_id=report.reporter_id)
    if item.kind is Delivery.RECEIPT:
        return reporter, receipt_card(report, services.guidance.steps(report))
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


# What one try leaves behind: the item's new state to commit (None if already committed), and
# whether it was delivered.
Outcome = tuple[OutboxItem | None, bool]

# Items that post something: each try is recorded before it is made (see deliver_due).
POSTS = frozenset(Delivery) - {Delivery.EVIDENCE, Delivery.ALERT_UPDATE}


def deliver_due(services: Services, notifier: Notifier, *, limit: int = 50) -> int:
    """Send every due outbox item once; failures are rescheduled, never dropped. Returns how many were sent.

    Two commits per batch, not two per item: one marks every post as being tried before any is
    made (a crash mid-batch leaves them marked, so the next try looks before posting again), one
    records the outcomes.
    """
    items = services.store.due_outbox(services.clock.now(), limit)
    posts = tuple(replace(item, last_error=SENDING) for item in items if item.kind in POSTS)
    if posts:
        services.store.commit(Changes(outbox=posts))
    outcomes = [deliver_one(services, notifier, item) for item in items]
    states = tuple(state for state, _ in outcomes if state is not None)
    if states:
        services.store.commit(Changes(outbox=states))
    return sum(delivered for _, delivered in outcomes)


def deliver_one(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Try one item (as it was before this batch marked it): delivered with the platform's id, or rescheduled."""
    if item.kind is Delivery.EVIDENCE:
        return fetch_evidence(services, notifier, item)
    if item.kind is Delivery.ALERT_UPDATE:
        return update_alerts(services, notifier, item)
    now = services.clock.now()
    report = services.store.report(item.report_id)
    rendered = render_delivery(services, item, report) if report else None
    if rendered is None or (not rendered[0].leads and not rendered[0].user_id):
        # Purged report, or no one left to tell: nothing can ever be sent, so close the item.
        return _closed(item, now, "undeliverable"), False
    destination, message = rendered
    try:
        if isinstance(message, Document):
            receipt = notifier.upload(destination, message, idempotency_key=item.id)
        else:
            receipt = notifier.send(destination, message, idempotency_key=item.id,
                                    maybe_sent=item.last_error in MAYBE_SENT)
    except Exception as error:  # noqa: BLE001 - every failure is retried (only its class is logged)
        return _retried(item, now, error), False
    return _done(item, now, receipt), True


def update_alerts(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Edit every alert already sent for the report; an alert not yet sent will show the news anyway."""
    now = services.clock.now()
    report = services.store.report(item.report_id)
    if report is None:
        return _closed(item, now, "undeliverable"), False
    sent = [o for o in services.store.outbox_of(report.id)
            if o.kind is Delivery.LEAD_ALERT and o.delivered_at and o.receipt]
    try:
        for alert in sent:
            notifier.update(_lead_destination(services, alert, report), alert.receipt, alert_card(services, report))
    except Exception as error:  # noqa: BLE001 - an edit is idempotent: retry them all later
        return _retried(item, now, error), False
    return _done(item, now), True


def fetch_evidence(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Download one attached file and store it encrypted with its hash; the item closes in the same commit."""
    now = services.clock.now()
    if services.store.report(item.report_id) is None:
        return _closed(item, now, "undeliverable"), False
    try:
        fetched = notifier.fetch_file(item.detail)
    except PermanentFailure as error:
        return _closed(item, now, f"{REFUSED}: {error}"[:120]), False  # e.g. too large: the export shows it missing
    except Exception as error:  # noqa: BLE001
        return _retried(item, now, error), False
    evidence = new_evidence(report_id=item.report_id, file_name=fetched.name, media_type=fetched.media_type,
                            data=fetched.data, source_id=item.detail, received_at=now)
    done = _done(item, now)
    try:
        services.store.commit(Changes(evidence=(evidence,), outbox=(done,)))
    except Conflict:
        return done, True  # stored by an earlier try that died before closing its item
    return None, True


def _done(item: OutboxItem, now: datetime, receipt: str = "") -> OutboxItem:
    return replace(item, delivered_at=now, receipt=receipt or item.receipt, last_error="", attempts=item.attempts + 1)


def _closed(item: OutboxItem, now: datetime, why: str) -> OutboxItem:
    log.warning("outbox item %s (%s) closed without delivery: %s", item.id, item.kind.value, why.split(":")[0])
    return replace(item, delivered_at=now, last_error=why)


def _retried(item: OutboxItem, now: datetime, error: Exception) -> OutboxItem:
    retry_after = error.retry_after if isinstance(error, TemporaryFailure) else None
    attempts = item.attempts + 1
    level = logging.INFO if isinstance(error, TemporaryFailure) else logging.ERROR
    # A refusal's text is the platform's error code (e.g. not_in_channel: invite the bot), never content.
    why = f"{type(error).__name__} ({error})" if isinstance(error, PermanentFailure) else type(error).__name__
    log.log(level, "outbox item %s deferred after %s (attempt %d)", item.id, why, attempts)
    return replace(item, attempts=attempts, last_error=type(error).__name__, due_at=now + backoff(attempts, retry_after))

"""The outbox worker: renders each due item from the store and sends it, retrying until it is delivered."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.errors import Conflict, EvidenceUnreadable
from bot.domain.ports import (
    Changes, Destination, Notifier, Notifiers, NotReachable, OutgoingFile, PermanentFailure, RateLimited,
    RecipientRefused, capped,
)
from bot.domain.report import MAX_EVIDENCE_BYTES, Delivery, Evidence, OutboxItem, OutboxState, Report, Status, new_id
from bot.domain.routing import (LEAD_NOTICES, REFUSED_UPDATE, admin_destination, has_recipient,
                                lead_channel_platforms, lead_destination, unreachable_recipient, waiting_notices)
from bot.domain.ui import Card, Document, Section
from bot.pacing import Pacer
from handlers.cards import (
    no_reader_text,
    chased_card,
    delivery_refused_card,
    delivery_waiting_card,
    escalated_by_lead_card,
    escalation_card,
    lead_alert_card,
    lead_message_card,
    receipt_card,
    reporter_message_card,
    report_waiting_card,
    reporter_update_card,
    retention_warning_card,
)
from handlers.escalation import BY_LEAD, CHASED
from handlers.export import case_document
from handlers.reminder_delivery import deliver_reminder, deliver_reminder_notice
from handlers.outbox_state import Outcome, closed, delivered, refused, retried
from handlers.services import Services

log = logging.getLogger(__name__)


def render_delivery(services: Services, item: OutboxItem, report: Report) -> tuple[Destination, Card | Document] | None:
    """Where an outbox item goes and what it says, built now from the stored report (None: nowhere any more)."""
    if item.kind in LEAD_NOTICES or item.kind is Delivery.LEAD_EXPORT:
        lead = lead_destination(services.org, report, item)
        return (lead, _with_reason(services, item, report, _lead_message(services, item, report, lead))) if lead \
            else None
    if item.kind is Delivery.REPORT_WAITING:
        admin = admin_destination(services.org, report, item)
        return (admin, _admin_notice(services, item, report)) if admin else None
    reporter = Destination(platform=item.platform, user_id=report.reporter_id)
    if item.kind is Delivery.RECEIPT:
        no_reader = "" if has_recipient(services.org, report) else no_reader_text(services.content, admins_told=False)
        return reporter, receipt_card(report, services.guidance.steps(report), no_reader=no_reader,
                                      files_after=services.capabilities_on(item.platform).files_after_form)
    if item.kind is Delivery.REPORTER_UPDATE and item.update == CHASED:
        return reporter, chased_card(report)
    if item.kind is Delivery.REPORTER_UPDATE:
        # The status the item was queued for: later changes have items of their own.
        status = Status(item.update) if item.update else report.status
        return reporter, reporter_update_card(report, status, handler_name=_handler_name(services, report))
    if item.kind is Delivery.REPORTER_MESSAGE:
        note = next((n for n in services.store.notes(report.id) if n.id == item.note_id), None)
        return (reporter, reporter_message_card(report, note)) if note else None
    return None


def _admin_notice(services: Services, item: OutboxItem, report: Report) -> Card:
    """An admin's notice: a report nobody may read, a delivery refused for good, or one waiting for an install."""
    waiting = unreachable_recipient(services.org, report, item.update)
    if waiting is not None:
        platform, lead = waiting
        return delivery_waiting_card(platform, services.org.names.get(lead, "a designated lead" if lead else ""))
    if item.update.startswith(REFUSED_UPDATE):
        return delivery_refused_card(item.update.removeprefix(REFUSED_UPDATE))
    return report_waiting_card()


def _lead_message(services: Services, item: OutboxItem, report: Report, lead: Destination) -> Card | Document:
    if item.kind is Delivery.LEAD_ALERT:
        return alert_card(services, report)
    if item.kind is Delivery.LEAD_MESSAGE:
        return lead_message_card(report)
    if item.kind is Delivery.ESCALATION and item.update == BY_LEAD:
        return escalated_by_lead_card(report, services.content, handler_name=services.org.names.get(
            report.handler_id or "", ""))
    if item.kind is Delivery.ESCALATION:
        return escalation_card(report, services.content, now=item.due_at)
    if item.kind is Delivery.RETENTION_WARNING:
        return retention_warning_card(report, purge_on=item.due_at + RETENTION_NOTICE)
    return case_document(services, report, exporter_id=lead.user_id, at=item.due_at,
                         files_follow=services.capabilities_on(item.platform).file_copies)


def _with_reason(services: Services, item: OutboxItem, report: Report, message: Card | Document) -> Card | Document:
    """A notice sent to one lead privately says why it came to them (the channel's copy needs no reason)."""
    if not item.recipient or not isinstance(message, Card) or item.kind is Delivery.LEAD_EXPORT:
        return message
    if report.subject_id is not None and services.org.is_lead(report.subject_id):
        why = ("You are receiving this privately because the report names one of the designated leads, so it is "
               "kept out of the leads' channel. Do not discuss it where that lead can see.")
    elif item.kind in (Delivery.ESCALATION, Delivery.RETENTION_WARNING) \
            and item.platform in lead_channel_platforms(services.org):  # else every lead there is told privately
        why = "You are receiving this as a backup lead: escalations and retention warnings come to backup leads too."
    else:
        why = "You are receiving this privately because there is no leads' channel on this platform."
    return replace(message, sections=(Section(body=why), *message.sections))


def alert_card(services: Services, report: Report) -> Card:
    """The leads' alert as the case stands now; leads see which of them handles it."""
    handler = services.org.names.get(report.handler_id, "") if report.handler_id else ""
    return lead_alert_card(report, services.content, handler_name=handler)


def _handler_name(services: Services, report: Report) -> str:
    # Only a lead who chose to be named is named, by the display name app.yaml gives them.
    if not (report.handler_named and report.handler_id):
        return ""
    return services.org.names.get(report.handler_id, "")


# Items that post something: paced per channel and for the workspace.
POSTS = frozenset(Delivery) - {Delivery.EVIDENCE, Delivery.ALERT_UPDATE}
RETENTION_NOTICE = timedelta(days=7)  # a retention warning is sent this long before the purge
# How long a worker holds the items it claims: far longer than a batch's sends take, short enough
# that a dead worker's items are taken up again soon (looked up first, so never sent twice).
LEASE = timedelta(minutes=2)
LEASE_MARGIN = timedelta(seconds=30)  # no new try starts with less of the lease left
WORKER_ID = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"  # this process, as a claim owner


def deliver_due(services: Services, notifiers: Notifiers | Notifier, *, limit: int = 50, pacer: Pacer | None = None,
                owner: str = WORKER_ID, lease: timedelta = LEASE) -> int:
    """Claim and send the due outbox items of the running platforms; returns how many were sent.

    Items of a platform with no notifier here are never claimed: they wait for a worker of their
    own platform. Two commits per batch, not two per item: the claim marks every item as being
    tried (by this worker, until the lease lapses) before any is sent, so a crash mid-batch leaves
    them to be taken up again and looked for before posting; one commit records the outcomes.
    After a 429 the rest of the batch is released untried, for the platform's Retry-After: the
    limit is workspace-wide, so trying them would only collect more 429s. So is the rest of a batch
    that has run so long its lease is nearly over.
    """
    registry = notifiers if isinstance(notifiers, Notifiers) else Notifiers([notifiers])
    pacer = pacer or Pacer(channel_gap=0)
    if not pacer.pace():
        return 0
    items = services.store.claim_due(services.clock.now(), limit, owner, lease, registry.platforms)
    outcomes: list[Outcome] = []
    for index, item in enumerate(items):
        notifier = registry.for_platform(item.platform)
        if notifier is None or not pacer.pace() or _lapsing(item, services.clock.now(), lease):
            # Paused by a 429, or the lease nearly over: hand the rest back now, untried (no look-up
            # needed later), while they are still ours to hand back.
            services.store.commit(Changes(outbox=tuple(i.released() for i in items[index:])))
            break
        outcomes.append(_paced(services, notifier, item, pacer))
    states = tuple(state for state, _ in outcomes if state is not None)
    if states:
        services.store.commit(Changes(outbox=states))
    return sum(delivered for _, delivered in outcomes)


def _lapsing(item: OutboxItem, now: datetime, lease: timedelta) -> bool:
    """Whether too little of the claim is left for one more try (a try takes seconds, at most ~20)."""
    # A short lease (tests set a few seconds) keeps a quarter of itself as the margin, or no try would start.
    margin = min(LEASE_MARGIN, lease / 4)
    return item.claimed_until is not None and now >= item.claimed_until - margin


def _paced(services: Services, notifier: Notifier, item: OutboxItem, pacer: Pacer) -> Outcome:
    """One item within the rate limits: a reminder waits for its channel's gap; a 429 slows everything."""
    channel = item.channel if item.kind is Delivery.REMINDER else ""
    gap = pacer.channel_wait(channel) if channel else 0.0
    if gap > 0:
        return replace(item.released(), due_at=services.clock.now() + timedelta(seconds=gap)), False
    state, delivered = deliver_one(services, notifier, item)
    if state is not None and state.pending and state.error == RateLimited.__name__:
        pacer.limited(max(1.0, (state.due_at - services.clock.now()).total_seconds()))
    elif item.kind in POSTS:
        pacer.sent(channel)
    return state, delivered


def deliver_one(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Try one claimed item: sent with the platform's reference, closed, or rescheduled."""
    if item.kind is Delivery.EVIDENCE:
        return fetch_evidence(services, notifier, item)
    if item.kind is Delivery.EVIDENCE_COPY:
        return copy_evidence(services, notifier, item)
    if item.kind is Delivery.ALERT_UPDATE:
        return update_alerts(services, notifier, item)
    if item.kind is Delivery.REMINDER:
        return deliver_reminder(services, notifier, item, maybe_sent=item.uncertain)
    if item.kind is Delivery.REMINDER_NOTICE:
        return deliver_reminder_notice(services, notifier, item, maybe_sent=item.uncertain)
    now = services.clock.now()
    report = services.store.report(item.report_id)
    rendered = render_delivery(services, item, report) if report else None
    if rendered is None or (not rendered[0].leads and not rendered[0].user_id):
        # Purged report, or no one left to tell: nothing can ever be sent, so close the item.
        return closed(item, now, OutboxState.UNDELIVERABLE), False
    destination, message = rendered
    if item.uncertain and not services.capabilities_on(item.platform).history_lookup:
        log.warning("outbox item %s: an earlier try may have arrived and %s cannot look; it may show twice",
                    item.id, item.platform)
    try:
        if isinstance(message, Document):
            receipt = notifier.upload(destination, message, idempotency_key=item.id)
        else:
            receipt = notifier.send(destination, message, idempotency_key=item.id, maybe_sent=item.uncertain)
    except RecipientRefused as error:
        return _refused_with_notice(services, item, report, now, error), False
    except NotReachable as error:
        return _waiting_with_notice(services, item, report, now, error), False
    except Exception as error:  # noqa: BLE001 - every other failure is retried (only its class is logged)
        return retried(item, now, error), False
    return delivered(item, now, receipt), True


def _refused_with_notice(services: Services, item: OutboxItem, report: Report, now: datetime,
                         error: RecipientRefused) -> OutboxItem | None:
    """Close a refused item and tell the admins in the same commit (a refused notice to an admin tells no one)."""
    done = refused(item, now, error)
    if item.kind is Delivery.REPORT_WAITING:
        return done
    services.store.commit(Changes(outbox=(done, *waiting_notices(services.org, report, now, refused=item.platform))))
    return None


def _waiting_with_notice(services: Services, item: OutboxItem, report: Report, now: datetime,
                         error: NotReachable) -> OutboxItem | None:
    """Retry an item whose recipient has not installed the app; the first time, tell the admins in the same commit."""
    again = retried(item, now, error)
    if item.attempts or item.kind is Delivery.REPORT_WAITING:
        return again
    services.store.commit(Changes(outbox=(again, *waiting_notices(services.org, report, now, unreachable=item))))
    return None


def update_alerts(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Edit every alert already sent on this item's platform; an alert not yet sent will show the news anyway."""
    now = services.clock.now()
    report = services.store.report(item.report_id)
    if report is None:
        return closed(item, now, OutboxState.UNDELIVERABLE), False
    sent = [o for o in services.store.outbox_of(report.id) if o.kind is Delivery.LEAD_ALERT
            and o.platform == item.platform and o.state is OutboxState.SENT and o.receipt]
    try:
        for alert in sent:
            destination = lead_destination(services.org, report, alert)
            if destination is None:  # a lead removed since is not shown the news
                continue
            try:
                notifier.update(destination, alert.receipt, _with_reason(services, alert, report,
                                                                         alert_card(services, report)))
            except RecipientRefused:
                continue  # removed or blocked since the alert: the others are still updated
    except Exception as error:  # noqa: BLE001 - an edit is idempotent: retry them all later
        return retried(item, now, error), False
    return delivered(item, now), True


def copy_evidence(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Upload a copy of one stored file to the lead who asked for the export, streamed from the store.

    Checked again now: a lead removed since, or a purged report, gets nothing. A file whose stored
    bytes are damaged is never sent in part as if whole: the item closes and the log says which.
    """
    now = services.clock.now()
    report = services.store.report(item.report_id)
    lead = lead_destination(services.org, report, item) if report else None
    found = [e for e in services.store.evidence(report.id) if e.id == item.file_ref] if report and lead else []
    if not found or lead is None:
        return closed(item, now, OutboxState.UNDELIVERABLE), False
    [evidence] = found
    file = OutgoingFile(name=evidence.file_name, media_type=evidence.media_type, size=evidence.size,
                        open=lambda: services.store.open_evidence(evidence.report_id, evidence.id))
    try:
        receipt = notifier.upload_file(lead, file, idempotency_key=item.id)
    except EvidenceUnreadable as error:
        log.error("outbox item %s: the stored copy cannot be sent: %s", item.id, error)
        return closed(item, now, OutboxState.UNDELIVERABLE), False
    except PermanentFailure as error:
        return refused(item, now, error), False
    except Exception as error:  # noqa: BLE001 - every other failure is retried (only its class is logged)
        return retried(item, now, error), False
    return delivered(item, now, receipt), True


def fetch_evidence(services: Services, notifier: Notifier, item: OutboxItem) -> Outcome:
    """Stream one attached file from the platform into the store's encrypted blob, then commit its record.

    The blob is written (durably) before the commit that names it and closes the item; the file is
    never whole in memory. A file this report already has (an earlier try died before closing its
    item) is not fetched again.
    """
    now = services.clock.now()
    if services.store.report(item.report_id) is None:
        return closed(item, now, OutboxState.UNDELIVERABLE), False
    done = delivered(item, now)
    if any(e.source_id == item.file_ref for e in services.store.evidence(item.report_id)):
        return done, True
    evidence_id = new_id()
    try:
        with notifier.fetch_file(item.file_ref) as fetched:
            written = services.store.write_evidence_blob(item.report_id, evidence_id,
                                                         capped(fetched.chunks, MAX_EVIDENCE_BYTES))
            name, media_type = fetched.name, fetched.media_type
    except PermanentFailure as error:
        return refused(item, now, error), False  # e.g. too large: the export shows it missing
    except Exception as error:  # noqa: BLE001
        return retried(item, now, error), False
    evidence = Evidence(id=evidence_id, report_id=item.report_id, file_name=name, media_type=media_type,
                        size=written.size, sha256=written.sha256, received_at=now, source_id=item.file_ref)
    try:
        services.store.commit(Changes(evidence=(evidence,), outbox=(done,)))
    except Conflict:
        return done, True  # stored by another try meanwhile; this one's blob is an orphan, swept at start
    return None, True

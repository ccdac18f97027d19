"""Reporter use cases: open the form, submit a report, follow it, reply to the leads, withdraw."""

from __future__ import annotations

import hashlib
import logging

from bot.domain.errors import Conflict, NotFound
from bot.domain.markup import quoted
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import (
    AuditEvent,
    Delivery,
    Note,
    NoteKind,
    OutboxItem,
    Report,
    Status,
    new_id,
    new_reference,
    normalise_reference,
)
from bot.domain.platform import STRICTEST, Capabilities, platform_of
from bot.domain.report_form import MAX_TEXT, parse_report, report_form
from bot.domain.routing import alert_updates, has_recipient, lead_notices, person_tag, to_reporter, waiting_notices
from bot.domain.ui import Answers, Form, FormResult, Reply
from bot.domain.workflow import Role, check_move
from handlers.cards import my_reports_card, no_reader_text
from handlers.limits import limit_errors
from handlers.services import Services

log = logging.getLogger(__name__)


def open_report_form(services: Services, actor: Actor | None = None) -> Form:
    """The empty report form, within the limits of the asker's platform (the strictest if not known)."""
    return report_form(services.content, _limits(services, actor))


def _limits(services: Services, actor: Actor | None) -> Capabilities:
    return services.capabilities_on(platform_of(actor.id)) if actor else STRICTEST


def submit_report(services: Services, actor: Actor, answers: Answers, *, form: Form | None = None,
                  submission: str = "") -> FormResult:
    """Check the answers (to `form`, if the caller built it already); store the report with its routing first.

    `submission` identifies one submission on its platform (opaque here): the same submission sent
    again, a retry or a replay, stores nothing more and gets the first one's receipt.
    """
    report_id = submission_id("report", actor, submission)
    earlier = _submitted_before(services, actor, report_id)
    if earlier is not None:
        return earlier
    now = services.clock.now()
    form = form or report_form(services.content, _limits(services, actor))
    parsed, errors = parse_report(form, answers, today=now.date())
    if parsed is None:
        return FormResult(errors=errors)
    over = limit_errors(services, actor, len(parsed.files), now)
    if over:
        return FormResult(errors=over)
    report = Report(
        id=report_id,
        reference=new_reference(),
        reporter_id=actor.id,
        reporter_name=actor.name,
        named_to_leads=parsed.named_to_leads,
        what_happened=parsed.what_happened,
        where=parsed.where,
        urls=parsed.urls,
        first_seen=parsed.first_seen,
        occasions=parsed.occasions,
        perpetrator=parsed.perpetrator,
        adult=parsed.adult,
        natures=parsed.natures,
        evidence_saved=parsed.evidence_saved,
        wants=parsed.wants,
        subject_id=parsed.subject_id,
        subject_name=services.org.names.get(parsed.subject_id or "", ""),
        created_at=now,
    )
    reachable = has_recipient(services.org, report)
    # A report no configured person may see (it is about the only lead) is kept, and an admin is told
    # that one is waiting, without any detail; the reporter is told at once where else to go.
    notices = lead_alerts(services, report) if reachable else waiting_notices(services.org, report, now)
    try:
        services.store.commit(
            Changes(
                reports=(report,),
                outbox=(
                    *notices,
                    to_reporter(report, Delivery.RECEIPT, now),
                    *(to_reporter(report, Delivery.EVIDENCE, now, file_ref=file_ref) for file_ref in parsed.files),
                ),
                audit=(audit(report, actor, "report.submit", now, detail="" if reachable else "no recipient"),),
            )
        )
    except Conflict:
        # The same submission, arriving at the same moment on another thread or instance, was stored first.
        earlier = _submitted_before(services, actor, report_id)
        if earlier is None:
            raise
        return earlier
    return _receipt(services, report)


def submission_id(kind: str, actor: Actor, submission: str) -> str:
    """A new id, or for an identified submission one derived from it (with the submitter, so no one
    else's replay can reach it): storing that record again is a Conflict, however many instances run."""
    if not submission:
        return new_id()
    return hashlib.sha256(f"{kind}-submission\0{actor.id}\0{submission}".encode()).hexdigest()[:32]


def commit_note_once(services: Services, note: Note, changes: Changes) -> None:
    """Commit a note with what it sets off, unless the same submission stored it already (a retry, a replay)."""
    def stored() -> bool:
        return any(earlier.id == note.id for earlier in services.store.notes(note.report_id))
    if stored():
        return
    try:
        services.store.commit(changes)
    except Conflict:
        if not stored():  # not the same submission arriving twice at once: a real conflict
            raise


def _submitted_before(services: Services, actor: Actor, report_id: str) -> FormResult | None:
    stored = services.store.report(report_id)
    return _receipt(services, stored) if stored is not None and stored.reporter_id == actor.id else None


def _receipt(services: Services, report: Report) -> FormResult:
    """What the reporter is told once their report is stored (the same again for a repeated submission)."""
    saved = f"Your report **{report.reference}** is saved. I am sending you a private message with your next steps."
    if has_recipient(services.org, report):
        return FormResult(reply=Reply.say(saved))
    admins_told = bool(waiting_notices(services.org, report, report.created_at))
    return FormResult(reply=Reply.say(f"{saved}\n\n{no_reader_text(services.content, admins_told=admins_told)}"))


def lead_alerts(services: Services, report: Report) -> tuple[OutboxItem, ...]:
    """The leads' alert, routed (bot/domain/routing.py): never to the lead the report is about."""
    return lead_notices(services.org, report, Delivery.LEAD_ALERT, report.created_at)


def recipient_tag(user_id: str) -> str:
    """An outbox recipient without the user id in the clear (resolved against the configured leads)."""
    return person_tag(user_id)


def audit(report: Report, actor: Actor, action: str, now, detail: str = "") -> AuditEvent:
    """An audit event for this report; `detail` must never hold report content."""
    return AuditEvent(id=new_id(), report_id=report.id, actor_id=actor.id, action=action, at=now, detail=detail)


def my_reports(services: Services, actor: Actor) -> Reply:
    """The asker's own reports, newest first."""
    return Reply(cards=(my_reports_card(services.store.reports_by_reporter(actor.id), services.org),))


def find_report(services: Services, reference_or_id: str) -> Report | None:
    """A report by its internal id (buttons) or its reference as a person typed it."""
    store = services.store
    return store.report(reference_or_id) or store.report_by_reference(normalise_reference(reference_or_id))


def own_report(services: Services, actor: Actor, reference_or_id: str, action: str = "report.open") -> Report:
    """One of the asker's own reports, by reference or id; NotFound for anyone else's (audited, or logged)."""
    report = find_report(services, reference_or_id)
    if report is None or report.reporter_id != actor.id:
        refuse(services, actor, report, action, "refused: not the reporter")
        raise NotFound(f"You have no report with reference {quoted(reference_or_id.strip()[:20])}.")
    return report


def refuse(services: Services, actor: Actor, report: Report | None, action: str, why: str) -> None:
    """Leave a trace of a refused request, without content: on the report's audit trail, or (for a
    reference that matches no report: a probe) a log line, with no reference or id in it."""
    if report is None:
        log.warning("refused: no such report (%s)", action)
        return
    services.store.commit(Changes(audit=(audit(report, actor, action, services.clock.now(), detail=why),)))
    log.warning("%s on a case (%s)", why, action)


def reply_to_leads(services: Services, actor: Actor, reference_or_id: str, text: str) -> FormResult:
    """Relay the reporter's reply into the case; the leads are told there is a reply."""
    return relay_reply(services, actor, own_report(services, actor, reference_or_id, "report.reply"), text)


def relay_reply(services: Services, actor: Actor, report: Report, text: str, *, submission: str = "") -> FormResult:
    """`reply_to_leads`, for a report `own_report` gave; a repeated `submission` is relayed once."""
    error = text_error(text, _limits(services, actor).max_text)
    if error:
        return FormResult(errors={"text": error})
    commit_note_once(services, *note_changes(services, actor, report, text.strip(), NoteKind.FROM_REPORTER,
                                             note_id=submission_id("note", actor, submission)))
    if not has_recipient(services.org, report):
        return FormResult(reply=Reply.say(f"Your reply is saved with {report.reference}. "
                                          + no_reader_text(services.content, admins_told=False)))
    return FormResult(reply=Reply.say(f"Your reply on {report.reference} will be passed to the designated leads."))


def text_error(text: str, limit: int = MAX_TEXT) -> str:
    """Why a message or note cannot be accepted (`limit`: the writer's platform's), or "" if it can."""
    text = (text or "").strip()
    if not text:
        return "Please write something."
    if len(text) > limit:
        return f"Please keep this under {limit} characters (it has {len(text)})."
    return ""


# What each kind of note sets off: its delivery (if any) and its audit action.
_NOTE_EFFECTS = {
    NoteKind.INTERNAL: (None, "case.note"),
    NoteKind.TO_REPORTER: (Delivery.REPORTER_MESSAGE, "case.message"),
    NoteKind.FROM_REPORTER: (Delivery.LEAD_MESSAGE, "report.reply"),
}


def note_changes(services: Services, actor: Actor, report: Report, text: str, kind: NoteKind, *,
                 note_id: str = "") -> tuple[Note, Changes]:
    """A note on a case, with its relay (if any) and audit event, to commit together."""
    now = services.clock.now()
    note = Note(id=note_id or new_id(), report_id=report.id, kind=kind, author_id=actor.id, text=text, at=now)
    delivery, action = _NOTE_EFFECTS[kind]
    if delivery is Delivery.LEAD_MESSAGE:
        outbox = lead_notices(services.org, report, delivery, now, note_id=note.id)
    else:
        outbox = (to_reporter(report, delivery, now, note_id=note.id),) if delivery else ()
    return note, Changes(notes=(note,), outbox=outbox, audit=(audit(report, actor, action, now),))


def withdraw_report(services: Services, actor: Actor, reference_or_id: str) -> Reply:
    """The reporter closes their own report; the leads are told by a status update."""
    report = own_report(services, actor, reference_or_id, "report.withdraw")
    check_move(Role.REPORTER, report.status, Status.CLOSED)
    now = services.clock.now()
    closed = report.evolve(now=now, status=Status.CLOSED)
    services.store.commit(
        Changes(reports=(closed,), outbox=alert_updates(services.org, closed, now),
                audit=(audit(report, actor, "report.withdraw", now, detail="closed"),))
    )
    return Reply.say(f"Your report {report.reference} is closed. Thank you for letting us know.")

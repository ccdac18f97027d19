"""Lead use cases. Every one is authorised here against app.yaml, whatever the caller claims."""

from __future__ import annotations

from bot.domain.errors import NotAllowed, NotFound
from bot.domain.markup import quoted
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import Delivery, NoteKind, OutboxState, Report, Status
from bot.domain.platform import platform_of
from bot.domain.routing import alert_updates, to_reporter
from bot.domain.ui import Card, FormResult, Reply
from bot.domain.workflow import STATUS_WORDS, Role, allowed_moves, check_move
from handlers.cards import awaits_acknowledgement, case_card, queue_card
from handlers.escalation import escalated_by_lead, escalation_targets
from handlers.reports import (
    audit, commit_note_once, find_report, note_changes, refuse, submission_id, text_error,
)
from handlers.services import Services
from handlers.takedown import letter_for_report


def find_case(services: Services, actor: Actor, reference_or_id: str, action: str) -> Report:
    """The report a lead asked for; refusals are audited and give nothing away."""
    report = find_report(services, reference_or_id)
    if not services.org.is_lead(actor.id):
        refuse(services, actor, report, action, "refused: not a lead")
        raise NotAllowed("Only the designated leads can do that.")
    unknown = NotFound(f"There is no report with reference {quoted(reference_or_id.strip()[:20])}.")
    if report is None or not services.org.may_handle(actor.id, report):
        # A report about this lead is answered exactly as an unknown reference.
        refuse(services, actor, report, action, "refused: about this lead")
        raise unknown
    return report


def view_case(services: Services, actor: Actor, reference_or_id: str) -> Card:
    """The whole case for an authorised lead; every view is audited."""
    report = find_case(services, actor, reference_or_id, "case.view")
    now = services.clock.now()
    services.store.commit(Changes(audit=(audit(report, actor, "case.view", now),)))
    refused = sum(1 for o in services.store.outbox_of(report.id)
                  if o.kind is Delivery.EVIDENCE and o.state is OutboxState.REFUSED)
    return case_card(report, services.store.notes(report.id), services.content, now=now,
                     evidence=services.store.evidence(report.id), files_refused=refused,
                     duties=services.guidance.lead_steps(report))


def acknowledge(services: Services, actor: Actor, reference_or_id: str, *, named: bool = True) -> Reply:
    """Take the case; the reporter is told who handles it, unless the lead chooses not to be named."""
    return acknowledge_case(services, actor, find_case(services, actor, reference_or_id, "case.ack"), named=named)


def acknowledge_case(services: Services, actor: Actor, report: Report, *, named: bool = True) -> Reply:
    """`acknowledge`, for a case `find_case` gave."""
    if not awaits_acknowledgement(report):
        if report.handler_id == actor.id:  # not "acknowledged by a designated lead", as if someone else
            return Reply.say(f"You are already handling {report.reference}.")
        return Reply.say(f"{report.reference} is already {STATUS_WORDS[report.status]}.")
    now = services.clock.now()
    updated = report.evolve(now=now, status=Status.ACKNOWLEDGED, handler_id=actor.id, handler_named=named)
    services.store.commit(
        Changes(
            reports=(updated,),
            outbox=(to_reporter(updated, Delivery.REPORTER_UPDATE, now, update=Status.ACKNOWLEDGED.value),
                    *alert_updates(services.org, updated, now)),
            audit=(audit(report, actor, "case.ack", now, detail="named" if named else "unnamed"),),
        )
    )
    return Reply.say(f"You are handling {report.reference}. The reporter will be told it is acknowledged.")


def add_note(services: Services, actor: Actor, reference_or_id: str, text: str) -> FormResult:
    """An internal note, seen by leads only."""
    return note_case(services, actor, find_case(services, actor, reference_or_id, "case.note"), text)


def note_case(services: Services, actor: Actor, report: Report, text: str, *, submission: str = "") -> FormResult:
    """`add_note`, for a case `find_case` gave; a repeated `submission` is stored once."""
    return _note(services, actor, report, text, NoteKind.INTERNAL, f"Note added to {report.reference}.", submission)


def set_status(services: Services, actor: Actor, reference_or_id: str, status: str) -> FormResult:
    """Move the case along the workflow; the reporter is told in plain words."""
    return move_case(services, actor, find_case(services, actor, reference_or_id, "case.status"), status)


def move_case(services: Services, actor: Actor, report: Report, status: str) -> FormResult:
    """`set_status`, for a case `find_case` gave."""
    target = parse_status(status)
    if target is None:
        # Only the moves open from here: "new" or the case's own status would be refused anyway.
        moves = ", ".join(status_name(s) for s in Status if s in allowed_moves(Role.LEAD, report.status))
        return FormResult(errors={"status": f"That is not a status {report.reference} can move to. It is "
                                            f"{status_name(report.status)}; choose one of: {moves}."})
    if target is report.status:
        return FormResult(reply=Reply.say(f"{report.reference} is already {status_name(target)}."))
    check_move(Role.LEAD, report.status, target)
    escalating = target is Status.ESCALATED
    if escalating and not escalation_targets(services, report, actor.id):
        # "Escalated to senior leads" would be false: say so rather than tell the reporter it.
        return FormResult(errors={"status": "There is no backup lead to escalate to: none who may see this case "
                                            "is set up. Add one under backup_leads in app.yaml."})
    now = services.clock.now()
    changes: dict[str, object] = {"status": target}
    if report.handler_id is None:
        changes |= {"handler_id": actor.id}
    updated = report.evolve(now=now, **changes)
    escalation = escalated_by_lead(services, updated, now) if escalating else ()
    services.store.commit(
        Changes(
            reports=(updated,),
            outbox=(to_reporter(updated, Delivery.REPORTER_UPDATE, now, update=target.value),
                    *escalation, *alert_updates(services.org, updated, now)),
            audit=(audit(report, actor, "case.status", now, detail=f"{report.status.value}->{target.value}"),),
        )
    )
    told = " The backup leads will be alerted." if escalation else ""
    return FormResult(reply=Reply.say(f"{report.reference} is now {STATUS_WORDS[target]}. The reporter will be "
                                      f"told.{told}"))


def parse_status(text: str) -> Status | None:
    """A status as people type it: "in progress", "in-progress", "In_Progress"; None if it is none."""
    key = "_".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    return next((status for status in Status if status.value == key), None)


def status_name(status: Status) -> str:
    """A status as people say it ("in progress")."""
    return status.value.replace("_", " ")


def message_reporter(services: Services, actor: Actor, reference_or_id: str, text: str) -> FormResult:
    """Relay a lead's message to the reporter by DM; kept on the case's timeline."""
    return message_case(services, actor, find_case(services, actor, reference_or_id, "case.message"), text)


def message_case(services: Services, actor: Actor, report: Report, text: str, *, submission: str = "") -> FormResult:
    """`message_reporter`, for a case `find_case` gave; a repeated `submission` is sent once."""
    done = f"Your message will be sent to the reporter of {report.reference}."
    return _note(services, actor, report, text, NoteKind.TO_REPORTER, done, submission)


def _note(services: Services, actor: Actor, report: Report, text: str, kind: NoteKind, done: str,
          submission: str = "") -> FormResult:
    # Written on the lead's platform; a message to the reporter must also fit theirs.
    platforms = {platform_of(actor.id)} | ({platform_of(report.reporter_id)} if kind is NoteKind.TO_REPORTER else set())
    error = text_error(text, min(services.capabilities_on(p).max_text for p in platforms))
    if error:
        return FormResult(errors={"text": error})
    commit_note_once(services, *note_changes(services, actor, report, text.strip(), kind,
                                             note_id=submission_id("note", actor, submission)))
    return FormResult(reply=Reply.say(done))


def takedown_letter(services: Services, actor: Actor, reference_or_id: str) -> Reply:
    """The platform's takedown letter, prefilled from the report, for the lead to check and send."""
    report = find_case(services, actor, reference_or_id, "case.letter")
    now = services.clock.now()
    services.store.commit(Changes(audit=(audit(report, actor, "case.letter", now),)))
    return Reply(cards=(letter_for_report(services, report, sender=actor),))


def lead_queue(services: Services, actor: Actor) -> Reply:
    """Open reports, oldest first, without those about the asking lead."""
    services.org.require_lead(actor.id)
    visible = services.store.open_reports(not_about=actor.id)  # all of them: the lead asked for the queue
    return Reply(cards=(queue_card(visible, services.content, now=services.clock.now()),))


def set_legal_hold(services: Services, actor: Actor, reference_or_id: str, *, held: bool = True) -> Reply:
    """Place a legal hold (the case is never purged while held), or lift it (leads are warned again first)."""
    report = find_case(services, actor, reference_or_id, "case.hold")
    if report.legal_hold == held:
        return Reply.say(f"{report.reference} is {'already' if held else 'not'} under a legal hold.")
    now = services.clock.now()
    updated = report.evolve(now=now, legal_hold=held, retention_warned_at=None)
    services.store.commit(Changes(reports=(updated,), audit=(
        audit(report, actor, "case.hold", now, detail="placed" if held else "lifted"),)))
    if held:
        return Reply.say(f"Legal hold placed on {report.reference}: it will not be deleted until a lead lifts it.")
    return Reply.say(f"Legal hold lifted on {report.reference}. If it is closed, the leads are warned again "
                     "7 days before it is deleted.")

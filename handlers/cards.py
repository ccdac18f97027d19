"""Card builders: pure functions from records to neutral cards. User text only goes in facts and quotes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.content import Content
from bot.domain.guidance import Step, is_safeguarding
from bot.domain.org import Organisation
from bot.domain.platform import local_id
from bot.domain.report import Evidence, Note, NoteKind, Report, Status
from bot.domain.report_form import (
    ADULT_LABELS, MAX_FILES, NATURE_LABELS, OTHER_CHANNELS, PERPETRATOR_LABELS, WANT_LABELS,
)
from bot.domain.routing import has_recipient
from bot.domain.ui import Button, Card, Fact, Section, Style, counted
from bot.domain.workflow import STATUS_WORDS
from handlers.actions import Action


def place_name(content: Content, where: str) -> str:
    """A report's `where` as a readable name."""
    platform = content.platforms.get(where)
    return platform.name if platform else OTHER_CHANNELS.get(where, where)


def age(since: datetime, now: datetime) -> str:
    """How long ago, in the largest sensible unit."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def status_words(report: Report) -> str:
    """Where a report stands, in plain words; one escalated for want of a lead says so."""
    if report.status is Status.ESCALATED and awaits_acknowledgement(report):
        return "waiting for a designated lead (being chased)"
    return STATUS_WORDS[report.status]


def named_person(report: Report) -> str:
    """The colleague the reporter named as responsible, for the leads handling the case ("" if none)."""
    if not report.subject_id:
        return ""
    shown = local_id(report.subject_id)  # the id as people know it here, not our platform-qualified key
    return f"{report.subject_name} ({shown})" if report.subject_name else shown


def flags(report: Report) -> str:
    """Urgency flags for leads: facts about the category, never the content."""
    found = []
    if report.possible_crime:
        found.append("possible crime")
    if report.course_of_conduct:
        found.append(f"{report.occasions} occasions")
    if is_safeguarding(report):
        found.append("safeguarding: a child or young person")
    if report.perpetrator.value == "colleague":
        found.append("about a colleague")
    if not report.evidence_saved:
        found.append("no evidence saved yet")
    return ", ".join(found) or "none"


def no_reader_text(content: Content, *, admins_told: bool) -> str:
    """The truth when no configured person may read a report, and where else to go."""
    posh = content.helplines["posh"]
    contacts = ", ".join(c.value for c in posh.contacts if c.kind in ("phone", "email"))
    told = (" I am telling an admin that a report is waiting for someone who can read it, without any "
            "details." if admins_told else "")
    return ("**Nobody here can read it yet**: it is about the only designated lead, and no backup lead is set "
            "up. Please also tell someone who can act: your line manager or another senior colleague, HR, your "
            f"union representative, or the {posh.name} ({contacts}; {posh.hours})." + told)


def receipt_card(report: Report, steps: list[Step], *, no_reader: str = "", files_after: bool = False) -> Card:
    """The reporter's receipt: reference, their next steps, and what happens next (`no_reader`: the truth instead;
    `files_after`: the platform's forms take no files, so it says how to send screenshots here)."""
    next_steps = tuple(Section(heading=("⚠️ " if s.urgent else "") + s.title, body=s.text) for s in steps)
    what_next = no_reader or ("Only the designated leads can read your report. They are being alerted, and a "
                              "lead will contact you here.")
    screenshots = Section(heading="Screenshots", body=(
        f"Send them to me here as images (paste them into this chat), with **{report.reference}** in the same "
        f"message, and I will add them to your report, up to {MAX_FILES} at a time. They are stored encrypted; "
        "only the designated leads can see them."))
    return Card(
        title=f"Your report {report.reference} is saved",
        summary=f"Your report {report.reference} is saved.",
        sections=(
            Section(body=f"Quote **{report.reference}** if you ask about it. {what_next}"),
            *((screenshots,) if files_after else ()),
            Section(heading="Your next steps"),
            *next_steps,
        ),
        buttons=(Button("My reports", Action.MY_REPORTS),
                 Button("Withdraw report", Action.REPORT_WITHDRAW, report.id, Style.DANGER)),
    )


def lead_alert_card(report: Report, content: Content, *, handler_name: str = "") -> Card:
    """The content-light alert for the leads' channel: category, flags and status, no words or names.

    It is edited in place as the case moves, so the channel shows at a glance who has taken what.
    """
    status = STATUS_WORDS[report.status]
    if report.handler_id and report.status is not Status.NEW:
        status = f"{report.status.value.replace('_', ' ')}, handled by {handler_name or 'a designated lead'}"
    elif report.escalations and awaits_acknowledgement(report):
        status = f"not yet acknowledged; chased {counted(report.escalations, 'time')}"
    buttons = [Button("View details", Action.CASE_VIEW, report.id, Style.PRIMARY)]
    if awaits_acknowledgement(report):
        buttons.append(Button("Acknowledge", Action.CASE_ACK, report.id))
    return Card(
        title=f"New report {report.reference}",
        summary=f"New report {report.reference}",
        sections=(
            Section(
                facts=(
                    Fact("Where", place_name(content, report.where)),
                    Fact("Who", PERPETRATOR_LABELS[report.perpetrator]),
                    Fact("Adult", ADULT_LABELS[report.adult]),
                    Fact("Flags", flags(report)),
                    Fact("First seen", report.first_seen.isoformat()),
                    Fact("Status", status),
                )
            ),
        ),
        buttons=tuple(buttons),
    )


def case_card(report: Report, notes: list[Note], content: Content, *, now: datetime,
              evidence: Sequence[Evidence] = (), files_refused: int = 0, duties: Sequence[Step] = ()) -> Card:
    """Everything about a case, for an authorised lead only, with the duties of those handling it."""
    reporter = report.reporter_name if report.named_to_leads else "Anonymous (chose not to be named)"
    facts = (
        Fact("Reference", report.reference),
        Fact("Status", status_words(report)),
        Fact("Received", f"{report.created_at:%Y-%m-%d %H:%M} UTC ({age(report.created_at, now)} ago)"),
        Fact("Reporter", reporter or "Unnamed"),
        Fact("Where", place_name(content, report.where)),
        Fact("Links", "\n".join(report.urls) or "none given"),
        Fact("First seen", report.first_seen.isoformat()),
        Fact("Occasions", str(report.occasions)),
        Fact("Who", PERPETRATOR_LABELS[report.perpetrator]),
        *((Fact("Named as responsible", named_person(report)),) if report.subject_id else ()),
        Fact("Adult", ADULT_LABELS[report.adult]),
        Fact("Nature", ", ".join(NATURE_LABELS[n] for n in sorted(report.natures)) or "not said"),
        Fact("Evidence saved", "yes" if report.evidence_saved else "no"),
        Fact("Wants", ", ".join(WANT_LABELS[w] for w in sorted(report.wants)) or "not said"),
        Fact("Flags", flags(report)),
        Fact("Legal hold", "yes: never deleted while held" if report.legal_hold else "no"),
    )
    timeline = tuple(Fact(f"{n.at:%Y-%m-%d %H:%M} {_NOTE_LABELS[n.kind]}", n.text) for n in notes)
    sections = [Section(heading="What happened", quote=report.what_happened), Section(facts=facts)]
    if evidence:
        files = tuple(Fact(f.file_name or "(no name)", f"{f.media_type or 'file'}, {f.size:,} bytes; "
                                                       f"SHA-256 {f.sha256[:16]}…") for f in evidence)
        sections.append(Section(heading="Attached files (in the export, with full hashes)", facts=files))
    if files_refused:
        sections.append(Section(body=f"**{counted(files_refused, 'attached file')} could not be stored** (too large, or "
                                     "no longer available). Ask the reporter to send them another way."))
    if timeline:
        sections.append(Section(heading="Notes and messages", facts=timeline))
    sections += [Section(heading=("⚠️ " if d.urgent else "") + d.title, body=d.text) for d in duties]
    return Card(
        title=f"Case {report.reference}",
        sections=tuple(sections),
        buttons=tuple(b for b in lead_buttons(report) if b.action != Action.CASE_VIEW),
    )


_NOTE_LABELS = {
    NoteKind.INTERNAL: "internal note",
    NoteKind.TO_REPORTER: "to the reporter",
    NoteKind.FROM_REPORTER: "from the reporter",
}


def lead_buttons(report: Report) -> tuple[Button, ...]:
    """What a lead can do with a case."""
    buttons = [Button("View details", Action.CASE_VIEW, report.id)]
    if awaits_acknowledgement(report):
        buttons.append(Button("Acknowledge", Action.CASE_ACK, report.id, Style.PRIMARY))
    buttons += [
        Button("Add note", Action.CASE_NOTE, report.id),
        Button("Set status", Action.CASE_STATUS, report.id),
        Button("Message reporter", Action.CASE_MESSAGE, report.id),
        Button("Takedown letter", Action.CASE_LETTER, report.id),
        Button("Export", Action.CASE_EXPORT, report.id),
        Button("Lift legal hold", Action.CASE_HOLD_LIFT, report.id) if report.legal_hold
        else Button("Legal hold", Action.CASE_HOLD, report.id),
    ]
    return tuple(buttons)


def awaits_acknowledgement(report: Report) -> bool:
    """Open and not yet taken by a lead (new, or escalated for want of one)."""
    return report.is_open and not report.acknowledged


def report_waiting_card() -> Card:
    """Tells an admin, without any detail, that a report has no one who may read it."""
    text = "A report is waiting for someone who can read it."
    return Card(title="A report is waiting", summary=text, sections=(Section(body=(
        f"{text} No designated lead in app.yaml may see it (for example, it is about the only designated "
        "lead). Add a backup lead under backup_leads in app.yaml and restart StaffSafe: the report is then "
        "sent to them once its escalation window has passed. This message holds no details of the report.")),))


def delivery_refused_card(platform: str) -> Card:
    """Tells an admin, without any detail, that a platform refused a message about a report for good."""
    text = f"A message about a report could not be delivered on {platform.capitalize()}."
    return Card(title="A message was refused", summary=text, sections=(Section(body=(
        f"{text} The person or channel it was for has blocked or removed StaffSafe, so it will not be tried "
        "again. Check that the designated leads and the leads' channel have the app installed (staffsafe "
        "check names leads who have not), and that the reporter can still reach the leads. This message "
        "holds no details of the report.")),))


def delivery_waiting_card(platform: str, name: str) -> Card:
    """Tells an admin that a message for someone waits until they install the app (no detail of the report)."""
    who = name[:1].upper() + name[1:] if name else "A person StaffSafe needs to reach"
    text = f"{who} has not installed StaffSafe in {platform.capitalize()}, so a message about a report is waiting."
    return Card(title="A message is waiting", summary=text, sections=(Section(body=(
        f"{text} Ask them to add the app (in {platform.capitalize()}: Apps, then search for StaffSafe) or to "
        "message it once: the message is then delivered. Until then it is kept and tried again. This message "
        "holds no details of the report.")),))


def escalation_card(report: Report, content: Content, *, now: datetime) -> Card:
    """Re-alerts the leads to a report nobody has acknowledged; content-light, like the first alert."""
    waited = age(report.created_at, now)
    return Card(
        title=f"Not yet acknowledged: {report.reference}",
        summary=f"Report {report.reference} has waited {waited} without a designated lead.",
        sections=(Section(
            body=f"This report has waited **{waited}** and no designated lead has acknowledged it. "
                 "StaffSafe is telling the reporter it is being chased.",
            facts=(Fact("Where", place_name(content, report.where)), Fact("Flags", flags(report)),
                   Fact("Chased", counted(report.escalations, "time"))),
        ),),
        buttons=(Button("View details", Action.CASE_VIEW, report.id),
                 Button("Acknowledge", Action.CASE_ACK, report.id, Style.PRIMARY)),
    )


def escalated_by_lead_card(report: Report, content: Content, *, handler_name: str = "") -> Card:
    """Tells the leads and backup leads a lead escalated a case; content-light, like the alert."""
    who = handler_name or "A designated lead"
    return Card(
        title=f"Escalated: {report.reference}",
        summary=f"{who} escalated report {report.reference}.",
        sections=(Section(
            body=f"{who} escalated this case to the senior leads. The reporter is told it is escalated.",
            facts=(Fact("Where", place_name(content, report.where)), Fact("Flags", flags(report))),
        ),),
        buttons=(Button("View details", Action.CASE_VIEW, report.id, Style.PRIMARY),),
    )


def chased_card(report: Report) -> Card:
    """Tells the reporter their report is waiting, and that the leads are being chased."""
    text = (f"Your report {report.reference} has not been picked up yet, so StaffSafe is chasing the "
            "designated leads now. You do not need to do anything.")
    return Card(title="Update on your report", summary=text, sections=(Section(facts=(Fact("Update", text),)),))


def retention_warning_card(report: Report, *, purge_on: datetime) -> Card:
    """Warns the leads a closed case is about to be deleted, with the way to keep it."""
    return Card(
        title=f"{report.reference} will be deleted on {purge_on:%d %b %Y}",
        summary=f"Closed case {report.reference} will be deleted on {purge_on:%d %b %Y}.",
        sections=(Section(body="Under the retention policy this closed case, its notes and its files will be "
                               "deleted for good. Only its reference and the date are kept. To keep it (for "
                               "a complaint, a claim or the police), place a **legal hold**."),),
        buttons=(Button("Legal hold", Action.CASE_HOLD, report.id, Style.DANGER),
                 Button("View details", Action.CASE_VIEW, report.id)),
    )


def my_reports_card(reports: list[Report], org: Organisation) -> Card:
    """A reporter's own reports and where each one is (one nobody set up may read says so, not "waiting")."""
    if not reports:
        return Card(title="Your reports", sections=(Section(body="You have not filed any reports."),),
                    buttons=(Button("Report cyberbullying", Action.REPORT_OPEN, style=Style.PRIMARY),))
    facts = tuple(
        Fact(r.reference, f"{_reporter_status(r, org)} (filed {r.created_at:%Y-%m-%d})") for r in reports
    )
    return Card(title="Your reports", sections=(Section(facts=facts),))


def _reporter_status(report: Report, org: Organisation) -> str:
    if awaits_acknowledgement(report) and not has_recipient(org, report):
        return "received, but nobody set up here can read it yet: my private message says where else to go"
    return status_words(report)


def reporter_update_card(report: Report, status: Status, *, handler_name: str = "") -> Card:
    """Tells the reporter, in plain words, what changed on their report (as it was when it changed)."""
    if status is Status.ACKNOWLEDGED:
        who = handler_name or "a designated lead"
        text = f"Your report {report.reference} has been acknowledged by {who}."
    else:
        text = f"Your report {report.reference} is now {STATUS_WORDS[status]}."
    return Card(title="Update on your report", summary=text, sections=(Section(facts=(Fact("Update", text),)),))


def reporter_message_card(report: Report, note: Note) -> Card:
    """A lead's message relayed to the reporter, with a way to reply."""
    return Card(
        title=f"Message about your report {report.reference}",
        summary=f"A designated lead sent you a message about {report.reference}.",
        sections=(Section(heading="From the designated lead", quote=note.text),),
        buttons=(Button("Reply", Action.REPORTER_REPLY, report.id),),
    )


def lead_message_card(report: Report) -> Card:
    """Tells the leads the reporter replied, without the words (they open the case to read it)."""
    return Card(
        title=f"The reporter replied on {report.reference}",
        summary=f"The reporter replied on {report.reference}.",
        buttons=(Button("View details", Action.CASE_VIEW, report.id, Style.PRIMARY),),
    )


def queue_card(reports: list[Report], content: Content, *, now: datetime) -> Card:
    """The open queue for leads, oldest first, with age and status."""
    if not reports:
        return Card(title="Open reports", sections=(Section(body="No open reports."),))
    facts = tuple(
        Fact(r.reference, f"{status_words(r)}; {place_name(content, r.where)}; "
                          f"{age(r.created_at, now)} old; flags: {flags(r)}")
        for r in reports
    )
    return Card(title=f"Open reports ({len(reports)})", sections=(Section(facts=facts),))

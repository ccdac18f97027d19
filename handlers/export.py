"""Case export for HR or the police: one document with the details, files, guidance, timeline and notes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from bot.domain.guidance import Step
from bot.domain.markup import plain
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import AuditEvent, Delivery, Evidence, Note, Report
from bot.domain.report_form import ADULT_LABELS, NATURE_LABELS, PERPETRATOR_LABELS, WANT_LABELS
from bot.domain.ui import Document, Reply, counted
from bot.domain.visible import reveal_hidden
from handlers.cards import named_person, place_name, status_words
from handlers.leads import find_case
from bot.domain.platform import platform_of
from bot.domain.routing import to_person
from handlers.reports import audit
from handlers.services import Services

_NOTE_HEADINGS = {"internal": "Internal note", "to_reporter": "Message to the reporter",
                  "from_reporter": "Message from the reporter"}


def export_case(services: Services, actor: Actor, reference_or_id: str) -> Document:
    """The whole case as a text document, at once (console); the export is audited first."""
    report = find_case(services, actor, reference_or_id, "case.export")
    now = services.clock.now()
    services.store.commit(Changes(audit=(audit(report, actor, "case.export", now),)))
    return case_document(services, report, exporter_id=actor.id, at=now)


def request_export(services: Services, actor: Actor, reference_or_id: str) -> Reply:
    """Queue the export, then a copy of each attached file, for the asking lead's DM; audited with the request.

    Each file is an item of its own, so a failed upload is retried alone and none arrives twice. Copies
    go only on a platform that can send stored files (`Capabilities.file_copies`); elsewhere the export
    lists the files with their hashes, as before.
    """
    report = find_case(services, actor, reference_or_id, "case.export")
    now = services.clock.now()
    files = services.store.evidence(report.id) if services.capabilities_on(platform_of(actor.id)).file_copies else []
    items = (to_person(report, Delivery.LEAD_EXPORT, actor.id, now),
             *(replace(to_person(report, Delivery.EVIDENCE_COPY, actor.id, now), file_ref=f.id) for f in files))
    services.store.commit(Changes(outbox=items, audit=(audit(report, actor, "case.export", now),)))
    what = f"The export of {report.reference} will arrive as a file"
    if files:
        what = (f"The export of {report.reference} and its {counted(len(files), 'attached file')} will arrive as "
                "files")
    return Reply.say(f"{what} in your messages from StaffSafe. "
                     "It is confidential: share it only with the people handling this case.")


def case_document(services: Services, report: Report, *, exporter_id: str, at: datetime,
                  files_follow: bool = False) -> Document:
    """The export's text, as the case stands now; `files_follow`: a copy of each file is sent after it."""
    notes = services.store.notes(report.id)
    events = services.store.audit(report.id)
    text = "\n".join([
        f"StaffSafe case export: {report.reference}",
        f"Exported {at:%Y-%m-%d %H:%M} UTC by {services.org.names.get(exporter_id, exporter_id)}",
        "CONFIDENTIAL: share only with the people handling this case.",
        "",
        *_details(services, report),
        "",
        "Evidence",
        *_evidence(services.store.evidence(report.id), files_follow=files_follow),
        "",
        "Guidance given to the reporter",
        *(f"- {step.title} ({step.cite})" for step in services.guidance.steps(report)),
        "",
        "Duties of the people handling this case",
        *(line for step in services.guidance.lead_steps(report) for line in _duty(step)),
        "",
        "Timeline",
        *_timeline(services, report, notes, events),
    ])
    # The reporter's and leads' words are shown as typed, with no character hiding or reordering them.
    return Document(filename=f"{report.reference}.txt", text=reveal_hidden(text) + "\n")


def _details(services: Services, report: Report) -> list[str]:
    reporter = report.reporter_name if report.named_to_leads else "Anonymous (chose not to be named to the leads)"
    return [
        f"Status: {status_words(report)}",
        f"Received: {report.created_at:%Y-%m-%d %H:%M} UTC",
        f"Reporter: {reporter}",
        f"Where: {place_name(services.content, report.where)}",
        "Links:", *(f"  {url}" for url in report.urls or ("none given",)),
        f"First seen: {report.first_seen.isoformat()}; occasions: {report.occasions}",
        f"Who: {PERPETRATOR_LABELS[report.perpetrator]}; adult: {ADULT_LABELS[report.adult]}",
        *([f"Named as responsible: {named_person(report)}"] if report.subject_id else []),
        "Nature: " + (", ".join(NATURE_LABELS[n] for n in sorted(report.natures)) or "not said"),
        f"Evidence saved by the reporter: {'yes' if report.evidence_saved else 'no'}",
        "Wants: " + (", ".join(WANT_LABELS[w] for w in sorted(report.wants)) or "not said"),
        "",
        "What happened (the reporter's words)",
        *(f"  {line}" for line in report.what_happened.splitlines()),
    ]


def _duty(step: Step) -> list[str]:
    """One duty as plain text: its title, then its text indented (links as "label (address)")."""
    return [f"- {step.title} ({step.cite})", *(f"  {line}" for line in plain(step.text).splitlines())]


def _evidence(files: list[Evidence], *, files_follow: bool) -> list[str]:
    """What each uploaded file is and its SHA-256; never its contents."""
    if not files:
        return ["No files were uploaded."]
    lines = ["The files are kept encrypted in StaffSafe; a copy whose SHA-256 matches is unchanged."]
    if files_follow:
        lines.append("A copy of each file follows this export, as a file of its own in this conversation.")
    for item in files:
        lines += [
            f"- {_one_line(item.file_name) or '(no name)'}",
            f"  Type: {_one_line(item.media_type) or 'unknown'}; size: {item.size:,} bytes",
            f"  SHA-256: {item.sha256}",
            f"  Received: {item.received_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        ]
    return lines


def _one_line(text: str) -> str:
    # Names come from the uploader: a line break or control character must not forge export lines.
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _timeline(services: Services, report: Report, notes: list[Note], events: list[AuditEvent]) -> list[str]:
    """Audit events and notes in time order; notes with their text, events without content."""

    def who(actor_id: str) -> str:
        # The reporter is never named here: they may have asked to stay anonymous to the leads.
        return "the reporter" if actor_id == report.reporter_id else services.org.names.get(actor_id, actor_id)

    entries = [(e.at, f"{e.at:%Y-%m-%d %H:%M} {e.action} by {who(e.actor_id)}"
                      + (f" ({e.detail})" if e.detail else "")) for e in events]
    for note in notes:
        lines = [f"{note.at:%Y-%m-%d %H:%M} {_NOTE_HEADINGS[note.kind.value]}:"]
        entries.append((note.at, "\n".join(lines + [f"  {line}" for line in note.text.splitlines()])))
    return [text for _, text in sorted(entries, key=lambda entry: entry[0])]

"""The confidential incident report and the records that hang off it (notes, evidence, audit, outbox)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any



class Perpetrator(StrEnum):
    """Who the reporter believes is responsible."""

    SERVICE_USER = "service_user"
    LINKED = "linked"  # someone linked to a service user: parent, carer, partner, family
    COLLEAGUE = "colleague"
    UNKNOWN = "unknown"


class Adult(StrEnum):
    """Whether the person responsible is an adult, as far as the reporter knows."""

    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class Nature(StrEnum):
    """What kind of content or behaviour it is; several may apply."""

    THREATENING = "threatening"
    ABUSIVE = "abusive"
    SEXIST = "sexist"
    SEXUAL = "sexual"
    HATE_CRIME = "hate_crime"
    IMPERSONATION = "impersonation"
    PRIVATE_INFO = "private_info"  # private information or images shared
    FALSE_CLAIMS = "false_claims"  # lies or false rumours about the person
    CHILD_SEXUAL = "child_sexual"  # sexual content or images of a child or young person: a safeguarding matter


# The leaflet: these may be reported to the police; online harassment is a crime.
POLICE_NATURES = frozenset(
    {Nature.THREATENING, Nature.ABUSIVE, Nature.SEXIST, Nature.SEXUAL, Nature.HATE_CRIME, Nature.CHILD_SEXUAL}
)


class Want(StrEnum):
    """What the reporter would like to happen."""

    REMOVED = "removed"  # the content taken down
    STOPPED = "stopped"  # the behaviour to stop
    MEETING = "meeting"  # the organisation to meet the person responsible
    POLICE = "police"  # help to contact the police
    SUPPORT = "support"  # someone to talk to
    RECORD = "record"  # just to have it on record


class Status(StrEnum):
    """Where a report is in its handling."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"  # on a platform or provider
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(Status) - {Status.RESOLVED, Status.CLOSED}

# Phone-based channels route to the mobile provider, not a platform.
PHONE_CHANNELS = frozenset({"phone", "sms"})

_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read aloud


def new_reference() -> str:
    """A random reference a reporter can quote: ~49 bits, so it cannot be guessed or enumerated."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))
    return f"SS-{chars[:5]}-{chars[5:]}"


def normalise_reference(text: str) -> str:
    """Accept references typed in lower case, with spaces or without dashes."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if raw.startswith("SS"):
        raw = raw[2:]
    return f"SS-{raw[:5]}-{raw[5:]}" if len(raw) == 10 else text.strip().upper()


def new_id() -> str:
    """An opaque internal id (safe to put in button values and private_metadata)."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Report:
    """One confidential incident report. Text fields are the reporter's words, never markup."""

    id: str
    reference: str
    reporter_id: str  # platform-qualified, e.g. "slack:U123", "console:sam"
    reporter_name: str
    named_to_leads: bool  # False: the leads see "anonymous" instead of the reporter
    what_happened: str
    where: str  # a platform id from content, or phone, sms, email, other
    urls: tuple[str, ...]
    first_seen: date
    occasions: int
    perpetrator: Perpetrator
    adult: Adult
    natures: frozenset[Nature]
    evidence_saved: bool
    wants: frozenset[Want]
    created_at: datetime
    subject_id: str | None = None  # a named colleague: never shown this report
    subject_name: str = ""
    status: Status = Status.NEW
    handler_id: str | None = None  # the lead who acknowledged it
    handler_named: bool = True  # whether the reporter may be told who handles it
    updated_at: datetime | None = None
    version: int = 1
    escalations: int = 0  # escalation windows passed unacknowledged, each escalated once
    closed_at: datetime | None = None  # when it was resolved or closed: retention counts from here
    legal_hold: bool = False  # a lead's hold: never purged while set
    retention_warned_at: datetime | None = None  # when leads were warned of the purge

    @property
    def is_open(self) -> bool:
        """Whether the case still needs handling."""
        return self.status in OPEN_STATUSES

    @property
    def closed_since(self) -> datetime | None:
        """When its retention clock started (None while open); reports closed before `closed_at` was kept count from their last change."""
        if self.is_open:
            return None
        return self.closed_at or self.updated_at or self.created_at

    @property
    def possible_crime(self) -> bool:
        """The leaflet's police criteria, used as an urgency flag for leads."""
        return bool(self.natures & POLICE_NATURES)

    @property
    def course_of_conduct(self) -> bool:
        """Two or more occasions: a course of conduct under the Protection from Harassment Act 1997."""
        return self.occasions >= 2

    @property
    def acknowledged(self) -> bool:
        """Whether a lead has taken it (acknowledging, or moving it on, names a handler)."""
        return self.handler_id is not None

    def evolve(self, *, now: datetime, **changes: Any) -> Report:
        """A new version of this report, ready to be saved with an optimistic version check.

        Leaving the open statuses starts the retention clock and reopening stops it, here, so no
        status change can forget it.
        """
        status = changes.get("status", self.status)
        if status in OPEN_STATUSES:
            changes |= {"closed_at": None, "retention_warned_at": None}
        elif self.is_open:
            changes |= {"closed_at": now}
        return replace(self, updated_at=now, version=self.version + 1, **changes)


class NoteKind(StrEnum):
    """Entries on a case's timeline."""

    INTERNAL = "internal"  # leads only
    TO_REPORTER = "to_reporter"  # relayed by the bot to the reporter
    FROM_REPORTER = "from_reporter"  # the reporter's reply, relayed to the leads


@dataclass(frozen=True)
class Note:
    """A note or relayed message on a case."""

    id: str
    report_id: str
    kind: NoteKind
    author_id: str
    text: str
    at: datetime


# Per file: notifiers refuse bigger files before or while fetching them, and the fetch stops there.
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Evidence:
    """A file the reporter uploaded with a report (a screenshot): what it is, never its bytes. Append-only.

    The bytes are a blob the store wrote before committing this record (`Store.write_evidence_blob`)
    and streams back on request (`Store.open_evidence`); `size` and `sha256` are what that write
    measured, so an export can quote the hash as proof that a copy handed to HR or the police is the
    file the reporter gave.
    """

    id: str
    report_id: str
    file_name: str  # as the uploader named it: the reporter's text
    media_type: str
    size: int  # bytes
    sha256: str  # lowercase hex of the file's bytes
    received_at: datetime
    source_id: str  # the platform's opaque reference to the file (Slack "F0123", a URL): stored once per report


@dataclass(frozen=True)
class AuditEvent:
    """An append-only record of who did what to a case. Never holds report content."""

    id: str
    report_id: str
    actor_id: str
    action: str  # a dotted action id, e.g. "report.view"
    at: datetime
    detail: str = ""  # non-content detail: a status name, "refused: not a lead"


class Delivery(StrEnum):
    """What an outbox item delivers; the content is rendered from the store at delivery time."""

    LEAD_ALERT = "lead.alert"
    RECEIPT = "reporter.receipt"
    REPORTER_UPDATE = "reporter.update"  # status change or acknowledgement, told to the reporter (update)
    REPORTER_MESSAGE = "reporter.message"  # a lead's message relayed to the reporter
    LEAD_MESSAGE = "lead.message"  # the reporter's reply relayed to the leads
    ALERT_UPDATE = "lead.alert_update"  # the leads' alerts on one platform edited to show the status and handler
    LEAD_EXPORT = "lead.export"  # a case export, as a file in the requesting lead's DM
    EVIDENCE_COPY = "lead.evidence_copy"  # one stored file of an export (file_ref: its evidence id), to the same DM
    EVIDENCE = "evidence.fetch"  # download a screenshot the reporter attached (file_ref)
    ESCALATION = "lead.escalation"  # an unacknowledged report, re-alerted
    RETENTION_WARNING = "lead.retention_warning"  # a closed report is about to be purged
    REMINDER = "reminder.post"  # an awareness reminder (run_id, channel)
    REPORT_WAITING = "admin.report_waiting"  # tell an admin a report has no one who may see it (recipient), no content
    REMINDER_NOTICE = "admin.reminder_notice"  # tell an admin a reminder could not be posted (run_id, recipient)


class OutboxState(StrEnum):
    """Where an outbox item is: waiting, being sent by one worker, or done one way or another."""

    PENDING = "pending"  # due at due_at
    SENDING = "sending"  # claimed by a worker until claimed_until; a lapsed claim is looked up before resending
    SENT = "sent"
    REFUSED = "refused"  # the platform refused for good (refusal holds its error code)
    CANCELLED = "cancelled"  # nothing to send any more (a deleted reminder)
    UNDELIVERABLE = "undeliverable"  # purged report, or no one left to tell


OPEN_OUTBOX = frozenset({OutboxState.PENDING, OutboxState.SENDING})


class ClaimOrder(IntEnum):
    """Which items a worker claims first: a lead alert never waits behind a download or a fan-out."""

    ABOUT_REPORTS = 0
    EVIDENCE = 1
    REMINDER_POSTS = 2

    @classmethod
    def of(cls, kind: Delivery) -> ClaimOrder:
        """The rank of one kind of item (files, either way, after everything about reports)."""
        if kind in (Delivery.EVIDENCE, Delivery.EVIDENCE_COPY):
            return cls.EVIDENCE
        return cls.REMINDER_POSTS if kind is Delivery.REMINDER else cls.ABOUT_REPORTS


@dataclass(frozen=True)
class OutboxItem:
    """A notification to deliver with retries, on one platform. Carries ids only, never content."""

    id: str
    kind: Delivery
    report_id: str  # "" for reminders
    due_at: datetime
    note_id: str | None = None
    run_id: str = ""  # a reminder send's ReminderRun id
    platform: str = ""  # the platform that delivers it: only a worker of this platform claims it
    recipient: str = ""  # a person, as a tag (see routing), never a user id; "" for the leads' channel
    channel: str = ""  # a reminder post's platform-qualified channel
    file_ref: str = ""  # an evidence download's opaque file reference, as the platform gave it; a copy's evidence id
    update: str = ""  # a reporter update's news (a Status value, or "chased"); an escalation's cause ("lead")
    state: OutboxState = OutboxState.PENDING
    error: str = ""  # the class of the last failure (e.g. RateLimited, PermanentFailure), never its text
    refusal: str = ""  # a refused item's platform error code (e.g. not_in_channel), never content
    uncertain: bool = False  # a try may have arrived unseen: look for it before sending again
    claimed_by: str = ""  # the worker holding a SENDING item
    claimed_until: datetime | None = None  # when that claim lapses
    attempts: int = 0
    delivered_at: datetime | None = None  # when it was sent or closed
    receipt: str = ""  # the platform's opaque reference to the sent message, recorded once sent

    @property
    def pending(self) -> bool:
        """Whether this item still has to be delivered."""
        return self.state in OPEN_OUTBOX

    def claim(self, *, owner: str, until: datetime) -> OutboxItem:
        """This item held by one worker until `until`; taking over a lapsed claim makes the send uncertain."""
        lapsed = self.state is OutboxState.SENDING
        return replace(self, state=OutboxState.SENDING, claimed_by=owner, claimed_until=until,
                       uncertain=self.uncertain or lapsed)

    def released(self) -> OutboxItem:
        """Back to waiting, untried (a worker claimed more than it could try)."""
        return replace(self, state=OutboxState.PENDING, claimed_by="", claimed_until=None)

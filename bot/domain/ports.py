"""Ports: what the core needs from the outside world (storage, time, delivery)."""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta, timezone
from typing import Protocol

from bot.domain.platform import ConversationRef, local_id, platform_of
from bot.domain.reminder import PressKind, PurgeRecord, Reminder, ReminderPress, ReminderRun
from bot.domain.report import AuditEvent, Delivery, Evidence, Note, OutboxItem, Report
from bot.domain.ui import Card, Document


@dataclass(frozen=True)
class Changes:
    """One atomic unit of work for a Store: all of it is committed, or none of it.

    Order of application within one commit (every store checks the whole commit before applying
    any of it, then applies it in this order):
    1. records, table by table: reports, notes, evidence, audit events, reminders, runs, outbox
       items, presses, purge records, conversation references. Whatever a record names (a report,
       a note, a reminder, a run) is put before it, so one commit may add a report with the outbox
       items, notes and evidence that name it, or a run with the posts that name it;
    2. `drop_outbox`: so an item queued and dropped in one commit is gone;
    3. `purge_reports`: each report goes with everything attached to it, including what this same
       commit added to it.
    """

    reports: tuple[Report, ...] = ()
    notes: tuple[Note, ...] = ()
    audit: tuple[AuditEvent, ...] = ()
    outbox: tuple[OutboxItem, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    reminders: tuple[Reminder, ...] = ()  # versioned like reports
    runs: tuple[ReminderRun, ...] = ()  # append-only: a run id is claimed once
    presses: tuple[ReminderPress, ...] = ()  # append-only; one per (run, button, person)
    purges: tuple[PurgeRecord, ...] = ()  # append-only
    # Reports removed with their notes, evidence, audit trail and outbox items. Each is given as
    # last read: a report changed since (a legal hold placed) is not purged (Conflict).
    purge_reports: tuple[Report, ...] = ()
    drop_outbox: tuple[str, ...] = ()  # ids of delivered outbox items no longer needed (unknown ids ignored)
    conversations: tuple[ConversationRef, ...] = ()  # upserted by id


class Store(Protocol):
    """Storage of reports and what hangs off them, shaped so a database answers each read with an index.

    Contract (tests/store_contract.py runs it against every implementation):
    - `commit` is atomic: every record in `Changes` is stored, or none is (Conflict, crash), in the
      order `Changes` documents. When it returns the commit is as durable as that store promises
      (each store's docstring says how: a synced journal, a database transaction, memory only).
    - A report's reference is unique: a new report reusing one raises Conflict.
    - A report in `Changes.reports` with version 1 must be new; with version n > 1 the stored
      version must be n - 1, otherwise Conflict and nothing is written.
    - Notes, evidence and audit events are append-only: committing an existing id raises Conflict.
    - Evidence bytes never travel in `Changes`: `write_evidence_blob` stores a file's bytes (durably,
      before the commit), then a commit of the `Evidence` record names them. A commit naming evidence
      whose blob was not written by this store, or with another size or SHA-256, raises StoreError and
      writes nothing. A blob no commit names (a crash between the two) is an orphan: each store sweeps
      its orphans. `evidence` lists records without reading any bytes; `open_evidence` streams them.
    - A report stores a platform file once: evidence with the (report_id, source_id) of stored
      evidence, or twice in one commit, raises Conflict (so a retried download is harmless).
    - Outbox items are upserted by id.
    - `claim_due` hands each due item to one worker only: it returns the items it marked SENDING for
      `owner` until now + lease, atomically and durably, and no other call returns them until that
      lease lapses (then the next claim takes the item over, marked uncertain: look before resending).
      Only items of the platforms asked for are claimed, ever; claim order is ClaimOrder (items about
      reports, then evidence downloads, then reminder posts), then oldest due first.
    - Reminders are versioned like reports. Runs, presses and purge records are append-only; a
      second press with the same (run_id, button, presser_id) raises Conflict.
    - `purge_reports` removes each report with its notes, evidence (and their blobs), audit events
      and outbox items; Conflict if the report is unknown or its stored version differs from the one given.
    - `drop_outbox` removes outbox items by id; unknown ids are ignored.
    - Conversation references are upserted by id (one per target: `conversation_id_of`).
    - `on_queued` callbacks are called soon after every commit that queues outbox items (an item
      pending and never tried), by whichever process sharing the store committed it, from any thread;
      they must be quick and are never given anything (a wake-up is a hint: workers poll as well).
    - Every method is safe to call from many threads at once.
    - Returned values are immutable snapshots; lists come in a stable documented order.

    Targeted reads: the scheduler and the handlers read only what is due or asked for, so a pass
    costs what is due, not what is stored. Reads that a pass could otherwise let grow without bound
    take a `limit`; those whose results may stay (a report nobody may be told about, a reminder that
    fails) also take `after`, the last record of the previous page, to read on in the same order.
    Time bounds are inclusive ("at or before"), except `delivered_outbox`'s `before`.
    A store answers them from index fields beside its sealed records, never by opening every record:
    a report's status, created_at, closed_since, retention_warned_at, legal_hold, escalations and
    whether it is acknowledged (handler_id set, not who); a reminder's next_run, paused, deleted; the
    keyed hash of a report's subject (`not_about`). These say when and how far a case was handled,
    which the alerts, the audit trail and the purge records show leads anyway; none is what happened,
    who reported it, whom it is about or who handles it (DESIGN.md, confidentiality model 1-3).
    `all_reports` reads everything: for exports, re-encryption and data migrations only.
    """

    def report(self, report_id: str) -> Report | None:
        """The report with this internal id."""
        ...

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference (already normalised)."""
        ...

    def reports_by_reporter(self, reporter_id: str, since: datetime | None = None) -> list[Report]:
        """A reporter's reports (only those created after `since`, if given), newest first."""
        ...

    def open_reports(self, limit: int | None = None, *, not_about: str | None = None) -> list[Report]:
        """Reports not yet resolved or closed, oldest first (ties in arrival order), at most `limit`.

        `not_about`: leave out the reports about this platform-qualified person (a lead's queue).
        """
        ...

    def open_report_count(self, *, not_about: str | None = None) -> int:
        """How many reports are open (leaving out those about `not_about`, if given)."""
        ...

    def escalation_due(self, now: datetime, window: timedelta, limit: int = 100,
                       after: Report | None = None) -> list[Report]:
        """Open reports no lead has acknowledged whose next escalation window has ended on the clock.

        That is created_at + (escalations + 1) * window <= now: a report escalated once per window
        is not returned again until its next window ends. Oldest created first, ties by id; at most
        `limit`, only those after `after` in that order. Working hours only stretch a window, so the
        caller checks working time on what this returns.
        """
        ...

    def reports_to_warn(self, closed_before: datetime, limit: int = 100) -> list[Report]:
        """Closed reports not on legal hold, not yet warned of their purge, closed (`closed_since`) at or before `closed_before`.

        Earliest `closed_since` first, ties by id; at most `limit`.
        """
        ...

    def reports_to_purge(self, closed_before: datetime, warned_before: datetime, limit: int = 100) -> list[Report]:
        """Closed reports not on legal hold, closed at or before `closed_before` and warned at or before `warned_before`.

        Earliest `closed_since` first, ties by id; at most `limit`.
        """
        ...

    def all_reports(self) -> list[Report]:
        """Every report, oldest first: for exports, re-encryption and migrations only, never a scheduler pass."""
        ...

    def notes(self, report_id: str) -> list[Note]:
        """A case's notes and relayed messages, oldest first."""
        ...

    def evidence(self, report_id: str) -> list[Evidence]:
        """A case's uploaded files (names, sizes, hashes; no bytes are read), oldest first (received_at, then id)."""
        ...

    def write_evidence_blob(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Store a file's bytes for the evidence record about to be committed; durable when this returns.

        Streams: memory stays bounded by a chunk whatever the file's size. Raises StoreError if that
        evidence id is already committed; whatever `chunks` raises is raised, and nothing is kept.
        """
        ...

    def open_evidence(self, report_id: str, evidence_id: str) -> Iterator[bytes]:
        """A committed file's bytes, chunk by chunk, each checked before it is given.

        NotFound if the report has no such evidence; EvidenceUnreadable (at once, or while iterating)
        if its bytes are missing, damaged, tampered with or belong elsewhere: no wrong byte is ever given.
        """
        ...

    def audit(self, report_id: str) -> list[AuditEvent]:
        """A case's audit trail, oldest first."""
        ...

    def outbox_item(self, item_id: str) -> OutboxItem | None:
        """One outbox item by id."""
        ...

    def outbox_of(self, report_id: str) -> list[OutboxItem]:
        """A case's outbox items, in the order they were first queued (e.g. to find a sent alert)."""
        ...

    def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Undelivered outbox items due at or before `now`, in claim order (what is waiting, for checks).

        Items about reports come before evidence downloads, which come before reminder posts, whatever
        their due times: a fan-out of 1,000 posts must not hold up a lead alert queued after it.
        """
        ...

    def claim_due(self, now: datetime, limit: int, owner: str, lease: timedelta,
                  platforms: Collection[str]) -> list[OutboxItem]:
        """Claim due items of these platforms for one worker (see the contract above); the claimed items."""
        ...

    def reminder(self, reminder_id: str) -> Reminder | None:
        """One reminder by id (deleted ones too)."""
        ...

    def conversation(self, target: str) -> ConversationRef | None:
        """The stored conversation reference of a platform-qualified user or channel id (see Conversations)."""
        ...

    def conversations(self, platform: str) -> list[ConversationRef]:
        """Every stored conversation reference on one platform (uninstalled ones too), in no set order."""
        ...

    def reminders(self) -> list[Reminder]:
        """Every reminder, deleted ones too, oldest created first."""
        ...

    def due_reminders(self, now: datetime, limit: int = 100, after: Reminder | None = None) -> list[Reminder]:
        """Active reminders (neither paused nor deleted) whose next run is at or before `now`.

        Earliest next run first, ties by id; at most `limit`, only those after `after` in that order.
        """
        ...

    def reminder_run(self, run_id: str) -> ReminderRun | None:
        """One claimed send by id."""
        ...

    def runs_of(self, reminder_id: str) -> list[ReminderRun]:
        """A reminder's claimed sends, oldest claimed first."""
        ...

    def run_count(self, reminder_id: str) -> int:
        """How many sends of a reminder were claimed (scheduled and "send now")."""
        ...

    def outbox_of_run(self, run_id: str) -> list[OutboxItem]:
        """A reminder send's outbox items (one per channel, and notices), in the order queued."""
        ...

    def press_counts(self, reminder_id: str) -> dict[PressKind, int]:
        """How many presses of each button a reminder's sends got (every button present, 0 if none)."""
        ...

    def purges(self) -> list[PurgeRecord]:
        """The purge records, oldest first."""
        ...

    def delivered_outbox(self, kind: Delivery, before: datetime, limit: int = 500) -> list[OutboxItem]:
        """Delivered (or closed) items of one kind whose delivered_at is before `before`, oldest first."""
        ...

    def on_queued(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each later commit that queues outbox items (see the contract), until closed."""
        ...

    def close(self) -> None:
        """Release files and locks; later calls fail."""
        ...

    @property
    def healthy(self) -> bool:
        """False while writes fail (a full disk): the health check reports it."""
        ...


class Conversations(Protocol):
    """Stored conversation references, read by a platform's notifier to message someone unprompted.

    Every Store is one; `remember_conversation` (handlers/conversations.py) writes them.
    """

    def conversation(self, target: str) -> ConversationRef | None:
        """How to reach this platform-qualified user or channel, if the platform told us."""
        ...


class Clock(Protocol):
    """The time, injectable so tests control it."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(timezone.utc)


@dataclass(frozen=True, kw_only=True)
class Destination:
    """Where a delivery goes on one platform: its leads' channel, one person privately, or a channel."""

    platform: str
    leads: bool = False
    user_id: str = ""  # platform-qualified; for a DM
    channel: str = ""  # platform-qualified; a reminder's channel


class Notifier(Protocol):
    """Sends cards and files on one platform, and fetches files users attached.

    Raises TemporaryFailure to be retried later (UncertainDelivery when the request may have
    arrived), PermanentFailure when the platform refused for good.
    """

    platform: str  # the platform it delivers on: it is only ever given that platform's items

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        """Deliver a card; return an opaque reference to the sent message (Slack: its ts), for `update`.

        `maybe_sent`: an earlier try may have arrived; look for it under the same key before posting again.
        """
        ...

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        """Replace a message sent earlier (its reference from `send`) with a new card."""
        ...

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        """Deliver a document as a file; return the platform's file id."""
        ...

    def upload_file(self, destination: Destination, file: OutgoingFile, *, idempotency_key: str) -> str:
        """Deliver a stored file (an evidence copy for a lead) streamed from `file.open()`; the platform's file id.

        Memory stays bounded by a chunk, or by the one file where the platform's API needs it whole.
        """
        ...

    def fetch_file(self, file_id: str) -> AbstractContextManager[FetchedFile]:
        """Start downloading a file a user attached (a report's screenshot), by the reference the platform gave.

        Used as `with notifier.fetch_file(ref) as fetched: ...`; leaving the block closes the download.
        Refuses files over MAX_EVIDENCE_BYTES (PermanentFailure), before or while streaming.
        """
        ...


class Notifiers:
    """The running notifiers, one per platform: an item goes to its own platform's notifier or waits."""

    def __init__(self, notifiers: Iterable[Notifier]) -> None:
        self._by_platform: dict[str, Notifier] = {}
        for notifier in notifiers:
            if notifier.platform in self._by_platform:
                raise ValueError(f"two notifiers for platform {notifier.platform!r}")
            self._by_platform[notifier.platform] = notifier

    @property
    def platforms(self) -> frozenset[str]:
        """The platforms that can be delivered to now."""
        return frozenset(self._by_platform)

    def for_platform(self, platform: str) -> Notifier | None:
        """The notifier of this platform, if it runs here."""
        return self._by_platform.get(platform)


@dataclass(frozen=True)
class FetchedFile:
    """A file being downloaded from the platform: its name and type, and its bytes as they arrive."""

    name: str
    media_type: str
    # Iterated once; may raise TemporaryFailure or PermanentFailure part way (a dropped connection, too big).
    chunks: Iterable[bytes] = field(repr=False)


@dataclass(frozen=True)
class OutgoingFile:
    """A stored file to deliver (an evidence copy): what it is, and a way to stream its bytes."""

    name: str  # the uploader's name for it: their text, never markup
    media_type: str
    size: int
    open: Callable[[], Iterator[bytes]] = field(repr=False)  # each call streams the bytes from the start


@dataclass(frozen=True)
class BlobWritten:
    """What a store measured while writing a file's bytes: the Evidence record must say the same."""

    size: int
    sha256: str  # lowercase hex


def capped(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """`chunks`, stopped with PermanentFailure as soon as they add up to more than `limit` bytes."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise PermanentFailure(f"the file is larger than {limit // (1024 * 1024)} MB")
        yield chunk


class TemporaryFailure(Exception):
    """A delivery failed in a way worth retrying (429, 5xx, network); `retry_after` in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class RateLimited(TemporaryFailure):
    """The platform said "too many requests" (429): everything waits for its Retry-After, not just this."""


class UncertainDelivery(TemporaryFailure):
    """The request may have reached the platform (the connection dropped): look before trying again."""


class NotReachable(TemporaryFailure):
    """The platform cannot reach this person or channel until they install the app: retried (it may be
    installed any moment), and the admins are told once."""


class PermanentFailure(Exception):
    """The platform refused for good (no such file, too large, not in the channel)."""


class RecipientRefused(PermanentFailure):
    """The person or channel will not take the bot's messages (blocked it, removed it): the item is closed
    as refused and the admins are told, rather than retried for ever."""


class Directory(Protocol):
    """What the platform knows about its people and channels (workspace admins, membership)."""

    def is_admin(self, user_id: str) -> bool:
        """Whether the platform says this person administers the workspace (admins and owners)."""
        ...

    def channel_problem(self, channel_id: str) -> str:
        """Why the bot cannot post to this platform-qualified channel, or "" if it can."""
        ...

    def time_zone(self, user_id: str) -> str:
        """The person's IANA time zone, or "" if unknown."""
        ...

    def channel_label(self, channel_id: str) -> str:
        """A platform-qualified channel as people know it ("#staffroom"), or its id if unknown."""
        ...


class NoDirectory:
    """A platform with no workspace (the console): no workspace admins, every channel is fine."""

    def is_admin(self, user_id: str) -> bool:
        """Only app.yaml names admins here."""
        return False

    def channel_problem(self, channel_id: str) -> str:
        """The console can "post" anywhere."""
        return ""

    def time_zone(self, user_id: str) -> str:
        """Unknown: callers use the reminder's own time zone."""
        return ""

    def channel_label(self, channel_id: str) -> str:
        """The channel id without its platform."""
        return "#" + local_id(channel_id) if platform_of(channel_id) else channel_id

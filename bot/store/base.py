"""The read side shared by the in-process stores: a lock around decoded Tables."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from bot.domain.errors import NotFound, StoreError
from bot.domain.platform import ConversationRef
from bot.domain.ports import BlobWritten, Changes
from bot.domain.reminder import PressKind, PurgeRecord, Reminder, ReminderRun
from bot.domain.report import AuditEvent, Delivery, Evidence, Note, OutboxItem, Report
from bot.domain.ui import counted
from bot.store.blobs import Blobs
from bot.store.tables import Removed, Tables
from bot.store.wakeups import QueuedCallbacks, Wake

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class TablesStore:
    """Store queries answered from memory under one re-entrant lock; subclasses add `commit`.

    Evidence bytes are in `blobs`, never in the tables: a blob written here waits in `_written`
    (with the size and SHA-256 it was written with) until the commit that names it.
    """

    def __init__(self, *, tables: Tables, blobs: Blobs) -> None:
        self._lock = threading.RLock()
        self._tables = tables
        self._blobs = blobs
        self._written: dict[tuple[str, str], BlobWritten] = {}  # blobs no commit names yet
        self._closed = False
        self._queued = QueuedCallbacks()  # fired by each writing subclass after a commit that queues work

    @property
    def healthy(self) -> bool:
        """False while writes fail; stores kept in memory never do."""
        return True

    def report(self, report_id: str) -> Report | None:
        """The report with this internal id."""
        return self._read(self._tables.reports.get, report_id)

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference."""
        return self._read(self._tables.report_by_reference, reference)

    def reports_by_reporter(self, reporter_id: str, since: datetime | None = None) -> list[Report]:
        """A reporter's reports (only those created after `since`, if given), newest first."""
        return self._read(self._tables.reports_by_reporter, reporter_id, since)

    def open_reports(self, limit: int | None = None, *, not_about: str | None = None) -> list[Report]:
        """Reports not yet resolved or closed, oldest first, at most `limit`, without those about `not_about`."""
        return self._read(self._tables.open_reports, limit, not_about)

    def open_report_count(self, *, not_about: str | None = None) -> int:
        """How many reports are open (without those about `not_about`)."""
        return self._read(self._tables.open_report_count, not_about)

    def escalation_due(self, now: datetime, window: timedelta, limit: int = 100,
                       after: Report | None = None) -> list[Report]:
        """Open, unacknowledged reports whose next escalation window has ended on the clock, oldest first."""
        return self._read(self._tables.escalation_due, now, window, limit, after)

    def reports_to_warn(self, closed_before: datetime, limit: int = 100) -> list[Report]:
        """Closed, unheld reports not yet warned of their purge, closed at or before `closed_before`."""
        return self._read(self._tables.reports_to_warn, closed_before, limit)

    def reports_to_purge(self, closed_before: datetime, warned_before: datetime, limit: int = 100) -> list[Report]:
        """Closed, unheld reports closed at or before `closed_before` and warned at or before `warned_before`."""
        return self._read(self._tables.reports_to_purge, closed_before, warned_before, limit)

    def all_reports(self) -> list[Report]:
        """Every report, oldest first (exports, re-encryption, migrations)."""
        return self._read(self._tables.all_reports)

    def notes(self, report_id: str) -> list[Note]:
        """A case's notes and relayed messages, oldest first."""
        return self._read(self._tables.notes_of, report_id)

    def evidence(self, report_id: str) -> list[Evidence]:
        """A case's uploaded files (no bytes are read), oldest first (received_at, then id)."""
        return self._read(self._tables.evidence_of, report_id)

    def write_evidence_blob(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Store a file's bytes before the commit of its evidence record (streamed; outside the lock)."""
        self._read(self._not_committed, evidence_id)
        written = self._blobs.write(report_id, evidence_id, chunks)
        with self._lock:
            self._written[report_id, evidence_id] = written
        return written

    def open_evidence(self, report_id: str, evidence_id: str) -> Iterator[bytes]:
        """A committed file's bytes, chunk by chunk, each checked before it is given."""
        record = self._read(self._tables.evidence.get, evidence_id)
        if record is None or record.report_id != report_id:
            raise NotFound("There is no such evidence file.")
        return self._blobs.open(report_id, evidence_id, size=record.size, sha256=record.sha256)

    def _not_committed(self, evidence_id: str) -> None:
        if evidence_id in self._tables.evidence:
            raise StoreError(f"evidence {evidence_id} is already stored, and evidence is append-only")

    def _check_blobs(self, changes: Changes) -> None:
        """StoreError unless each new evidence record names a blob written here with its size and hash."""
        for record in changes.evidence:
            if self._written.get((record.report_id, record.id)) != BlobWritten(size=record.size, sha256=record.sha256):
                raise StoreError(f"evidence {record.id}: no file was written for it with this size and SHA-256 "
                                 "(write_evidence_blob comes first); nothing was committed")

    def _blobs_removed(self, changes: Changes, removed: Removed) -> list[tuple[str, str]]:
        """The blobs a commit's removals take away, as (report id, evidence id): listed before it applies."""
        added = {e.id: e for e in changes.evidence}
        found = (self._tables.evidence.get(i) or added.get(i) for i in removed.get("evidence", ()))
        return [(e.report_id, e.id) for e in found if e is not None]

    def _blobs_committed(self, changes: Changes, gone: list[tuple[str, str]]) -> None:
        """After a commit is durable: its blobs are named now, and purged ones are deleted.

        Deleted after the records, never before: a purge refused (a legal hold placed meanwhile) must
        lose nothing, and a crash in between leaves only orphans, which no record names and the next
        start sweeps.
        """
        for record in changes.evidence:
            self._written.pop((record.report_id, record.id), None)
        try:
            self._blobs.delete(gone)
        except OSError as exc:  # the commit stands: what is left is an orphan, swept at the next start
            log.warning("could not delete %s of purged reports (%s); the next start deletes what is left",
                        counted(len(gone), "evidence file"), type(exc).__name__)

    def audit(self, report_id: str) -> list[AuditEvent]:
        """A case's audit trail, oldest first."""
        return self._read(self._tables.audit_of, report_id)

    def outbox_item(self, item_id: str) -> OutboxItem | None:
        """One outbox item by id."""
        return self._read(self._tables.outbox.get, item_id)

    def outbox_of(self, report_id: str) -> list[OutboxItem]:
        """A case's outbox items, in the order they were first queued."""
        return self._read(self._tables.outbox_of, report_id)

    def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Undelivered outbox items due at or before `now`, in claim order."""
        return self._read(self._tables.due_outbox, now, limit)

    def claim_due(self, now: datetime, limit: int, owner: str, lease: timedelta,
                  platforms: Collection[str]) -> list[OutboxItem]:
        """Claim up to `limit` due items of these platforms for `owner` until now + lease, in claim order."""
        with self._lock:  # re-entrant: the commit below takes it again, so no other claim slips between
            self._check_open()
            claimed = [item.claim(owner=owner, until=now + lease)
                       for item in self._tables.claimable(now, limit, frozenset(platforms))]
            if claimed:
                self.commit(Changes(outbox=tuple(claimed)))
            return claimed

    def commit(self, changes: Changes) -> None:
        """Store every record of `changes` atomically (each store says how)."""
        raise NotImplementedError

    def on_queued(self, callback: Wake) -> None:
        """Call `callback` after each later commit that queues outbox items (one process holds these stores)."""
        self._queued.add(callback)

    def conversation(self, target: str) -> ConversationRef | None:
        """How to reach a platform-qualified user or channel unprompted, if the platform told us."""
        return self._read(self._tables.conversation, target)

    def conversations(self, platform: str) -> list[ConversationRef]:
        """Every stored conversation reference on one platform (uninstalled ones too), in no set order."""
        return self._read(lambda: [c for c in self._tables.conversations.values() if c.platform == platform])

    def reminder(self, reminder_id: str) -> Reminder | None:
        """One reminder by id (deleted ones too)."""
        return self._read(self._tables.reminders.get, reminder_id)

    def reminders(self) -> list[Reminder]:
        """Every reminder, deleted ones too, oldest created first."""
        return self._read(self._tables.all_reminders)

    def due_reminders(self, now: datetime, limit: int = 100, after: Reminder | None = None) -> list[Reminder]:
        """Active reminders whose next run is at or before `now`, earliest first, after `after`."""
        return self._read(self._tables.due_reminders, now, limit, after)

    def reminder_run(self, run_id: str) -> ReminderRun | None:
        """One claimed send by id."""
        return self._read(self._tables.runs.get, run_id)

    def runs_of(self, reminder_id: str) -> list[ReminderRun]:
        """A reminder's claimed sends, oldest claimed first."""
        return self._read(self._tables.runs_of, reminder_id)

    def run_count(self, reminder_id: str) -> int:
        """How many sends of a reminder were claimed."""
        return self._read(self._tables.run_count, reminder_id)

    def outbox_of_run(self, run_id: str) -> list[OutboxItem]:
        """A reminder send's outbox items, in the order queued."""
        return self._read(self._tables.outbox_of_run, run_id)

    def press_counts(self, reminder_id: str) -> dict[PressKind, int]:
        """How many presses of each button a reminder's sends got (every button present, 0 if none)."""
        return self._read(self._tables.press_counts, reminder_id)

    def purges(self) -> list[PurgeRecord]:
        """The purge records, oldest first."""
        return self._read(self._tables.all_purges)

    def delivered_outbox(self, kind: Delivery, before: datetime, limit: int = 500) -> list[OutboxItem]:
        """Delivered (or closed) items of one kind whose delivered_at is before `before`, oldest first."""
        return self._read(self._tables.delivered_outbox, kind, before, limit)

    def records(self, table: str) -> list[Any]:
        """Every record of one table (codec.TABLES), in the order they arrived: to copy a store whole."""
        return self._read(lambda: list(self._tables.records(table).values()))

    def _apply_in_memory(self, changes: Changes) -> None:
        """Check `changes` against the tables and apply them in memory (all or nothing), under the lock."""
        with self._lock:
            self._check_open()
            removed = self._tables.check(changes)
            self._check_blobs(changes)
            gone = self._blobs_removed(changes, removed)
            self._tables.apply(changes, removed)
            self._blobs_committed(changes, gone)

    def _read(self, query: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            self._check_open()
            return query(*args, **kwargs)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

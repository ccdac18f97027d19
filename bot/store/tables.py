"""Decoded records and the indexes behind the Store queries, shared by the in-process stores.

Not thread-safe by itself: each store holds its lock around every call. `check` raises Conflict
without changing anything; `apply` then cannot fail, which is what makes a commit all-or-nothing.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from bot.domain.errors import Conflict
from bot.domain.report import AuditEvent, Changes, Evidence, Note, OutboxItem, Report
from bot.store.codec import Record


def _identity(value: str) -> str:
    return value


class Tables:
    """Every record by id, plus indexes by reference, reporter, open status, pending delivery and file."""

    def __init__(self, *, reporter_key: Callable[[str], str] = _identity) -> None:
        # reporter_key turns a reporter id into its index key: a keyed hash in encrypted stores.
        self._reporter_key = reporter_key
        self.reports: dict[str, Report] = {}
        self.notes: dict[str, Note] = {}
        self.evidence: dict[str, Evidence] = {}
        self.audit: dict[str, AuditEvent] = {}
        self.outbox: dict[str, OutboxItem] = {}
        # Arrival order breaks ties between equal timestamps, so list orders are stable.
        self._arrival = itertools.count()
        self._order: dict[tuple[type, str], int] = {}  # keyed by type too: ids may repeat across tables
        self._by_reference: dict[str, str] = {}
        self._by_reporter: dict[str, set[str]] = {}
        self._open: set[str] = set()
        self._pending: set[str] = set()
        self._notes_of: dict[str, list[str]] = {}
        self._audit_of: dict[str, list[str]] = {}
        self._evidence_of: dict[str, list[str]] = {}
        self._outbox_of: dict[str, list[str]] = {}
        self._by_source: set[tuple[str, str]] = set()  # (report_id, source_id) of stored evidence

    def check(self, changes: Changes) -> None:
        """Raise Conflict if `changes` cannot be committed on top of the current state."""
        references: dict[str, str] = {}
        _unique("report", (r.id for r in changes.reports))
        for report in changes.reports:
            stored = self.reports.get(report.id)
            stored_version = stored.version if stored else 0
            if report.version != stored_version + 1:
                raise Conflict(
                    f"report {report.id} is at version {stored_version}; "
                    f"version {report.version} cannot follow it"
                )
            holder = references.setdefault(report.reference, report.id)
            holder = self._by_reference.get(report.reference, holder)
            if holder != report.id:
                raise Conflict(f"report {report.id}: its reference is already used by another report")
        records: tuple[Note, ...] | tuple[Evidence, ...] | tuple[AuditEvent, ...]
        stored_ids: dict[str, Note] | dict[str, Evidence] | dict[str, AuditEvent]
        for kind, kinds, records, stored_ids in (
            ("note", "notes", changes.notes, self.notes),
            ("evidence", "evidence files", changes.evidence, self.evidence),
            ("audit event", "audit events", changes.audit, self.audit),
        ):
            _unique(kind, (r.id for r in records))
            for record in records:
                if record.id in stored_ids:
                    raise Conflict(f"{kind} {record.id} already exists; {kinds} are append-only")
        self._check_sources(changes.evidence)
        _unique("outbox item", (o.id for o in changes.outbox))

    def _check_sources(self, evidence: tuple[Evidence, ...]) -> None:
        # A retried download must not store a file twice; the message leaves the file id out.
        seen: set[tuple[str, str]] = set()
        for item in evidence:
            source = (item.report_id, item.source_id)
            if source in self._by_source or source in seen:
                raise Conflict(f"evidence {item.id}: report {item.report_id} already has this file")
            seen.add(source)

    def apply(self, changes: Changes) -> None:
        """Store every record of `changes` (already checked)."""
        for record in _records(changes):
            self.put(record)

    def put(self, record: Record) -> None:
        """Insert or replace one record and update the indexes."""
        self._order.setdefault((type(record), record.id), next(self._arrival))
        if isinstance(record, Report):
            self._put_report(record)
        elif isinstance(record, Note):
            if record.id not in self.notes:
                self._notes_of.setdefault(record.report_id, []).append(record.id)
            self.notes[record.id] = record
        elif isinstance(record, Evidence):
            if record.id not in self.evidence:
                self._evidence_of.setdefault(record.report_id, []).append(record.id)
                self._by_source.add((record.report_id, record.source_id))
            self.evidence[record.id] = record
        elif isinstance(record, AuditEvent):
            if record.id not in self.audit:
                self._audit_of.setdefault(record.report_id, []).append(record.id)
            self.audit[record.id] = record
        else:
            if record.id not in self.outbox:
                self._outbox_of.setdefault(record.report_id, []).append(record.id)
            self.outbox[record.id] = record
            if record.pending:
                self._pending.add(record.id)
            else:
                self._pending.discard(record.id)

    def _put_report(self, report: Report) -> None:
        old = self.reports.get(report.id)
        if old is not None:
            self._by_reference.pop(old.reference, None)
            self._by_reporter.get(self._reporter_key(old.reporter_id), set()).discard(old.id)
        self.reports[report.id] = report
        self._by_reference[report.reference] = report.id
        self._by_reporter.setdefault(self._reporter_key(report.reporter_id), set()).add(report.id)
        if report.is_open:
            self._open.add(report.id)
        else:
            self._open.discard(report.id)

    def records(self, table: str) -> dict[str, Record]:
        """The records of one table by id (the live dict: callers must hold the store's lock)."""
        return getattr(self, table)

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference."""
        report_id = self._by_reference.get(reference)
        return self.reports.get(report_id) if report_id else None

    def reports_by_reporter(self, reporter_id: str) -> list[Report]:
        """A reporter's reports, newest first."""
        ids = self._by_reporter.get(self._reporter_key(reporter_id), ())
        # The reporter_id comparison guards against a (vanishingly unlikely) keyed-hash collision.
        found = [self.reports[i] for i in ids if self.reports[i].reporter_id == reporter_id]
        return sorted(found, key=self._report_key, reverse=True)

    def open_reports(self) -> list[Report]:
        """Reports not resolved or closed, oldest first."""
        return sorted((self.reports[i] for i in self._open), key=self._report_key)

    def all_reports(self) -> list[Report]:
        """Every report, oldest first."""
        return sorted(self.reports.values(), key=self._report_key)

    def notes_of(self, report_id: str) -> list[Note]:
        """A case's notes, oldest first."""
        return sorted((self.notes[i] for i in self._notes_of.get(report_id, ())), key=self._at_key)

    def evidence_of(self, report_id: str) -> list[Evidence]:
        """A case's files, oldest first; ties by id, an order any store can reproduce."""
        found = (self.evidence[i] for i in self._evidence_of.get(report_id, ()))
        return sorted(found, key=lambda e: (e.received_at, e.id))

    def audit_of(self, report_id: str) -> list[AuditEvent]:
        """A case's audit trail, oldest first."""
        return sorted((self.audit[i] for i in self._audit_of.get(report_id, ())), key=self._at_key)

    def outbox_of(self, report_id: str) -> list[OutboxItem]:
        """A case's outbox items, in the order they were first queued."""
        return [self.outbox[i] for i in self._outbox_of.get(report_id, ())]

    def due_outbox(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Pending items due at or before `now`, oldest due first."""
        due = (self.outbox[i] for i in self._pending if self.outbox[i].due_at <= now)
        return heapq.nsmallest(limit, due, key=lambda o: (o.due_at, self._order[OutboxItem, o.id]))

    def _report_key(self, report: Report) -> tuple[datetime, int]:
        return report.created_at, self._order[Report, report.id]

    def _at_key(self, record: Note | AuditEvent) -> tuple[datetime, int]:
        return record.at, self._order[type(record), record.id]


def _records(changes: Changes) -> Iterator[Record]:
    yield from changes.reports
    yield from changes.notes
    yield from changes.evidence
    yield from changes.audit
    yield from changes.outbox


def _unique(kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for record_id in ids:
        if record_id in seen:
            raise Conflict(f"{kind} {record_id} appears twice in one commit")
        seen.add(record_id)

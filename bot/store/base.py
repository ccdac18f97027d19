"""The read side shared by the in-process stores: a lock around decoded Tables."""

from __future__ import annotations

import threading
from datetime import datetime

from bot.domain.errors import StoreError
from bot.domain.report import AuditEvent, Evidence, Note, OutboxItem, Report
from bot.store.tables import Tables


class TablesStore:
    """Store queries answered from memory under one re-entrant lock; subclasses add `commit`."""

    def __init__(self, *, tables: Tables) -> None:
        self._lock = threading.RLock()
        self._tables = tables
        self._closed = False

    def report(self, report_id: str) -> Report | None:
        """The report with this internal id."""
        with self._lock:
            self._check_open()
            return self._tables.reports.get(report_id)

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference."""
        with self._lock:
            self._check_open()
            return self._tables.report_by_reference(reference)

    def reports_by_reporter(self, reporter_id: str) -> list[Report]:
        """A reporter's reports, newest first."""
        with self._lock:
            self._check_open()
            return self._tables.reports_by_reporter(reporter_id)

    def open_reports(self) -> list[Report]:
        """Reports not yet resolved or closed, oldest first."""
        with self._lock:
            self._check_open()
            return self._tables.open_reports()

    def all_reports(self) -> list[Report]:
        """Every report, oldest first."""
        with self._lock:
            self._check_open()
            return self._tables.all_reports()

    def notes(self, report_id: str) -> list[Note]:
        """A case's notes and relayed messages, oldest first."""
        with self._lock:
            self._check_open()
            return self._tables.notes_of(report_id)

    def evidence(self, report_id: str) -> list[Evidence]:
        """A case's uploaded files with their bytes, oldest first (received_at, then id)."""
        with self._lock:
            self._check_open()
            return self._tables.evidence_of(report_id)

    def audit(self, report_id: str) -> list[AuditEvent]:
        """A case's audit trail, oldest first."""
        with self._lock:
            self._check_open()
            return self._tables.audit_of(report_id)

    def outbox_item(self, item_id: str) -> OutboxItem | None:
        """One outbox item by id."""
        with self._lock:
            self._check_open()
            return self._tables.outbox.get(item_id)

    def outbox_of(self, report_id: str) -> list[OutboxItem]:
        """A case's outbox items, in the order they were first queued."""
        with self._lock:
            self._check_open()
            return self._tables.outbox_of(report_id)

    def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Pending outbox items due at or before `now`, oldest due first."""
        with self._lock:
            self._check_open()
            return self._tables.due_outbox(now, limit)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

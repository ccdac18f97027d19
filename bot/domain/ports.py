"""Ports: what the core needs from the outside world (storage, time, delivery)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from bot.domain.report import AuditEvent, Changes, Evidence, Note, OutboxItem, Report
from bot.domain.ui import Card, Document


class Store(Protocol):
    """Durable storage of reports and what hangs off them.

    Contract (tests/store_contract.py runs it against every implementation):
    - `commit` is atomic: every record in `Changes` is stored, or none is (Conflict, crash).
    - A report's reference is unique: a new report reusing one raises Conflict.
    - A report in `Changes.reports` with version 1 must be new; with version n > 1 the stored
      version must be n - 1, otherwise Conflict and nothing is written.
    - Notes, evidence and audit events are append-only: committing an existing id raises Conflict.
    - A report stores a platform file once: evidence with the (report_id, source_id) of stored
      evidence, or twice in one commit, raises Conflict (so a retried download is harmless).
    - Outbox items are upserted by id.
    - Every method is safe to call from many threads at once.
    - Returned values are immutable snapshots; lists come in a stable documented order.
    """

    def commit(self, changes: Changes) -> None:
        """Store every record of `changes` atomically and durably (fsync before returning)."""
        ...

    def report(self, report_id: str) -> Report | None:
        """The report with this internal id."""
        ...

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference (already normalised)."""
        ...

    def reports_by_reporter(self, reporter_id: str) -> list[Report]:
        """A reporter's reports, newest first."""
        ...

    def open_reports(self) -> list[Report]:
        """Reports not yet resolved or closed, oldest first."""
        ...

    def all_reports(self) -> list[Report]:
        """Every report, oldest first (exports, retention, re-encryption)."""
        ...

    def notes(self, report_id: str) -> list[Note]:
        """A case's notes and relayed messages, oldest first."""
        ...

    def evidence(self, report_id: str) -> list[Evidence]:
        """A case's uploaded files with their bytes, oldest first (received_at, then id)."""
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
        """Pending outbox items due at or before `now`, oldest due first."""
        ...

    def close(self) -> None:
        """Release files and locks; later calls fail."""
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


@dataclass(frozen=True)
class Destination:
    """Where a delivery goes: the leads' channel, or one person privately."""

    leads: bool = False
    user_id: str = ""  # platform-qualified; for a DM


class Notifier(Protocol):
    """Sends cards and files on one platform, and fetches files users attached.

    Raises TemporaryFailure to be retried later (UncertainDelivery when the request may have
    arrived), PermanentFailure when the platform refused for good.
    """

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        """Deliver a card; return the platform's message id (e.g. Slack ts).

        `maybe_sent`: an earlier try may have arrived; look for it under the same key before posting again.
        """
        ...

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        """Replace a message sent earlier (its id from `send`) with a new card."""
        ...

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        """Deliver a document as a file; return the platform's file id."""
        ...

    def fetch_file(self, file_id: str) -> FetchedFile:
        """Download a file a user attached (a report's screenshot)."""
        ...


@dataclass(frozen=True)
class FetchedFile:
    """A file downloaded from the platform."""

    name: str
    media_type: str
    data: bytes = field(repr=False)


class TemporaryFailure(Exception):
    """A delivery failed in a way worth retrying (429, 5xx, network); `retry_after` in seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class UncertainDelivery(TemporaryFailure):
    """The request may have reached the platform (the connection dropped): look before trying again."""


class PermanentFailure(Exception):
    """The platform refused for good (no such file, too large, not in the channel)."""

"""Fakes of the outside world for tests: a clock you move, a notifier that records or fails."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.domain.ports import Destination, FetchedFile, PermanentFailure, TemporaryFailure
from bot.domain.ui import Card, Document


class FakeClock:
    """A clock that only moves when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class RecordingNotifier:
    """Records every send; can be told to fail the next N sends temporarily."""

    def __init__(self) -> None:
        self.sent: list[tuple[Destination, Card, str]] = []
        self.uploaded: list[tuple[Destination, Document, str]] = []
        self.updated: list[tuple[Destination, str, Card]] = []
        self.files: dict[str, FetchedFile] = {}
        self.fail_next = 0
        self.retry_after: float | None = None

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        if self.fail_next:
            self.fail_next -= 1
            raise TemporaryFailure("rate limited", retry_after=self.retry_after)
        self.sent.append((destination, card, idempotency_key))
        return f"msg-{len(self.sent)}"

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        self.updated.append((destination, message_id, card))

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        self.uploaded.append((destination, document, idempotency_key))
        return f"file-{len(self.uploaded)}"

    def fetch_file(self, file_id: str) -> FetchedFile:
        if file_id not in self.files:
            raise PermanentFailure("no such file")
        return self.files[file_id]

    def to_leads(self) -> list[Card]:
        return [card for dest, card, _ in self.sent if dest.leads]

    def to_user(self, user_id: str) -> list[Card]:
        return [card for dest, card, _ in self.sent if dest.user_id == user_id]

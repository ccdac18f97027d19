"""Fakes of the outside world for tests: a clock you move, a notifier that records or fails."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.domain.ports import Destination, FetchedFile, OutgoingFile, PermanentFailure, TemporaryFailure
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
    """Records every send on one platform; can be told to fail the next N sends temporarily."""

    def __init__(self, platform: str = "console") -> None:
        self.platform = platform
        self.sent: list[tuple[Destination, Card, str]] = []
        self.uploaded: list[tuple[Destination, Document, str]] = []
        self.files_sent: list[SentFile] = []
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

    def upload_file(self, destination: Destination, file: OutgoingFile, *, idempotency_key: str) -> str:
        data = b"".join(file.open())
        self.files_sent.append(SentFile(destination=destination, name=file.name, media_type=file.media_type,
                                        size=file.size, data=data, key=idempotency_key))
        return f"file-{len(self.uploaded) + len(self.files_sent)}"

    def fetch_file(self, file_id: str) -> AbstractContextManager[FetchedFile]:
        if file_id not in self.files:
            raise PermanentFailure("no such file")
        return nullcontext(self.files[file_id])  # give its chunks as a tuple, so it can be fetched again

    def to_leads(self) -> list[Card]:
        return [card for dest, card, _ in self.sent if dest.leads]

    def to_user(self, user_id: str) -> list[Card]:
        return [card for dest, card, _ in self.sent if dest.user_id == user_id]


@dataclass(frozen=True)
class SentFile:
    """A stored file a fake notifier was asked to deliver, with the bytes it streamed."""

    destination: Destination
    name: str
    media_type: str
    size: int
    data: bytes
    key: str


def a_fetched_file(name: str, media_type: str, data: bytes) -> FetchedFile:
    """A file a fake platform hands over, in 1 KiB pieces (re-iterable, so it can be fetched again)."""
    return FetchedFile(name=name, media_type=media_type,
                       chunks=tuple(data[i:i + 1024] for i in range(0, len(data), 1024)) or (b"",))


class Died(BaseException):
    """A worker killed mid-send: not an Exception, so nothing in the worker catches it."""


class LedgerNotifier:
    """A thread-safe notifier that can look a message up by its key, like a platform's history.

    `die_after_posting` kills the worker (raises Died) once, right after a message has landed.
    """

    def __init__(self, platform: str, *, die_after_posting: bool = False) -> None:
        self.platform = platform
        self.posted: dict[str, str] = {}  # idempotency key -> receipt
        self.posts: list[str] = []  # keys, once per message that landed
        self.looked_up: list[str] = []
        self.die_after_posting = die_after_posting
        self._lock = threading.Lock()

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        if destination.platform != self.platform:
            raise AssertionError(f"a {destination.platform} item was given to the {self.platform} notifier")
        with self._lock:
            if maybe_sent:
                self.looked_up.append(idempotency_key)
                if idempotency_key in self.posted:
                    return self.posted[idempotency_key]
            receipt = f"{self.platform}-{len(self.posts) + 1}"
            self.posted[idempotency_key] = receipt
            self.posts.append(idempotency_key)
            if self.die_after_posting:
                self.die_after_posting = False
                raise Died()
            return receipt

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        pass

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        return self.send(destination, Card(title=document.filename), idempotency_key=idempotency_key)

    def upload_file(self, destination: Destination, file: OutgoingFile, *, idempotency_key: str) -> str:
        return self.send(destination, Card(title=file.name), idempotency_key=idempotency_key)

    def fetch_file(self, file_id: str) -> AbstractContextManager[FetchedFile]:
        raise PermanentFailure("no such file")

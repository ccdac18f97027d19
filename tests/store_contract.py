"""The Store contract, run against every implementation.

A test module subclasses `StoreContract` and provides a `factory` fixture: something that opens a
store and can reopen it (for a durable store: close and open the same data again).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Protocol

import pytest

from bot.domain.errors import Conflict, NotFound, StoreError
from bot.domain.ports import BlobWritten, Changes, Store
from bot.domain.reminder import (
    Frequency,
    PressKind,
    PurgeRecord,
    Reminder,
    ReminderPress,
    ReminderRun,
    Schedule,
    run_id,
)
from bot.domain.report import (
    AuditEvent,
    Delivery,
    Evidence,
    Nature,
    Note,
    NoteKind,
    OutboxItem,
    OutboxState,
    Report,
    Status,
    Want,
    new_id,
)
from bot.domain.content import Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Organisation
from bot.domain.platform import ConversationRef, conversation_id_of
from bot.domain.ports import Notifiers
from bot.domain.routing import lead_notices, to_reporter
from handlers.delivery import deliver_due
from handlers.outbox_state import waiting_by_platform
from handlers.services import Services
from testkit.builders import a_reminder, a_report, an_evidence, evidence_in
from testkit.fakes import Died, FakeClock, LedgerNotifier
from testkit.waits import wait_until

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def report(*, minutes: float = 0, **overrides: object) -> Report:
    """A report created `minutes` after T0, with every optional field filled; override any field."""
    values: dict[str, object] = dict(
        reporter_id="slack:U100",
        urls=("https://facebook.com/post/1", "https://facebook.com/post/2"),
        occasions=2,
        natures=frozenset({Nature.ABUSIVE, Nature.THREATENING}),
        wants=frozenset({Want.REMOVED, Want.SUPPORT}),
        created_at=T0 + timedelta(minutes=minutes),
    )
    return a_report(**(values | overrides))


def note(report_id: str, *, minutes: float = 0, **overrides: object) -> Note:
    """A note on a report."""
    values: dict[str, object] = dict(
        id=new_id(),
        report_id=report_id,
        kind=NoteKind.INTERNAL,
        author_id="slack:ULEAD",
        text="Called the parent.",
        at=T0 + timedelta(minutes=minutes),
    )
    values.update(overrides)
    return Note(**values)  # type: ignore[arg-type]


def evidence(store: Store, report_id: str, *, minutes: float = 0, **overrides: object) -> Evidence:
    """An uploaded file on a report, received `minutes` after T0, its bytes (`data`) written to `store`."""
    return evidence_in(store, report_id=report_id, received_at=T0 + timedelta(minutes=minutes), **overrides)


def event(report_id: str, *, minutes: float = 0, action: str = "report.view") -> AuditEvent:
    """An audit event on a report."""
    return AuditEvent(
        id=new_id(),
        report_id=report_id,
        actor_id="slack:ULEAD",
        action=action,
        at=T0 + timedelta(minutes=minutes),
    )


def alert(report_id: str, *, minutes: float = 0, **overrides: object) -> OutboxItem:
    """An outbox item due `minutes` after T0, on Slack; given a delivered_at, sent then."""
    values: dict[str, object] = dict(
        id=new_id(),
        kind=Delivery.LEAD_ALERT,
        report_id=report_id,
        due_at=T0 + timedelta(minutes=minutes),
        platform="slack",
    )
    if overrides.get("delivered_at") is not None:
        values["state"] = OutboxState.SENT
    values.update(overrides)
    return OutboxItem(**values)  # type: ignore[arg-type]


def reminder(*, minutes: float = 0, **overrides: object) -> Reminder:
    """A reminder created `minutes` after T0; override any field."""
    return a_reminder(**({"created_at": T0 + timedelta(minutes=minutes)} | overrides))


def reminder_run(reminder_id: str, *, minutes: float = 0, **overrides: object) -> ReminderRun:
    """A scheduled send of a reminder, due and claimed `minutes` after T0."""
    due = T0 + timedelta(minutes=minutes)
    values: dict[str, object] = dict(
        id=run_id(reminder_id, due),
        reminder_id=reminder_id,
        due_at=due,
        claimed_at=due,
        topic="privacy-settings",
        channels=("slack:C0123ABCD", "slack:C0456EFGH"),
    )
    values.update(overrides)
    return ReminderRun(**values)  # type: ignore[arg-type]


def press(run: ReminderRun, presser_id: str, button: PressKind = PressKind.DONE) -> ReminderPress:
    """One person pressing a button on a reminder send."""
    return ReminderPress(
        id=new_id(), reminder_id=run.reminder_id, run_id=run.id, button=button, presser_id=presser_id, at=T0
    )


def post(run: ReminderRun, *, minutes: float = 0, **overrides: object) -> OutboxItem:
    """A reminder post of a send, for no report."""
    values: dict[str, object] = dict(kind=Delivery.REMINDER, run_id=run.id, channel=run.channels[0])
    return alert("", minutes=minutes, **(values | overrides))


def purge_record(r: Report, *, minutes: float = 0) -> PurgeRecord:
    """What is left of `r` once purged."""
    return PurgeRecord(id=new_id(), reference=r.reference, purged_at=T0 + timedelta(minutes=minutes))


def submission(r: Report) -> Changes:
    """What the submit handler commits: the report, its lead alert, its audit event."""
    return Changes(reports=(r,), outbox=(alert(r.id),), audit=(event(r.id, action="report.submit"),))


class StoreFactory(Protocol):
    """Opens stores for the contract tests."""

    def open(self) -> Store:
        """A new, empty store."""
        ...

    def reopen(self, store: Store) -> Store:
        """The same data through a fresh store (a durable store closes and reopens)."""
        ...


class StoreContract:
    """Tests every Store must pass. Subclasses provide a `factory` fixture."""

    @pytest.fixture
    def store(self, factory: StoreFactory) -> Store:
        return factory.open()

    # --- commit and read back

    def test_commit_then_read_back_every_field(self, store: Store) -> None:
        r = report(subject_id="slack:USUBJ", subject_name="Pat Doe", handler_id="slack:ULEAD")
        plain = report(urls=(), natures=frozenset(), wants=frozenset(), subject_id=None)
        store.commit(Changes(reports=(r, plain)))
        assert store.report(r.id) == r
        assert store.report(plain.id) == plain
        assert store.report_by_reference(r.reference) == r
        assert store.report("missing") is None
        assert store.report_by_reference("SS-AAAAA-AAAAA") is None

    def test_notes_audit_and_outbox_read_back(self, store: Store) -> None:
        r = report()
        n = note(r.id, kind=NoteKind.FROM_REPORTER, text="They did it again ✉ — ünïcode")
        ev = event(r.id)
        item = alert(r.id, note_id=n.id, update="acknowledged", attempts=2, error="Timeout")
        store.commit(Changes(reports=(r,), notes=(n,), audit=(ev,), outbox=(item,)))
        assert store.notes(r.id) == [n]
        assert store.audit(r.id) == [ev]
        assert store.outbox_item(item.id) == item
        assert store.outbox_item("missing") is None
        assert store.notes("other") == [] and store.audit("other") == []

    def test_reopen_gives_the_same_state(self, factory: StoreFactory, store: Store) -> None:
        r1, r2 = report(minutes=1), report(minutes=2, reporter_id="slack:U2")
        n = note(r1.id)
        store.commit(submission(r1))
        store.commit(Changes(reports=(r2,), notes=(n,), evidence=(evidence(store, r2.id),)))
        r1b = r1.evolve(now=T0, status=Status.CLOSED)
        store.commit(Changes(reports=(r1b,)))
        before = _state(store, [r1.id, r2.id])
        again = factory.reopen(store)
        assert _state(again, [r1.id, r2.id]) == before

    def test_empty_changes_are_a_no_op(self, store: Store) -> None:
        store.commit(Changes())
        assert store.all_reports() == []

    # --- versions and atomicity

    def test_version_one_must_be_new(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(replace(r, what_happened="other"),)))
        assert store.report(r.id) == r

    def test_next_version_follows_the_stored_one(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))
        v2 = r.evolve(now=T0, status=Status.ACKNOWLEDGED, handler_id="slack:ULEAD")
        store.commit(Changes(reports=(v2,)))
        assert store.report(r.id) == v2
        stale = r.evolve(now=T0, status=Status.CLOSED)  # also version 2, read before v2 was stored
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(stale,)))
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(replace(v2, version=4),)))
        assert store.report(r.id) == v2

    def test_unknown_report_above_version_one_is_a_conflict(self, store: Store) -> None:
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(report(version=2),)))
        assert store.all_reports() == []

    def test_conflict_writes_nothing(self, factory: StoreFactory, store: Store) -> None:
        existing = report()
        store.commit(Changes(reports=(existing,)))
        fresh = report()
        changes = Changes(
            reports=(fresh, replace(existing, version=3)),
            notes=(note(fresh.id),),
            audit=(event(fresh.id),),
            outbox=(alert(fresh.id),),
            evidence=(evidence(store, fresh.id),),
        )
        with pytest.raises(Conflict):
            store.commit(changes)
        for s in _and_reopened(factory, store):
            assert s.report(fresh.id) is None
            assert s.notes(fresh.id) == [] and s.audit(fresh.id) == [] and s.evidence(fresh.id) == []
            assert s.outbox_item(changes.outbox[0].id) is None
            assert s.all_reports() == [existing]

    def test_same_id_twice_in_one_commit_is_a_conflict(self, store: Store) -> None:
        r = report()
        n = note(r.id)
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(r, r.evolve(now=T0))))
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(r,), notes=(n, n)))
        item = alert(r.id)
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(r,), outbox=(item, item)))
        assert store.all_reports() == []

    def test_a_reference_belongs_to_one_report(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))
        with pytest.raises(Conflict):
            store.commit(Changes(reports=(report(reference=r.reference),)))
        assert store.report_by_reference(r.reference) == r

    # --- append-only and upsert

    def test_notes_and_audit_are_append_only(self, store: Store) -> None:
        r = report()
        n, ev = note(r.id), event(r.id)
        store.commit(Changes(reports=(r,), notes=(n,), audit=(ev,)))
        with pytest.raises(Conflict):
            store.commit(Changes(notes=(replace(n, text="rewritten"),)))
        with pytest.raises(Conflict):
            store.commit(Changes(audit=(replace(ev, action="report.export"),)))
        assert store.notes(r.id) == [n] and store.audit(r.id) == [ev]

    def test_a_cases_outbox_items_in_queued_order(self, store: Store) -> None:
        r = a_report()
        first, second = alert(r.id), alert(r.id, minutes=-5)
        store.commit(Changes(reports=(r,), outbox=(first, second)))
        store.commit(Changes(outbox=(replace(first, delivered_at=T0, state=OutboxState.SENT, receipt="1.1"),)))
        assert [o.id for o in store.outbox_of(r.id)] == [first.id, second.id]
        assert store.outbox_of(r.id)[0].receipt == "1.1"
        assert store.outbox_of("missing") == []

    def test_outbox_items_are_upserted(self, store: Store) -> None:
        item = alert("r1")
        store.commit(Changes(outbox=(item,)))
        sent = replace(item, attempts=1, delivered_at=T0, state=OutboxState.SENT, receipt="1700000000.0001")
        store.commit(Changes(outbox=(sent,)))
        assert store.outbox_item(item.id) == sent

    # --- evidence files

    def test_evidence_round_trips_with_its_bytes(self, factory: StoreFactory, store: Store) -> None:
        r = report()
        every_byte = bytes(range(256)) * 1024 + b"\n\r\x00 ends mid-line"  # several chunks, the last one short
        files = (
            evidence(store, r.id, minutes=1, data=every_byte, file_name="Ünïcode \"name\"\n.png"),
            evidence(store, r.id, minutes=2, data=b"", file_name="", media_type="application/octet-stream"),
        )
        store.commit(Changes(reports=(r,), evidence=files, audit=(event(r.id, action="report.submit"),)))
        for s in _and_reopened(factory, store):
            stored = s.evidence(r.id)
            assert stored == list(files)
            assert b"".join(s.open_evidence(r.id, files[0].id)) == every_byte
            assert b"".join(s.open_evidence(r.id, files[1].id)) == b""
            assert stored[0].sha256 == hashlib.sha256(every_byte).hexdigest()
            assert stored[0].size == len(every_byte)
            assert s.report(r.id) == r  # committed together with its report
            assert s.evidence("other") == []

    def test_a_blob_written_in_pieces_of_any_size_reads_back_whole(self, store: Store) -> None:
        r = report()
        data = bytes(range(251)) * 700  # ~176 KB: chunk boundaries fall inside the pieces given
        pieces = [data[i:i + 3001] for i in range(0, len(data), 3001)]
        written = store.write_evidence_blob(r.id, "e1", iter(pieces))
        assert written == BlobWritten(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        record = an_evidence(id="e1", report_id=r.id, data=data)
        store.commit(Changes(reports=(r,), evidence=(record,)))
        chunks = list(store.open_evidence(r.id, "e1"))
        assert b"".join(chunks) == data and max(len(c) for c in chunks) <= 1024 * 1024

    def test_evidence_whose_bytes_were_not_written_first_is_refused(self, factory: StoreFactory, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))
        unwritten = an_evidence(report_id=r.id)
        with pytest.raises(StoreError, match="write_evidence_blob comes first"):
            store.commit(Changes(evidence=(unwritten,), audit=(event(r.id),)))
        store.write_evidence_blob(r.id, "e2", (b"the real bytes",))
        other_bytes = an_evidence(report_id=r.id, id="e2", data=b"other bytes")  # size and hash differ
        with pytest.raises(StoreError, match="write_evidence_blob comes first"):
            store.commit(Changes(evidence=(other_bytes,)))
        elsewhere = an_evidence(report_id="another report", id="e2", data=b"the real bytes")
        with pytest.raises(StoreError, match="write_evidence_blob comes first"):
            store.commit(Changes(evidence=(elsewhere,)))
        for s in _and_reopened(factory, store):
            assert s.evidence(r.id) == [] and s.audit(r.id) == []

    def test_a_committed_file_cannot_be_written_again(self, store: Store) -> None:
        r = report()
        e = evidence(store, r.id, data=b"first")
        store.commit(Changes(reports=(r,), evidence=(e,)))
        with pytest.raises(StoreError, match="append-only"):
            store.write_evidence_blob(r.id, e.id, (b"second",))
        assert b"".join(store.open_evidence(r.id, e.id)) == b"first"

    def test_a_write_that_fails_part_way_keeps_nothing(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))

        def dropped() -> Iterator[bytes]:
            yield b"x" * 100_000
            raise ConnectionError("the platform hung up")

        with pytest.raises(ConnectionError):
            store.write_evidence_blob(r.id, "e3", dropped())
        with pytest.raises(StoreError):
            store.commit(Changes(evidence=(an_evidence(report_id=r.id, id="e3", data=b"x" * 100_000),)))
        assert store.evidence(r.id) == []

    def test_a_refused_commit_keeps_its_blob_for_a_retry(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))
        e = evidence(store, r.id, data=b"pixels")
        with pytest.raises(Conflict):
            store.commit(Changes(evidence=(e,), reports=(replace(r, version=5),)))
        store.commit(Changes(evidence=(e,)))
        assert b"".join(store.open_evidence(r.id, e.id)) == b"pixels"

    def test_opening_unknown_evidence_is_not_found(self, store: Store) -> None:
        r = report()
        e = evidence(store, r.id)
        store.commit(Changes(reports=(r,), evidence=(e,)))
        with pytest.raises(NotFound):
            store.open_evidence(r.id, "no such file")
        with pytest.raises(NotFound):
            store.open_evidence("another report", e.id)  # a file is only ever read as its own report's

    def test_a_purge_takes_the_files_with_it(self, factory: StoreFactory, store: Store) -> None:
        gone, kept = report(minutes=1), report(minutes=2)
        store.commit(Changes(reports=(gone, kept)))
        files = (evidence(store, gone.id, data=b"gone"), evidence(store, kept.id, data=b"kept"))
        store.commit(Changes(evidence=files))
        store.commit(Changes(purge_reports=(gone,)))
        for s in _and_reopened(factory, store):
            with pytest.raises(NotFound):
                s.open_evidence(gone.id, files[0].id)
            assert b"".join(s.open_evidence(kept.id, files[1].id)) == b"kept"

    def test_evidence_oldest_first_then_by_id(self, factory: StoreFactory, store: Store) -> None:
        r, other = report(), report()
        late, early = evidence(store, r.id, minutes=9), evidence(store, r.id, minutes=1)
        same_time = [evidence(store, r.id, minutes=5, id=i) for i in ("c3", "a1", "b2")]
        store.commit(Changes(reports=(r, other), evidence=(late, same_time[0])))
        store.commit(Changes(evidence=(*same_time[1:], early, evidence(store, other.id, minutes=0))))
        for s in _and_reopened(factory, store):
            assert [e.id for e in s.evidence(r.id)] == [early.id, "a1", "b2", "c3", late.id]
            assert len(s.evidence(other.id)) == 1

    def test_evidence_is_append_only(self, store: Store) -> None:
        r = report()
        e = evidence(store, r.id)
        store.commit(Changes(reports=(r,), evidence=(e,)))
        changed = an_evidence(report_id=r.id, id=e.id, data=b"other bytes", source_id="F-OTHER")
        with pytest.raises(Conflict):
            store.commit(Changes(evidence=(changed,)))
        with pytest.raises(Conflict):
            store.commit(Changes(evidence=(changed, changed)))
        assert store.evidence(r.id) == [e]

    def test_a_platform_file_is_stored_once_per_report(self, factory: StoreFactory, store: Store) -> None:
        r, other = report(), report()
        first = evidence(store, r.id, source_id="F0123")
        store.commit(Changes(reports=(r, other), evidence=(first,)))
        retried = evidence(store, r.id, source_id="F0123")  # a retried download: new id, same file
        with pytest.raises(Conflict):
            store.commit(Changes(evidence=(retried,), audit=(event(r.id, action="evidence.add"),)))
        twice = (evidence(store, other.id, source_id="F0456"), evidence(store, other.id, source_id="F0456"))
        with pytest.raises(Conflict):
            store.commit(Changes(evidence=twice))
        store.commit(Changes(evidence=(evidence(store, other.id, source_id="F0123"),)))  # another report may
        for s in _and_reopened(factory, store):
            assert s.evidence(r.id) == [first] and s.audit(r.id) == []
            assert [e.source_id for e in s.evidence(other.id)] == ["F0123"]

    # --- queries and their orders

    def test_due_outbox_is_pending_due_items_oldest_due_first(self, store: Store) -> None:
        late, early, middle = alert("r", minutes=30), alert("r", minutes=5), alert("r", minutes=10)
        future = alert("r", minutes=120)
        done = alert("r", minutes=1, delivered_at=T0)
        store.commit(Changes(outbox=(late, early, middle, future, done)))
        now = T0 + timedelta(minutes=30)
        assert store.due_outbox(now) == [early, middle, late]
        assert store.due_outbox(now, limit=2) == [early, middle]
        retried = replace(early, attempts=1, due_at=T0 + timedelta(minutes=20))
        store.commit(Changes(outbox=(retried,)))
        assert store.due_outbox(now) == [middle, retried, late]
        store.commit(Changes(outbox=(replace(middle, delivered_at=now, state=OutboxState.SENT),)))
        assert store.due_outbox(now) == [retried, late]

    def test_reports_by_reporter_newest_first(self, store: Store) -> None:
        mine = [report(minutes=m) for m in (5, 1, 9)]
        theirs = report(minutes=3, reporter_id="slack:UOTHER")
        store.commit(Changes(reports=(*mine, theirs)))
        assert store.reports_by_reporter("slack:U100") == sorted(
            mine, key=lambda r: r.created_at, reverse=True
        )
        assert store.reports_by_reporter("slack:UOTHER") == [theirs]
        assert store.reports_by_reporter("slack:UNOBODY") == []
        assert store.reports_by_reporter("slack:U100", since=mine[0].created_at) == [mine[2]]

    def test_open_reports_oldest_first_and_follow_status(self, store: Store) -> None:
        a, b, c = report(minutes=3), report(minutes=1), report(minutes=2, status=Status.RESOLVED)
        store.commit(Changes(reports=(a, b, c)))
        assert store.open_reports() == [b, a]
        closed = b.evolve(now=T0, status=Status.CLOSED)
        reopened = c.evolve(now=T0, status=Status.IN_PROGRESS)
        store.commit(Changes(reports=(closed, reopened)))
        assert store.open_reports() == [reopened, a]

    def test_all_reports_oldest_first(self, store: Store) -> None:
        reports = [report(minutes=m) for m in (4, 2, 8, 6)]
        for r in reports:
            store.commit(Changes(reports=(r,)))
        assert store.all_reports() == sorted(reports, key=lambda r: r.created_at)

    def test_notes_and_audit_oldest_first(self, store: Store) -> None:
        r = report()
        notes = [note(r.id, minutes=m) for m in (3, 1, 2)]
        events = [event(r.id, minutes=m) for m in (2, 3, 1)]
        store.commit(Changes(reports=(r,), notes=tuple(notes[:2]), audit=tuple(events[:1])))
        store.commit(Changes(notes=tuple(notes[2:]), audit=tuple(events[1:])))
        assert store.notes(r.id) == sorted(notes, key=lambda n: n.at)
        assert store.audit(r.id) == sorted(events, key=lambda e: e.at)

    def test_equal_timestamps_keep_arrival_order(self, factory: StoreFactory, store: Store) -> None:
        r = report()
        notes = [note(r.id, text=f"note {i}") for i in range(5)]
        reports = [report() for _ in range(5)]
        store.commit(Changes(reports=(r,)))
        for n in notes:
            store.commit(Changes(notes=(n,)))
        store.commit(Changes(reports=tuple(reports)))
        again = factory.reopen(store)
        assert again.notes(r.id) == notes
        assert again.all_reports() == [r, *reports]

    def test_returned_lists_are_copies(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,), notes=(note(r.id),), evidence=(evidence(store, r.id),)))
        store.all_reports().clear()
        store.notes(r.id).clear()
        store.evidence(r.id).clear()
        assert store.all_reports() == [r] and len(store.notes(r.id)) == 1 and len(store.evidence(r.id)) == 1

    # --- reminders, their sends and presses

    def test_a_reminder_keeps_its_nested_schedule(self, factory: StoreFactory, store: Store) -> None:
        every_field = Schedule(
            frequency=Frequency.WEEKDAYS,
            start=date(2026, 11, 2),
            time="16:45",
            timezone="America/New_York",
            weekdays=frozenset({4, 0, 2}),
            day_of_month=31,
            cron="30 8 * * 1-5",
            end=date(2027, 7, 23),
        )
        full = reminder(
            schedule=every_field,
            channels=("slack:C1", "slack:C2"),
            blocked_channels=("slack:C2",),
            paused=True,
            sends=7,
            updated_at=T0,
        )
        ended = reminder(next_run=None, deleted=True)
        store.commit(Changes(reminders=(full, ended)))
        for s in _and_reopened(factory, store):
            assert s.reminder(full.id) == full and s.reminder(ended.id) == ended
            assert s.reminder(full.id).schedule.weekdays == frozenset({0, 2, 4})  # type: ignore[union-attr]
            assert s.reminder("missing") is None

    def test_reminders_are_versioned_like_reports(self, store: Store) -> None:
        r = reminder()
        store.commit(Changes(reminders=(r,)))
        with pytest.raises(Conflict):
            store.commit(Changes(reminders=(replace(r, name="again as new"),)))
        claimed = r.evolve(now=T0, sends=1)
        store.commit(Changes(reminders=(claimed,)))
        stale = r.evolve(now=T0, paused=True)  # also version 2: a second scheduler's claim loses
        with pytest.raises(Conflict):
            store.commit(Changes(reminders=(stale,), runs=(reminder_run(r.id),)))
        with pytest.raises(Conflict):
            store.commit(Changes(reminders=(reminder(version=2),)))
        with pytest.raises(Conflict):
            store.commit(Changes(reminders=(claimed.evolve(now=T0), claimed.evolve(now=T0))))
        assert store.reminders() == [claimed] and store.runs_of(r.id) == []

    def test_reminders_oldest_created_first(self, factory: StoreFactory, store: Store) -> None:
        late, early = reminder(minutes=9), reminder(minutes=1)
        same_time = [reminder(minutes=5) for _ in range(3)]
        store.commit(Changes(reminders=(late, same_time[0])))
        store.commit(Changes(reminders=(*same_time[1:], early)))
        store.commit(Changes(reminders=(early.evolve(now=T0, deleted=True),)))
        for s in _and_reopened(factory, store):
            assert [r.id for r in s.reminders()] == [early.id, *(r.id for r in same_time), late.id]
            assert s.reminders()[0].deleted

    def test_runs_presses_and_purge_records_are_append_only(self, store: Store) -> None:
        r = reminder()
        run = reminder_run(r.id)
        pressed = press(run, "slack:U1")
        gone = purge_record(report())
        store.commit(Changes(reminders=(r,), runs=(run,), presses=(pressed,), purges=(gone,)))
        for changes in (
            Changes(runs=(replace(run, topic="another tip"),)),
            Changes(presses=(replace(pressed, presser_id="slack:U2"),)),
            Changes(purges=(replace(gone, reference="SS-AAAAA-AAAAA"),)),
        ):
            with pytest.raises(Conflict):
                store.commit(changes)
        other = reminder_run(r.id, minutes=60)
        twice = press(other, "slack:U3")
        for changes in (
            Changes(runs=(other, other)),
            Changes(runs=(other,), presses=(twice, replace(twice, presser_id="slack:U4"))),
            Changes(purges=(purge_record(report()),) * 2),
        ):
            with pytest.raises(Conflict):
                store.commit(changes)
        assert store.runs_of(r.id) == [run] and store.reminder_run(run.id) == run
        assert store.reminder_run(other.id) is None and store.purges() == [gone]
        assert store.press_counts(r.id) == {PressKind.DONE: 1, PressKind.HOW: 0}

    def test_a_person_counts_once_per_button_of_a_send(self, factory: StoreFactory, store: Store) -> None:
        r, other = reminder(), reminder()
        first, second = reminder_run(r.id), reminder_run(r.id, minutes=60)
        store.commit(Changes(reminders=(r, other), runs=(first, second, reminder_run(other.id))))
        store.commit(Changes(presses=(press(first, "slack:U1"),)))
        with pytest.raises(Conflict):
            store.commit(Changes(presses=(press(first, "slack:U1"),)))  # a retried or double click
        with pytest.raises(Conflict):
            store.commit(Changes(presses=(press(second, "slack:U2"), press(second, "slack:U2"))))
        store.commit(Changes(presses=(
            press(first, "slack:U1", PressKind.HOW),  # another button
            press(second, "slack:U1"),  # another send
            press(first, "slack:U2"),  # another person
        )))
        for s in _and_reopened(factory, store):
            assert s.press_counts(r.id) == {PressKind.DONE: 3, PressKind.HOW: 1}
            assert s.press_counts(other.id) == {PressKind.DONE: 0, PressKind.HOW: 0}
            assert s.press_counts("missing") == {PressKind.DONE: 0, PressKind.HOW: 0}
            with pytest.raises(Conflict):
                s.commit(Changes(presses=(press(second, "slack:U1"),)))

    def test_runs_of_oldest_claimed_first(self, factory: StoreFactory, store: Store) -> None:
        r, other = reminder(), reminder()
        late, early = reminder_run(r.id, minutes=60), reminder_run(r.id, minutes=0)
        now_runs = [reminder_run(r.id, id=f"{r.id}@now-{i}", claimed_at=T0 + timedelta(minutes=30)) for i in "cab"]
        store.commit(Changes(reminders=(r, other), runs=(late, now_runs[0], reminder_run(other.id))))
        store.commit(Changes(runs=(*now_runs[1:], early)))
        for s in _and_reopened(factory, store):
            assert s.runs_of(r.id) == [early, *now_runs, late]
            assert len(s.runs_of(other.id)) == 1 and s.runs_of("missing") == []

    def test_a_sends_outbox_items_in_queued_order(self, factory: StoreFactory, store: Store) -> None:
        r = reminder()
        run, other = reminder_run(r.id), reminder_run(r.id, minutes=60)
        posts = [post(run, channel=channel) for channel in run.channels]
        notice = alert("", kind=Delivery.REMINDER_NOTICE, run_id=run.id, recipient="admin:0a1b", minutes=-5)
        store.commit(Changes(reminders=(r,), runs=(run, other), outbox=(*posts, post(other))))
        store.commit(Changes(outbox=(notice, replace(posts[0], delivered_at=T0, state=OutboxState.SENT, receipt="1.1"))))
        for s in _and_reopened(factory, store):
            assert [o.id for o in s.outbox_of_run(run.id)] == [posts[0].id, posts[1].id, notice.id]
            assert s.outbox_of_run(run.id)[0].receipt == "1.1"
            assert len(s.outbox_of_run(other.id)) == 1 and s.outbox_of_run("missing") == []
            assert s.outbox_of("") == []  # reminder posts belong to no report

    def test_two_schedulers_claim_one_run_once(self, store: Store) -> None:
        r = reminder()
        store.commit(Changes(reminders=(r,)))
        claims = 8
        start = threading.Barrier(claims)
        won: list[int] = []
        lost: list[int] = []

        def claim(n: int) -> None:
            run = reminder_run(r.id, topic=f"tip {n}")  # the same run id from every thread
            start.wait()
            try:
                store.commit(Changes(runs=(run,), outbox=(post(run),)))
            except Conflict:
                lost.append(n)
            else:
                won.append(n)

        _in_threads(claim, claims)
        assert len(won) == 1 and len(lost) == claims - 1
        [run] = store.runs_of(r.id)
        assert run.topic == f"tip {won[0]}" and len(store.outbox_of_run(run.id)) == 1

    # --- claims: each due item to one worker, by platform, with a lease

    @pytest.mark.parametrize("workers", [2, 8])
    def test_claims_hand_each_due_item_to_one_worker(self, store: Store, workers: int) -> None:
        items = tuple(alert("r", minutes=-i / 10) for i in range(120))
        store.commit(Changes(outbox=items))
        start = threading.Barrier(workers)
        claimed: list[list[str]] = [[] for _ in range(workers)]

        def work(n: int) -> None:
            start.wait()
            while batch := store.claim_due(T0, 7, f"worker-{n}", timedelta(minutes=1), {"slack"}):
                claimed[n] += [item.id for item in batch]
                assert all(i.state is OutboxState.SENDING and i.claimed_by == f"worker-{n}" for i in batch)

        _in_threads(work, workers)
        every = [item_id for ids in claimed for item_id in ids]
        assert sorted(every) == sorted(item.id for item in items)  # each once, none lost

    def test_a_claim_holds_until_its_lease_lapses_then_is_taken_over_once_and_marked_uncertain(
        self, factory: StoreFactory, store: Store
    ) -> None:
        item = alert("r")
        store.commit(Changes(outbox=(item,)))
        lease = timedelta(minutes=2)
        [held] = store.claim_due(T0, 10, "dead-worker", lease, {"slack"})
        assert (held.claimed_by, held.claimed_until, held.uncertain) == ("dead-worker", T0 + lease, False)
        store = factory.reopen(store)  # the claim is durable: a restart does not free it early
        assert store.claim_due(T0 + lease - timedelta(seconds=1), 10, "other", lease, {"slack"}) == []
        [taken] = store.claim_due(T0 + lease, 10, "other", lease, {"slack"})
        assert taken.id == item.id and taken.claimed_by == "other" and taken.uncertain
        assert store.claim_due(T0 + lease, 10, "third", lease, {"slack"}) == []

    def test_claims_only_items_of_the_platforms_asked_for(self, store: Store) -> None:
        on_slack, on_other = alert("r"), alert("r", platform="fakechat")
        store.commit(Changes(outbox=(on_slack, on_other)))
        lease = timedelta(minutes=1)
        assert store.claim_due(T0, 10, "w", lease, ()) == []
        assert [i.id for i in store.claim_due(T0, 10, "w", lease, {"slack", "teams"})] == [on_slack.id]
        later = store.claim_due(T0 + timedelta(days=1), 10, "w", lease, {"slack"})  # the lapsed claim, again
        assert [i.id for i in later] == [on_slack.id]  # never the other platform's
        assert [i.id for i in store.claim_due(T0, 10, "w", lease, {"fakechat"})] == [on_other.id]

    def test_claims_come_in_claim_order_and_only_when_due(self, store: Store) -> None:
        r, rem = report(), reminder()
        run = reminder_run(rem.id)
        fan_out = tuple(post(run, minutes=-30 + i / 100) for i in range(50))
        download = alert(r.id, kind=Delivery.EVIDENCE, file_ref="F1", minutes=-20)
        receipt = alert(r.id, kind=Delivery.RECEIPT, minutes=-1)
        later = alert(r.id, minutes=5)
        store.commit(Changes(reminders=(rem,), runs=(run,), reports=(r,), outbox=(*fan_out, download, receipt, later)))
        claimed = store.claim_due(T0, 3, "w", timedelta(minutes=1), {"slack"})
        assert [i.id for i in claimed] == [receipt.id, download.id, fan_out[0].id]

    def test_a_released_claim_is_claimable_again_at_once(self, store: Store) -> None:
        store.commit(Changes(outbox=(alert("r"),)))
        [held] = store.claim_due(T0, 10, "w", timedelta(minutes=5), {"slack"})
        store.commit(Changes(outbox=(held.released(),)))
        [again] = store.claim_due(T0, 10, "v", timedelta(minutes=5), {"slack"})
        assert again.claimed_by == "v" and not again.uncertain

    # --- conversation references

    def test_conversation_references_are_upserted_one_per_target(self, factory: StoreFactory, store: Store) -> None:
        target = "teams:29:1a-B_c/d"  # Teams ids hold ":" and "-"
        first = ConversationRef(id=conversation_id_of(target), target=target, service_url="https://smba.example/emea/",
                                conversation="a:1Xy-z", tenant="t-1", updated_at=T0)
        store.commit(Changes(conversations=(first,)))
        moved = replace(first, service_url="https://smba.example/uk/", updated_at=T0 + timedelta(days=1))
        store.commit(Changes(conversations=(moved,)))
        for s in _and_reopened(factory, store):
            assert s.conversation(target) == moved
            assert s.conversation("teams:29:other") is None and s.conversation("slack:U1") is None
            assert s.conversations("teams") == [moved] and s.conversations("slack") == []

    # --- delivery by several workers over one store

    def _services(self, store: Store, content: Content, clock: FakeClock) -> Services:
        org = Organisation(name="Trust", leads=frozenset({"slack:ULEAD", "fakechat:lee"}),
                           lead_platforms=frozenset({"slack", "fakechat"}))
        return Services(store=store, content=content, clock=clock, org=org, guidance=GuidanceEngine(content=content))

    def _queue_reports(self, services: Services, count: int) -> list[str]:
        now = services.clock.now()
        reports = [report(id=new_id(), reference=f"SS-{n:05d}-AAAAA", created_at=now) for n in range(count)]
        items = [item for r in reports for item in (*lead_notices(services.org, r, Delivery.LEAD_ALERT, now),
                                                   to_reporter(r, Delivery.RECEIPT, now))]
        services.store.commit(Changes(reports=tuple(reports), outbox=tuple(items)))
        return [item.id for item in items if item.platform == "slack"]

    @pytest.mark.parametrize("workers", [2, 8])
    def test_workers_over_one_store_deliver_each_item_exactly_once(
        self, store: Store, content: Content, workers: int
    ) -> None:
        services = self._services(store, content, FakeClock(T0))
        slack_items = self._queue_reports(services, 40)
        slack = LedgerNotifier("slack")  # the platform, shared by every worker
        start = threading.Barrier(workers)

        def work(n: int) -> None:
            start.wait()
            while deliver_due(services, Notifiers([slack]), limit=5, owner=f"worker-{n}"):
                pass

        _in_threads(work, workers)
        assert sorted(slack.posts) == sorted(slack_items)  # each once, none twice, none lost
        assert all(store.outbox_item(i).state is OutboxState.SENT for i in slack_items)

    def test_a_worker_killed_mid_send_leaves_its_claim_to_lapse_then_the_item_is_looked_up_not_resent(
        self, store: Store, content: Content
    ) -> None:
        clock = FakeClock(T0)
        services = self._services(store, content, clock)
        claimed = self._queue_reports(services, 1)  # the lead alert and the receipt
        slack = LedgerNotifier("slack", die_after_posting=True)
        with pytest.raises(Died):
            deliver_due(services, Notifiers([slack]), owner="dies", lease=timedelta(minutes=2))
        [landed] = slack.posts
        assert deliver_due(services, Notifiers([slack]), owner="next") == 0  # claimed by the dead worker
        clock.advance(minutes=2)
        assert deliver_due(services, Notifiers([slack]), owner="next") == 2
        assert slack.posts.count(landed) == 1 and len(slack.posts) == 2  # found, not posted again
        assert sorted(slack.looked_up) == sorted(claimed)  # both were claimed by the dead worker
        assert store.outbox_item(landed).state is OutboxState.SENT

    def test_an_item_for_a_platform_with_no_running_notifier_waits_and_is_never_given_to_another(
        self, store: Store, content: Content
    ) -> None:
        clock = FakeClock(T0)
        services = self._services(store, content, clock)
        self._queue_reports(services, 3)
        slack = LedgerNotifier("slack")  # raises if handed another platform's item
        for _ in range(3):
            deliver_due(services, Notifiers([slack]))
            clock.advance(days=1)
        waiting = [o for o in store.due_outbox(clock.now(), 100)]
        assert len(waiting) == 3 and {o.platform for o in waiting} == {"fakechat"}
        assert all(o.state is OutboxState.PENDING and o.attempts == 0 for o in waiting)
        assert waiting_by_platform(store, clock.now(), running={"slack"}) == {"fakechat": 3}
        other = LedgerNotifier("fakechat")
        assert deliver_due(services, Notifiers([other])) == 3 and len(other.posts) == 3

    # --- purges and removals

    def test_a_purge_removes_the_report_and_everything_attached(
        self, factory: StoreFactory, store: Store
    ) -> None:
        gone, kept = report(minutes=1), report(minutes=2)
        attached = Changes(
            notes=(note(gone.id),),
            evidence=(evidence(store, gone.id),),
            audit=(event(gone.id),),
            outbox=(alert(gone.id), alert(gone.id, delivered_at=T0)),
        )
        store.commit(Changes(reports=(gone, kept), outbox=(alert(kept.id),), audit=(event(kept.id),)))
        store.commit(attached)
        kept_case = _case(store, kept.id)
        record = purge_record(gone, minutes=60)
        late_note = note(gone.id)  # added in the purging commit: purged with the rest
        store.commit(Changes(purge_reports=(gone,), purges=(record,), notes=(late_note,)))
        for s in _and_reopened(factory, store):
            assert s.report(gone.id) is None and s.report_by_reference(gone.reference) is None
            assert _case(s, gone.id) == ([], [], [], []) and s.outbox_item(attached.outbox[0].id) is None
            assert s.all_reports() == s.open_reports() == s.reports_by_reporter(gone.reporter_id) == [kept]
            assert s.due_outbox(T0 + timedelta(days=1)) == s.outbox_of(kept.id)
            assert s.delivered_outbox(Delivery.LEAD_ALERT, T0 + timedelta(days=1)) == []
            assert _case(s, kept.id) == kept_case
            assert s.purges() == [record]
        reused = report(reference=gone.reference)
        s.commit(Changes(reports=(reused,)))  # the reference is free again
        assert s.report_by_reference(gone.reference) == reused

    def test_a_purge_needs_the_version_it_read(self, factory: StoreFactory, store: Store) -> None:
        r = report()
        store.commit(submission(r))
        held = r.evolve(now=T0, status=Status.CLOSED, legal_hold=True)
        store.commit(Changes(reports=(held,)))
        record = purge_record(r)
        for stale in (r, replace(held, version=3), report()):  # read before the hold; ahead; unknown
            with pytest.raises(Conflict):
                store.commit(Changes(purge_reports=(stale,), purges=(record,), notes=(note(r.id),)))
        with pytest.raises(Conflict):
            store.commit(Changes(purge_reports=(held, held)))
        for s in _and_reopened(factory, store):
            assert s.report(r.id) == held and len(s.audit(r.id)) == 1 and len(s.outbox_of(r.id)) == 1
            assert s.notes(r.id) == [] and s.purges() == []

    def test_a_purge_updates_the_open_and_reporter_lists(self, factory: StoreFactory, store: Store) -> None:
        open_one, closed, other = report(minutes=1), report(minutes=2, status=Status.CLOSED), report(minutes=3)
        store.commit(Changes(reports=(open_one, closed, other)))
        store.commit(Changes(purge_reports=(open_one, closed)))
        for s in _and_reopened(factory, store):
            assert s.open_reports() == [other] and s.all_reports() == [other]
            assert s.reports_by_reporter(other.reporter_id) == [other]

    def test_purges_oldest_first(self, factory: StoreFactory, store: Store) -> None:
        records = [purge_record(report(), minutes=m) for m in (5, 1, 3)]
        for record in records:
            store.commit(Changes(purges=(record,)))
        for s in _and_reopened(factory, store):
            assert s.purges() == sorted(records, key=lambda p: p.purged_at)

    def test_drop_outbox_removes_items_by_id(self, factory: StoreFactory, store: Store) -> None:
        r, rem = report(), reminder()
        run = reminder_run(rem.id)
        sent = alert(r.id, delivered_at=T0)
        kept = alert(r.id, minutes=1)
        posts = [post(run, delivered_at=T0), post(run)]
        store.commit(Changes(reports=(r,), reminders=(rem,), runs=(run,), outbox=(sent, kept, *posts)))
        queued_and_dropped = post(run)
        store.commit(Changes(
            outbox=(queued_and_dropped,),
            drop_outbox=(sent.id, posts[0].id, queued_and_dropped.id, "unknown-id"),
        ))
        store.commit(Changes(drop_outbox=("only-unknown",)))
        for s in _and_reopened(factory, store):
            assert s.outbox_of(r.id) == [kept] and s.outbox_of_run(run.id) == [posts[1]]
            for item in (sent, posts[0], queued_and_dropped):
                assert s.outbox_item(item.id) is None
            assert s.due_outbox(T0 + timedelta(days=1)) == [kept, posts[1]]
            assert s.delivered_outbox(Delivery.LEAD_ALERT, T0 + timedelta(days=1)) == []
            assert s.report(r.id) == r

    def test_due_outbox_puts_report_items_before_reminder_posts(self, store: Store) -> None:
        r, rem = report(), reminder()
        run = reminder_run(rem.id)
        fan_out = tuple(post(run, minutes=i / 100) for i in range(1_000))
        store.commit(Changes(reminders=(rem,), runs=(run,), outbox=fan_out))
        lead_alert = alert(r.id, minutes=30)  # queued after the fan-out, and due later
        notice = alert("", kind=Delivery.REMINDER_NOTICE, run_id=run.id, minutes=20)
        store.commit(Changes(reports=(r,), outbox=(lead_alert, notice)))
        now = T0 + timedelta(minutes=30)
        assert store.due_outbox(now, limit=3) == [notice, lead_alert, fan_out[0]]
        assert store.due_outbox(now, limit=5_000)[2:] == list(fan_out)
        assert store.due_outbox(T0 + timedelta(minutes=25), limit=2) == [notice, fan_out[0]]

    def test_delivered_outbox_oldest_delivered_first(self, factory: StoreFactory, store: Store) -> None:
        rem = reminder()
        run = reminder_run(rem.id)
        at = [T0 + timedelta(minutes=m) for m in (30, 10, 20, 40)]
        posts = [post(run, delivered_at=when) for when in at]
        pending = post(run)
        refused = post(run, delivered_at=T0, state=OutboxState.REFUSED, error="PermanentFailure",
                       refusal="not_in_channel")
        alert_sent = alert("r1", delivered_at=T0)
        store.commit(Changes(reminders=(rem,), runs=(run,), outbox=(*posts, pending, refused, alert_sent)))
        for s in _and_reopened(factory, store):
            before = T0 + timedelta(minutes=35)
            assert s.delivered_outbox(Delivery.REMINDER, before) == [refused, posts[1], posts[2], posts[0]]
            assert s.delivered_outbox(Delivery.REMINDER, before, limit=2) == [refused, posts[1]]
            assert s.delivered_outbox(Delivery.REMINDER, T0) == []  # strictly before
            assert s.delivered_outbox(Delivery.LEAD_ALERT, before) == [alert_sent]
            assert s.delivered_outbox(Delivery.RECEIPT, before) == []

    # --- targeted reads (what a scheduler pass and the handlers read instead of everything)

    def test_one_commit_may_name_what_it_adds(self, factory: StoreFactory, store: Store) -> None:
        # Changes documents its order of application: what a record names is put before it.
        r, rem = report(), reminder()
        relayed = note(r.id, kind=NoteKind.TO_REPORTER)
        item = alert(r.id, kind=Delivery.REPORTER_MESSAGE, note_id=relayed.id)
        run = reminder_run(rem.id)
        posts = tuple(post(run, channel=channel) for channel in run.channels)
        store.commit(Changes(outbox=(item, *posts), presses=(press(run, "slack:U1"),), runs=(run,),
                             notes=(relayed,), reminders=(rem,), reports=(r,), evidence=(evidence(store, r.id),)))
        for s in _and_reopened(factory, store):
            assert s.outbox_of(r.id) == [item] and s.notes(r.id) == [relayed] and len(s.evidence(r.id)) == 1
            assert s.outbox_of_run(run.id) == list(posts) and s.runs_of(rem.id) == [run]
            assert s.press_counts(rem.id)[PressKind.DONE] == 1 and s.run_count(rem.id) == 1

    def test_open_reports_limited_and_without_those_about_a_lead(self, factory: StoreFactory, store: Store) -> None:
        about_lee = report(minutes=2, subject_id="slack:ULEE")
        others = [report(minutes=m) for m in (3, 1, 4)]
        closed_about_lee = report(minutes=0, subject_id="slack:ULEE", status=Status.CLOSED)
        store.commit(Changes(reports=(about_lee, *others, closed_about_lee)))
        oldest = sorted(others, key=lambda r: r.created_at)
        for s in _and_reopened(factory, store):
            assert s.open_reports() == [oldest[0], about_lee, *oldest[1:]]
            assert s.open_reports(2) == [oldest[0], about_lee] and s.open_reports(0) == []
            assert s.open_reports(not_about="slack:ULEE") == oldest
            assert s.open_reports(2, not_about="slack:ULEE") == oldest[:2]
            assert s.open_report_count() == 4 and s.open_report_count(not_about="slack:ULEE") == 3
            assert s.open_report_count(not_about="slack:UNOBODY") == 4
        store = s  # reopened: the indexes were rebuilt at start
        store.commit(Changes(reports=(about_lee.evolve(now=T0, status=Status.RESOLVED),)))
        assert store.open_report_count() == 3 and store.open_report_count(not_about="slack:ULEE") == 3

    def test_escalation_due_once_per_window_at_exactly_its_end(self, factory: StoreFactory, store: Store) -> None:
        window = timedelta(hours=24)
        now = T0 + timedelta(days=3)
        due_now = report(created_at=now - window)  # its first window ends exactly now
        not_yet = report(created_at=now - window + timedelta(seconds=1))
        escalated_once = report(created_at=now - 2 * window + timedelta(seconds=1), escalations=1)
        escalated_due = report(created_at=now - 2 * window, escalations=1)
        acknowledged = report(created_at=T0, handler_id="slack:ULEAD", status=Status.ACKNOWLEDGED)
        closed = report(created_at=T0, status=Status.CLOSED)
        store.commit(Changes(reports=(due_now, not_yet, escalated_once, escalated_due, acknowledged, closed)))
        for s in _and_reopened(factory, store):
            assert s.escalation_due(now, window) == [escalated_due, due_now]
            assert s.escalation_due(now - timedelta(seconds=1), window) == []
        store = s  # reopened: the indexes were rebuilt at start
        store.commit(Changes(reports=(due_now.evolve(now=now, status=Status.ESCALATED, escalations=1),)))
        assert store.escalation_due(now, window) == [escalated_due]
        assert store.escalation_due(now + window, window) == [
            escalated_due, escalated_once, store.report(due_now.id), not_yet]

    def test_escalation_due_pages_oldest_first_ties_by_id(self, factory: StoreFactory, store: Store) -> None:
        same_time = [report(created_at=T0) for _ in range(4)]
        older = report(created_at=T0 - timedelta(hours=1), escalations=2)
        store.commit(Changes(reports=(*same_time, older)))
        now, window = T0 + timedelta(days=10), timedelta(hours=24)
        expected = [older, *sorted(same_time, key=lambda r: r.id)]
        for s in _and_reopened(factory, store):
            assert s.escalation_due(now, window) == expected
            first = s.escalation_due(now, window, limit=2)
            assert first == expected[:2]
            assert s.escalation_due(now, window, limit=2, after=first[-1]) == expected[2:4]
            assert s.escalation_due(now, window, limit=2, after=expected[3]) == expected[4:]
            assert s.escalation_due(now, window, after=expected[-1]) == []

    def test_reports_to_warn_and_to_purge_at_exactly_their_times(self, factory: StoreFactory, store: Store) -> None:
        at = T0 + timedelta(days=30)

        def closed(when: datetime, **overrides: object) -> Report:
            values: dict[str, object] = dict(created_at=T0, status=Status.CLOSED, closed_at=when, updated_at=when)
            return report(**(values | overrides))

        closed_then = closed(at)
        closed_later = closed(at + timedelta(seconds=1), status=Status.RESOLVED)
        held = closed(at, legal_hold=True)
        still_open = report(created_at=T0)
        warned = closed(at, retention_warned_at=at)
        warned_later = closed(at - timedelta(days=1), retention_warned_at=at + timedelta(seconds=1))
        warned_and_held = closed(at, retention_warned_at=at, legal_hold=True)
        # Closed before closed_at was recorded: the retention clock runs from the last change.
        legacy = report(created_at=T0, status=Status.CLOSED, updated_at=at - timedelta(days=2))
        store.commit(Changes(reports=(closed_then, closed_later, held, still_open, warned, warned_later,
                                      warned_and_held, legacy)))
        for s in _and_reopened(factory, store):
            assert s.reports_to_warn(at) == [legacy, closed_then]
            assert s.reports_to_warn(at, limit=1) == [legacy]
            assert s.reports_to_warn(at - timedelta(seconds=1)) == [legacy]
            assert s.reports_to_warn(at + timedelta(days=1)) == [legacy, closed_then, closed_later]
            assert s.reports_to_purge(at, at) == [warned]
            assert s.reports_to_purge(at, at + timedelta(seconds=1)) == [warned_later, warned]
            assert s.reports_to_purge(at, at + timedelta(seconds=1), limit=1) == [warned_later]
            assert s.reports_to_purge(at - timedelta(seconds=1), at + timedelta(days=1)) == [warned_later]
            assert s.reports_to_purge(at, at - timedelta(seconds=1)) == []
        store = s  # reopened: the indexes were rebuilt at start
        lifted = warned_and_held.evolve(now=at, legal_hold=False, retention_warned_at=None)
        reopened = closed_then.evolve(now=at, status=Status.IN_PROGRESS)
        store.commit(Changes(reports=(lifted, reopened), purge_reports=(legacy,)))
        assert store.reports_to_warn(at + timedelta(days=1)) == [lifted, closed_later]
        assert store.reports_to_purge(at, at + timedelta(days=1)) == [warned_later, warned]

    def test_due_reminders_earliest_first_at_exactly_their_time(self, factory: StoreFactory, store: Store) -> None:
        now = T0 + timedelta(days=1)
        due = [reminder(next_run=now - timedelta(hours=h)) for h in (1, 3, 0)]
        same_time = [reminder(next_run=now - timedelta(hours=2)) for _ in range(2)]
        later = reminder(next_run=now + timedelta(seconds=1))
        paused = reminder(next_run=now - timedelta(hours=5), paused=True)
        deleted = reminder(next_run=now - timedelta(hours=5), deleted=True)
        ended = reminder(next_run=None)
        store.commit(Changes(reminders=(*due, *same_time, later, paused, deleted, ended)))
        expected = [due[1], *sorted(same_time, key=lambda r: r.id), due[0], due[2]]
        for s in _and_reopened(factory, store):
            assert s.due_reminders(now) == expected
            assert s.due_reminders(now, limit=2) == expected[:2]
            assert s.due_reminders(now, limit=2, after=expected[1]) == expected[2:4]
            assert s.due_reminders(now, after=expected[-1]) == []
            assert s.due_reminders(now + timedelta(seconds=1))[-1] == later
        store = s  # reopened: the indexes were rebuilt at start
        moved_on = due[1].evolve(now=now, next_run=now + timedelta(days=1))
        store.commit(Changes(reminders=(moved_on, paused.evolve(now=now, paused=False))))
        assert store.due_reminders(now) == [paused.evolve(now=now, paused=False), *expected[1:]]

    def test_run_count_counts_every_claimed_send(self, factory: StoreFactory, store: Store) -> None:
        r, other = reminder(), reminder()
        runs = [reminder_run(r.id, minutes=m) for m in (0, 60)]
        now_run = reminder_run(r.id, id=f"{r.id}@now-1")
        store.commit(Changes(reminders=(r, other), runs=(*runs, reminder_run(other.id))))
        store.commit(Changes(runs=(now_run,)))
        with pytest.raises(Conflict):
            store.commit(Changes(runs=(runs[0],)))
        for s in _and_reopened(factory, store):
            assert s.run_count(r.id) == 3 and s.run_count(other.id) == 1 and s.run_count("missing") == 0

    # --- threads and lifecycle

    def test_many_threads_commit_at_once(self, factory: StoreFactory, store: Store) -> None:
        threads, per_thread = 8, 50
        committed: list[list[Report]] = [[] for _ in range(threads)]
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def work(n: int) -> None:
            try:
                start.wait()
                for i in range(per_thread):
                    r = report(minutes=i, reporter_id=f"slack:T{n}")
                    store.commit(submission(r))
                    store.report(r.id)
                    store.open_reports()
                    committed[n].append(r)
            except BaseException as exc:  # surfaced below, not lost in the thread
                errors.append(exc)

        _in_threads(work, threads)
        assert errors == []
        ids = {r.id for rs in committed for r in rs}
        assert len(ids) == threads * per_thread
        for s in _and_reopened(factory, store):
            assert {r.id for r in s.all_reports()} == ids
            assert len(s.due_outbox(T0, limit=10_000)) == threads * per_thread
            for n in range(threads):
                assert len(s.reports_by_reporter(f"slack:T{n}")) == per_thread

    def test_concurrent_updates_of_one_report_one_wins_per_version(self, store: Store) -> None:
        r = report()
        store.commit(Changes(reports=(r,)))
        wins: list[int] = []
        lock = threading.Lock()

        def update(n: int) -> None:
            for _ in range(20):
                current = store.report(r.id)
                assert current is not None
                try:
                    store.commit(Changes(reports=(current.evolve(now=T0, occasions=n),)))
                except Conflict:
                    continue
                with lock:
                    wins.append(n)

        _in_threads(update, 6)
        final = store.report(r.id)
        assert final is not None and final.version == 1 + len(wins)

    def test_a_commit_that_queues_outbox_items_calls_on_queued(self, store: Store) -> None:
        woken: list[int] = []
        store.on_queued(lambda: woken.append(1))
        r = report()
        store.commit(Changes(reports=(r,)))
        store.commit(Changes(outbox=(alert(r.id),)))
        wait_until(lambda: woken)  # a store shared by several processes calls it from a listener thread

    def test_closed_store_refuses_calls(self, store: Store) -> None:
        store.close()
        with pytest.raises(StoreError):
            store.report("x")
        with pytest.raises(StoreError):
            store.commit(Changes(reports=(report(),)))
        store.close()  # closing twice is harmless


def _in_threads(work: Callable[[int], None], count: int) -> None:
    # Thread n runs work(n); returns when all have finished.
    workers = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def _and_reopened(factory: StoreFactory, store: Store) -> Iterator[Store]:
    # Lazily: the reopen closes `store`, so it must come after the checks on `store`.
    yield store
    yield factory.reopen(store)


def _case(store: Store, report_id: str) -> tuple[object, ...]:
    return store.notes(report_id), store.evidence(report_id), store.audit(report_id), store.outbox_of(report_id)


def _state(store: Store, report_ids: list[str]) -> object:
    return (
        store.all_reports(),
        store.open_reports(),
        [store.notes(i) for i in report_ids],
        [store.audit(i) for i in report_ids],
        [store.evidence(i) for i in report_ids],
        [store.reports_by_reporter(r.reporter_id) for r in store.all_reports()],
        store.due_outbox(T0 + timedelta(days=1), limit=1000),
    )

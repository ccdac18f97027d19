"""The targeted reads agree with their definitions over every report, whatever was committed, changed and purged.

Generated stores (hypothesis): reports in every state, with equal timestamps, then changed and purged in
later commits, so the indexes behind the reads are moved and emptied as they are in use. Each read is
compared with its definition applied to `all_reports()` (the plain reading of the Store port's words).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, strategies as st

from bot.domain.ports import Changes, Store
from bot.domain.reminder import Reminder
from bot.domain.report import Report, Status
from bot.store.memory import MemoryStore
from tests.store_contract import T0, reminder, report

SUBJECTS = (None, "slack:ULEE", "slack:UBEA")


def times() -> st.SearchStrategy[datetime]:
    """A few distinct times around T0, so that many records share one."""
    return st.integers(0, 6).map(lambda hours: T0 + timedelta(hours=hours))


@st.composite
def reports(draw: st.DrawFn) -> Report:
    """A report in any state the scheduler may meet."""
    status = draw(st.sampled_from(list(Status)))
    closed = status in (Status.RESOLVED, Status.CLOSED)
    return report(
        created_at=draw(times()),
        status=status,
        handler_id=draw(st.sampled_from([None, "slack:ULEAD"])),
        escalations=draw(st.integers(0, 2)),
        subject_id=draw(st.sampled_from(SUBJECTS)),
        closed_at=draw(st.none() | times()) if closed else None,
        updated_at=draw(st.none() | times()),
        retention_warned_at=draw(st.none() | times()) if closed else None,
        legal_hold=draw(st.booleans()),
    )


@st.composite
def reminders(draw: st.DrawFn) -> Reminder:
    """A reminder in any state."""
    return reminder(next_run=draw(st.none() | times()), paused=draw(st.booleans()), deleted=draw(st.booleans()))


def stored(store: Store, data: st.DataObject) -> None:
    """Commit generated reports and reminders, then change some and purge some, in separate commits."""
    first = data.draw(st.lists(reports(), min_size=8, max_size=30), label="reports")
    kept = data.draw(st.lists(reminders(), max_size=8), label="reminders")
    store.commit(Changes(reports=tuple(first), reminders=tuple(kept)))
    for r in data.draw(st.lists(st.sampled_from(first), unique_by=lambda r: r.id), label="changed") if first else ():
        fields = data.draw(reports(), label="new state")
        store.commit(Changes(reports=(replace(fields, id=r.id, reference=r.reference, version=r.version + 1),)))
    for r in data.draw(st.lists(st.sampled_from(first), unique_by=lambda r: r.id), label="purged") if first else ():
        current = store.report(r.id)
        assert current is not None
        store.commit(Changes(purge_reports=(current,)))
    for rem in kept[: data.draw(st.integers(0, len(kept)), label="moved on")]:
        store.commit(Changes(reminders=(rem.evolve(now=T0, next_run=data.draw(st.none() | times())),)))


def by_time_and_id(records: list, when: str) -> list:
    return sorted(records, key=lambda r: (getattr(r, when), r.id))


@given(data=st.data(), now=times(), window_hours=st.integers(1, 3), retention_hours=st.integers(0, 4))
def test_each_targeted_read_is_its_definition(data: st.DataObject, now: datetime, window_hours: int,
                                              retention_hours: int) -> None:
    store = MemoryStore()
    stored(store, data)
    everything = store.all_reports()
    window = timedelta(hours=window_hours)
    closed_before, warned_before = now - timedelta(hours=retention_hours), now - timedelta(hours=1)

    chase = [r for r in everything if r.is_open and not r.acknowledged
             and r.created_at + (r.escalations + 1) * window <= now]
    assert store.escalation_due(now, window, limit=1_000) == by_time_and_id(chase, "created_at")
    retained = [r for r in everything if r.closed_since is not None and not r.legal_hold
                and r.closed_since <= closed_before]
    warn = [r for r in retained if r.retention_warned_at is None]
    purge = [r for r in retained if r.retention_warned_at is not None and r.retention_warned_at <= warned_before]
    assert store.reports_to_warn(closed_before, limit=1_000) == by_time_and_id(warn, "closed_since")
    assert store.reports_to_purge(closed_before, warned_before, limit=1_000) == by_time_and_id(purge, "closed_since")
    for subject in SUBJECTS:
        visible = [r for r in everything if r.is_open and (subject is None or r.subject_id != subject)]
        assert store.open_reports(not_about=subject) == visible
        assert store.open_report_count(not_about=subject) == len(visible)
    due = [r for r in store.reminders() if r.active and r.next_run is not None and r.next_run <= now]
    assert store.due_reminders(now, limit=1_000) == by_time_and_id(due, "next_run")


@given(data=st.data(), page=st.integers(1, 4))
def test_reading_page_after_page_gives_every_due_report_once(data: st.DataObject, page: int) -> None:
    store = MemoryStore()
    stored(store, data)
    now, window = T0 + timedelta(hours=6), timedelta(hours=1)
    pages, after = [], None
    while True:
        found = store.escalation_due(now, window, limit=page, after=after)
        pages += found
        if len(found) < page:
            break
        after = found[-1]
    assert pages == store.escalation_due(now, window, limit=1_000)

"""Decoded records and the indexes behind the Store queries, shared by the in-process stores.

Not thread-safe by itself: each store holds its lock around every call. `check` raises Conflict
without changing anything and returns the ids the commit removes; `apply` then cannot fail, which is
what makes a commit all-or-nothing. A commit applies in this order: its records (in TABLES order),
then `drop_outbox`, then `purge_reports`; so an item queued for a purged report in the same commit
goes with it. Only reports and what hangs off them (notes, evidence, audit, outbox) are ever removed.

The indexes are rebuilt from the records whenever a store loads, so adding one changes no file
format. Ranged queries (what is due by a time) read sorted indexes keyed only on the fields the
Store port lists as fit to index (statuses, times, counters, flags, keyed hashes).
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Callable, Container, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar

from bot.domain.errors import Conflict
from bot.domain.platform import ConversationRef, conversation_id_of
from bot.domain.reminder import PressKind, PurgeRecord, Reminder, ReminderPress, ReminderRun
from bot.domain.ports import Changes
from bot.domain.report import AuditEvent, ClaimOrder, Delivery, Evidence, Note, OutboxItem, OutboxState, Report
from bot.store.codec import TABLE_OF, TABLES, Record, by_table
from bot.store.sorted_index import LAST, Key, SortedIndex

Removed = dict[str, list[str]]  # table -> ids of the records a commit removes
Listing = tuple[str, str]  # (list name, key): one list of record ids behind a query, e.g. a case's notes
Ranking = tuple[str, Hashable]  # (index name, part): one sorted index behind a ranged query, see _ranks
R = TypeVar("R", bound=Record)

# Tables whose records hang off a report: listed as f"{table}_of" under its id, purged with it.
ATTACHED = ("notes", "evidence", "audit", "outbox")


def _plain(field: str, value: str) -> str:
    return value


class Tables:
    """Every record by id, plus the indexes the queries need."""

    def __init__(self, *, keyed_hash: Callable[[str, str], str] = _plain) -> None:
        # keyed_hash(field, person id) is a person's index key: an encrypted store passes its keyed
        # hash, so no index holds a plaintext user id.
        self._keyed_hash = keyed_hash
        self.reports: dict[str, Report] = {}
        self.notes: dict[str, Note] = {}
        self.evidence: dict[str, Evidence] = {}
        self.audit: dict[str, AuditEvent] = {}
        self.outbox: dict[str, OutboxItem] = {}
        self.reminders: dict[str, Reminder] = {}
        self.runs: dict[str, ReminderRun] = {}
        self.presses: dict[str, ReminderPress] = {}
        self.purges: dict[str, PurgeRecord] = {}
        self.conversations: dict[str, ConversationRef] = {}
        # Arrival order breaks ties between equal timestamps, so list orders are stable.
        self._arrival = itertools.count()
        self._order: dict[tuple[type, str], int] = {}  # keyed by type too: ids may repeat across tables
        # Record ids per listing, in arrival order (dicts as ordered sets); see _listings.
        self._lists: dict[Listing, dict[str, None]] = {}
        self._by_reference: dict[str, str] = {}
        self._by_source: set[tuple[str, str]] = set()  # (report_id, source_id) of stored evidence
        self._pressed: set[tuple[str, str, str]] = set()  # (run_id, button, presser key) of stored presses
        self._press_counts: dict[str, Counter[PressKind]] = {}  # by reminder id
        self._run_counts: Counter[str] = Counter()  # by reminder id
        # Record ids sorted by the key of a ranged query (what is due by a time); see _ranks.
        self._sorted: dict[Ranking, SortedIndex] = {}

    # --- commit

    def check(self, changes: Changes) -> Removed:
        """Raise Conflict if `changes` cannot be committed now; otherwise the ids it removes, by table."""
        _check_versions("report", changes.reports, self.reports)
        references: dict[str, str] = {}
        for report in changes.reports:
            holder = references.setdefault(report.reference, report.id)
            holder = self._by_reference.get(report.reference, holder)
            if holder != report.id:
                raise Conflict(f"report {report.id}: its reference is already used by another report")
        _check_versions("reminder", changes.reminders, self.reminders)
        appended: tuple[tuple[str, Sequence[Record], Mapping[str, Record]], ...] = (
            ("note", changes.notes, self.notes),
            ("evidence", changes.evidence, self.evidence),
            ("audit event", changes.audit, self.audit),
            ("run", changes.runs, self.runs),
            ("press", changes.presses, self.presses),
            ("purge record", changes.purges, self.purges),
        )
        for kind, records, stored in appended:
            _unique(kind, (r.id for r in records))
            _once(kind, ((r.id, r.id) for r in records), stored, "already exists and is append-only")
        _unique("outbox item", (o.id for o in changes.outbox))
        _unique("conversation reference", (c.id for c in changes.conversations))
        # Retries must not store a file twice, nor count a person twice; messages leave the key out.
        sources = ((e.id, (e.report_id, e.source_id)) for e in changes.evidence)
        _once("evidence", sources, self._by_source, "its report already has this file")
        presses = ((p.id, self._press_key(p)) for p in changes.presses)
        _once("press", presses, self._pressed, "this person already pressed this button of this send")
        return self._removals(changes)

    def _removals(self, changes: Changes) -> Removed:
        _unique("purged report", (r.id for r in changes.purge_reports))
        for given in changes.purge_reports:
            stored = self.reports.get(given.id)
            if stored is None or stored.version != given.version:
                raise Conflict(f"report {given.id} is gone or changed since it was read; it was not purged")
        # Removals come after the commit's records are put, so they cover what it adds too.
        removed: dict[str, dict[str, None]] = {table: {} for table in TABLES}  # ordered sets
        queued = {o.id for o in changes.outbox}
        removed["outbox"].update(dict.fromkeys(i for i in changes.drop_outbox if i in self.outbox or i in queued))
        for given in changes.purge_reports:
            removed["reports"][given.id] = None
            for table in ATTACHED:
                added = (r.id for r in getattr(changes, table) if r.report_id == given.id)
                removed[table].update(dict.fromkeys(itertools.chain(self._ids((f"{table}_of", given.id)), added)))
        return {table: list(ids) for table, ids in removed.items() if ids}

    def apply(self, changes: Changes, removed: Removed) -> None:
        """Store every record of `changes`, then remove what `check` said it removes."""
        for _, records in by_table(changes):
            for record in records:
                self.put(record)
        self.remove(removed)

    def put(self, record: Record) -> None:
        """Insert or replace one record and update the indexes."""
        records = self.records(TABLE_OF[type(record)])
        old = records.get(record.id)
        records[record.id] = record
        self._order.setdefault((type(record), record.id), next(self._arrival))
        # Only the lists that changed are touched, so a record keeps its place on the others.
        before = self._listings(old) if old else set()
        after = self._listings(record)
        for listing in before - after:
            self._unlist(listing, record.id)
        for listing in after - before:
            self._lists.setdefault(listing, {})[record.id] = None
        self._rank(record, old)
        if isinstance(record, Report):
            if old is not None:
                self._by_reference.pop(old.reference, None)
            self._by_reference[record.reference] = record.id
        elif isinstance(record, Evidence):
            self._by_source.add((record.report_id, record.source_id))
        elif isinstance(record, ReminderPress) and old is None:
            self._pressed.add(self._press_key(record))
            self._press_counts.setdefault(record.reminder_id, Counter())[record.button] += 1
        elif isinstance(record, ReminderRun) and old is None:
            self._run_counts[record.reminder_id] += 1

    def remove(self, removed: Mapping[str, Iterable[str]]) -> None:
        """Remove records by table and id, with every index entry; unknown ids are skipped."""
        for table, ids in removed.items():
            records = self.records(table)
            for record_id in ids:
                record = records.pop(record_id, None)
                if record is None:
                    continue
                for listing in self._listings(record):
                    self._unlist(listing, record_id)
                for ranking in self._ranks(record):  # before its arrival goes: an open report's key holds it
                    self._unrank(ranking, record_id)
                del self._order[type(record), record_id]
                if isinstance(record, Report) and self._by_reference.get(record.reference) == record_id:
                    del self._by_reference[record.reference]
                elif isinstance(record, Evidence):
                    self._by_source.discard((record.report_id, record.source_id))

    def records(self, table: str) -> dict[str, Any]:
        """The records of one table by id (the live dict: callers must hold the store's lock)."""
        records: dict[str, Any] = getattr(self, table)
        return records

    def _listings(self, record: Record) -> set[Listing]:
        """The lists a record is on: each is the index of a query."""
        if isinstance(record, Report):
            listings = {("by_reporter", self._keyed_hash("reporter_id", record.reporter_id))}
            if record.is_open and record.subject_id is not None:
                listings.add(("open_about", self._keyed_hash("subject_id", record.subject_id)))
            return listings
        if isinstance(record, OutboxItem):
            listings = {("pending", "")} if record.pending else set()
            if record.report_id:  # "" for reminder posts, which belong to no report
                listings.add(("outbox_of", record.report_id))
            if record.run_id:
                listings.add(("outbox_of_run", record.run_id))
            return listings
        if isinstance(record, (Note, Evidence, AuditEvent)):
            return {(f"{TABLE_OF[type(record)]}_of", record.report_id)}
        if isinstance(record, ReminderRun):
            return {("runs_of", record.reminder_id)}
        return set()

    def _ranks(self, record: Record) -> dict[Ranking, Key]:
        """The sorted indexes a record is in, with its key in each: what ranged queries read.

        Every key holds a status, a time, a counter or an id: nothing sealed is ever needed to rank.
        """
        if isinstance(record, Report):
            if record.is_open:
                ranks = {("open", 0): (record.created_at, self._order[Report, record.id], record.id)}
                if not record.acknowledged:  # one index per count: each has its own next window
                    ranks[("unacknowledged", record.escalations)] = (record.created_at, record.id)
                return ranks
            if record.legal_hold or record.closed_since is None:
                return {}
            waiting = "to_warn" if record.retention_warned_at is None else "to_purge"
            return {(waiting, 0): (record.closed_since, record.id)}
        if isinstance(record, OutboxItem) and not record.pending and record.delivered_at is not None:
            return {("delivered", record.kind): (record.delivered_at, self._order[OutboxItem, record.id], record.id)}
        if isinstance(record, Reminder) and record.active and record.next_run is not None:
            return {("due_reminders", 0): (record.next_run, record.id)}
        return {}

    def _rank(self, record: Record, old: Record | None) -> None:
        before = self._ranks(old) if old is not None else {}
        after = self._ranks(record)
        for ranking in before.keys() - after.keys():
            self._unrank(ranking, record.id)
        for ranking, key in after.items():
            self._sorted.setdefault(ranking, SortedIndex()).put(record.id, key)

    def _unrank(self, ranking: Ranking, record_id: str) -> None:
        index = self._sorted[ranking]
        index.discard(record_id)
        if not len(index):
            del self._sorted[ranking]  # escalation counts come and go: keep only those in use

    def _ranked(self, ranking: Ranking) -> SortedIndex:
        return self._sorted.get(ranking) or SortedIndex()

    def _unlist(self, listing: Listing, record_id: str) -> None:
        ids = self._lists[listing]
        del ids[record_id]
        if not ids:
            del self._lists[listing]  # keys are ids of removed reports too: do not keep them

    def _ids(self, listing: Listing) -> Iterable[str]:
        return self._lists.get(listing, {})

    def _press_key(self, press: ReminderPress) -> tuple[str, str, str]:
        return press.run_id, press.button, self._keyed_hash("presser_id", press.presser_id)

    # --- queries

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference."""
        report_id = self._by_reference.get(reference)
        return self.reports.get(report_id) if report_id else None

    def reports_by_reporter(self, reporter_id: str, since: datetime | None = None) -> list[Report]:
        """A reporter's reports (created after `since`, if given), newest first."""
        ids = self._ids(("by_reporter", self._keyed_hash("reporter_id", reporter_id)))
        # The reporter_id comparison guards against a (vanishingly unlikely) keyed-hash collision.
        # Filtered before sorting: the per-person limit asks on every submission for the last day only.
        found = [self.reports[i] for i in ids if self.reports[i].reporter_id == reporter_id
                 and (since is None or self.reports[i].created_at > since)]
        return self._oldest_first(found, "created_at")[::-1]

    def open_reports(self, limit: int | None = None, not_about: str | None = None) -> list[Report]:
        """Reports not resolved or closed, oldest first (ties in arrival order), without those about `not_about`."""
        found = (self.reports[key[-1]] for key in self._ranked(("open", 0)))
        if not_about is not None:
            found = (r for r in found if r.subject_id != not_about)
        return list(itertools.islice(found, limit))

    def open_report_count(self, not_about: str | None = None) -> int:
        """How many reports are open, without those about `not_about`."""
        count = len(self._ranked(("open", 0)))
        if not_about is None:
            return count
        about = self._ids(("open_about", self._keyed_hash("subject_id", not_about)))
        return count - sum(1 for i in about if self.reports[i].subject_id == not_about)

    def escalation_due(self, now: datetime, window: timedelta, limit: int, after: Report | None) -> list[Report]:
        """Open, unacknowledged reports whose next escalation window has ended on the clock by `now`."""
        start = None if after is None else (after.created_at, after.id)
        due: list[Iterator[Key]] = []
        for (name, escalations), index in self._sorted.items():
            if name == "unacknowledged":
                try:
                    created_by = now - (escalations + 1) * window
                except OverflowError:
                    continue  # a window ending before time began: none of these is due
                due.append(index.upto((created_by, LAST), start))
        return [self.reports[key[-1]] for key in itertools.islice(heapq.merge(*due), limit)]

    def reports_to_warn(self, closed_before: datetime, limit: int) -> list[Report]:
        """Closed, unheld, unwarned reports closed at or before `closed_before`, earliest closed first."""
        keys = self._ranked(("to_warn", 0)).upto((closed_before, LAST))
        return [self.reports[key[-1]] for key in itertools.islice(keys, limit)]

    def reports_to_purge(self, closed_before: datetime, warned_before: datetime, limit: int) -> list[Report]:
        """Closed, unheld reports closed at or before `closed_before` and warned at or before `warned_before`."""
        closed = (self.reports[key[-1]] for key in self._ranked(("to_purge", 0)).upto((closed_before, LAST)))
        # Warnings go out a fixed time after closing, so few closed long enough ago were warned lately.
        warned = (r for r in closed if r.retention_warned_at is not None and r.retention_warned_at <= warned_before)
        return list(itertools.islice(warned, limit))

    def all_reports(self) -> list[Report]:
        """Every report, oldest first."""
        return self._oldest_first(self.reports.values(), "created_at")

    def notes_of(self, report_id: str) -> list[Note]:
        """A case's notes, oldest first."""
        return self._oldest_first((self.notes[i] for i in self._ids(("notes_of", report_id))), "at")

    def evidence_of(self, report_id: str) -> list[Evidence]:
        """A case's files, oldest first; ties by id, an order any store can reproduce."""
        found = (self.evidence[i] for i in self._ids(("evidence_of", report_id)))
        return sorted(found, key=lambda e: (e.received_at, e.id))

    def audit_of(self, report_id: str) -> list[AuditEvent]:
        """A case's audit trail, oldest first."""
        return self._oldest_first((self.audit[i] for i in self._ids(("audit_of", report_id))), "at")

    def outbox_of(self, report_id: str) -> list[OutboxItem]:
        """A case's outbox items, in the order they were first queued."""
        return [self.outbox[i] for i in self._ids(("outbox_of", report_id))]

    def outbox_of_run(self, run_id: str) -> list[OutboxItem]:
        """A reminder send's outbox items, in the order they were first queued."""
        return [self.outbox[i] for i in self._ids(("outbox_of_run", run_id))]

    def due_outbox(self, now: datetime, limit: int) -> list[OutboxItem]:
        """Undelivered items due at or before `now`, in claim order (ClaimOrder, then oldest due first)."""
        pending = (self.outbox[i] for i in self._ids(("pending", "")))
        return heapq.nsmallest(limit, (o for o in pending if o.due_at <= now), key=self._claim_key)

    def claimable(self, now: datetime, limit: int, platforms: Container[str]) -> list[OutboxItem]:
        """Items of these platforms a worker may claim now, in claim order: due pending ones, and lapsed claims."""
        pending = (self.outbox[i] for i in self._ids(("pending", "")))
        free = (o for o in pending if o.platform in platforms and _free(o, now))
        return heapq.nsmallest(limit, free, key=self._claim_key)

    def _claim_key(self, item: OutboxItem) -> tuple[int, datetime, int]:
        # Ranked first by kind, so a fan-out of reminder posts never holds up a lead alert queued after it.
        return ClaimOrder.of(item.kind), item.due_at, self._order[OutboxItem, item.id]

    def delivered_outbox(self, kind: Delivery, before: datetime, limit: int) -> list[OutboxItem]:
        """Delivered items of one kind with delivered_at before `before`, oldest delivered first."""
        keys = self._ranked(("delivered", kind)).below((before,))  # (before,) sorts before every key at `before`
        return [self.outbox[key[-1]] for key in itertools.islice(keys, limit)]

    def conversation(self, target: str) -> ConversationRef | None:
        """The conversation reference for a platform-qualified user or channel id."""
        found = self.conversations.get(conversation_id_of(target))
        return found if found is not None and found.target == target else None

    def all_reminders(self) -> list[Reminder]:
        """Every reminder, oldest created first."""
        return self._oldest_first(self.reminders.values(), "created_at")

    def due_reminders(self, now: datetime, limit: int, after: Reminder | None) -> list[Reminder]:
        """Active reminders whose next run is at or before `now`, earliest first, after `after`."""
        start = None if after is None or after.next_run is None else (after.next_run, after.id)
        keys = self._ranked(("due_reminders", 0)).upto((now, LAST), start)
        return [self.reminders[key[-1]] for key in itertools.islice(keys, limit)]

    def run_count(self, reminder_id: str) -> int:
        """How many sends of a reminder were claimed."""
        return self._run_counts[reminder_id]

    def runs_of(self, reminder_id: str) -> list[ReminderRun]:
        """A reminder's claimed sends, oldest claimed first."""
        return self._oldest_first((self.runs[i] for i in self._ids(("runs_of", reminder_id))), "claimed_at")

    def press_counts(self, reminder_id: str) -> dict[PressKind, int]:
        """Presses of each button over all of a reminder's sends; every button is present."""
        counts = self._press_counts.get(reminder_id, Counter())
        return {kind: counts[kind] for kind in PressKind}

    def all_purges(self) -> list[PurgeRecord]:
        """Every purge record, oldest purged first."""
        return self._oldest_first(self.purges.values(), "purged_at")

    def _oldest_first(self, records: Iterable[R], when: str) -> list[R]:
        """`records` by the time in field `when`, ties in arrival order."""
        at = attrgetter(when)
        return sorted(records, key=lambda r: (at(r), self._order[type(r), r.id]))


def _free(item: OutboxItem, now: datetime) -> bool:
    if item.state is OutboxState.SENDING:
        return item.claimed_until is None or item.claimed_until <= now
    return item.due_at <= now


def _check_versions(kind: str, records: Sequence[Report | Reminder], stored: Mapping[str, Report | Reminder]) -> None:
    # Optimistic concurrency: version 1 must be new, version n must follow the stored n - 1.
    _unique(kind, (r.id for r in records))
    for record in records:
        current = stored.get(record.id)
        stored_version = current.version if current else 0
        if record.version != stored_version + 1:
            raise Conflict(
                f"{kind} {record.id} is at version {stored_version}; "
                f"version {record.version} cannot follow it"
            )


def _once(kind: str, keyed: Iterable[tuple[str, Hashable]], stored: Container[Any], why: str) -> None:
    # Each key may be neither stored already nor given twice.
    seen: set[Hashable] = set()
    for record_id, key in keyed:
        if key in stored or key in seen:
            raise Conflict(f"{kind} {record_id}: {why}")
        seen.add(key)


def _unique(kind: str, ids: Iterable[str]) -> None:
    _once(kind, ((i, i) for i in ids), (), "appears twice in one commit")

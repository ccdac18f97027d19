"""Moving up: copy a data folder's store into another store (PostgreSQL) through the Store port, then verify it.

The source is read in full (a read-only store is in memory anyway); the target is written and read
back only through the Store port, so any store can be the target. Each report goes over with its
notes, evidence, audit trail and outbox items in one commit, and each reminder with its sends,
presses and posts, so an interrupted copy leaves whole cases: running it again finds where it
stopped and goes on. The port accepts a report at version n only on top of version n - 1, so a
record at version n is brought up through n commits of its final content (batched across records).
Outbox items keep their states and claims: an item a worker held is taken over by the new
instances when its lease lapses, and looked up on the platform before being sent again.

A target holding anything this copy would not have written (another organisation's reports, a
reminder an instance seeded there, a report changed since) is refused, with what was found.
Verification compares every record's digest (SHA-256 of its fields, as stored) on both sides, per
table, and each file's bytes read back from the target against its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from bot.domain.errors import StaffSafeError
from bot.domain.ports import Changes, Store
from bot.domain.reminder import PressKind, Reminder
from bot.domain.report import Evidence, OutboxItem, Report
from bot.domain.ui import counted
from bot.store.base import TablesStore
from bot.store.codec import TABLES, Record, to_doc

BATCH_RECORDS = 500  # records per commit: big enough to be quick, small enough for any transaction
READERS = 4  # target reads in parallel while verifying (a database answers several at once)
PROGRESS_SECONDS = 5.0  # at most one progress line this often

V = TypeVar("V", Report, Reminder)


class MigrationRefused(StaffSafeError):
    """The target holds something this copy would not have written: nothing was copied."""


def record_digest(record: Record) -> str:
    """SHA-256 of a record's fields as stored (canonical JSON): equal digests, equal records."""
    doc = json.dumps(to_doc(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(doc.encode()).hexdigest()


def table_digest(digests: dict[str, str]) -> str:
    """SHA-256 over a table's record ids and digests, in id order: one value to compare per table."""
    lines = "".join(f"{record_id}:{digest}\n" for record_id, digest in sorted(digests.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass(frozen=True)
class TableCheck:
    """One table compared: its records in the source and in the target, and what differs (ids only)."""

    table: str
    source: int
    target: int
    digest: str  # of the source's records; the target's is the same when `problems` is empty
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the target holds exactly the source's records."""
        return not self.problems and self.source == self.target


@dataclass(frozen=True)
class Migration:
    """What a run copied and what the check found."""

    copied: dict[str, int]  # records written by this run, per table
    resumed: bool  # the target held part of this copy already
    checks: tuple[TableCheck, ...]
    files_checked: int  # evidence files whose bytes were read back and hashed

    @property
    def ok(self) -> bool:
        """Whether every table checked out."""
        return all(check.ok for check in self.checks)


@dataclass
class _Source:
    """The source's records by table, in the order they arrived, grouped as they are copied."""

    tables: dict[str, list[Any]]
    by_report: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # report id -> table -> records
    by_reminder: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    loose_outbox: list[OutboxItem] = field(default_factory=list)  # items of neither a report nor a send

    @classmethod
    def read(cls, store: TablesStore) -> _Source:
        """Every record of `store`, each attached record grouped under the report or reminder it hangs off."""
        tables = {table: store.records(table) for table in TABLES}
        source = cls(tables=tables)
        reports = {r.id for r in tables["reports"]}
        reminders = {r.id for r in tables["reminders"]}
        runs = {run.id: run.reminder_id for run in tables["runs"]}
        for table in ("notes", "evidence", "audit"):
            for record in tables[table]:
                source.by_report.setdefault(record.report_id, {}).setdefault(table, []).append(record)
        for item in tables["outbox"]:
            if item.report_id in reports:
                source.by_report.setdefault(item.report_id, {}).setdefault("outbox", []).append(item)
            elif runs.get(item.run_id) in reminders:
                source.by_reminder.setdefault(runs[item.run_id], {}).setdefault("outbox", []).append(item)
            else:
                source.loose_outbox.append(item)
        for table in ("runs", "presses"):
            for record in tables[table]:
                source.by_reminder.setdefault(record.reminder_id, {}).setdefault(table, []).append(record)
        return source


def migrate(source: TablesStore, target: Store, *, say: Callable[[str], None] = lambda line: None) -> Migration:
    """Copy everything in `source` into `target` (empty, or holding part of this same copy), then verify.

    `say` gets a line of progress now and then (never content). Raises MigrationRefused before
    writing anything if the target holds something else.
    """
    say = _every(PROGRESS_SECONDS, say)
    src = _Source.read(source)
    reports = _check_versioned("report", src.tables["reports"], target.all_reports())
    reminders = _check_versioned("reminder", src.tables["reminders"], target.reminders())
    _check_purges(src, target)
    resumed = bool(reports or reminders or target.purges())
    copied: dict[str, int] = defaultdict(int)

    def commit(changes: Changes, *, new: bool = True) -> None:
        for evidence in changes.evidence:
            copy_evidence_bytes(source, target, evidence)
        target.commit(changes)
        for table in TABLES:
            copied[table] += len(getattr(changes, table)) if new else 0

    new_reports = [r for r in src.tables["reports"] if r.id not in reports]
    for batch in _batches(new_reports, lambda r: 1 + sum(len(v) for v in src.by_report.get(r.id, {}).values())):
        commit(_bundle(src.by_report, batch, reports=tuple(replace(r, version=1) for r in batch)))
        say(f"reports: {len(reports) + copied['reports']:,} of {len(src.tables['reports']):,} copied")
    _bring_up(commit, "reports", src.tables["reports"], {**{r.id: 1 for r in new_reports}, **reports})
    new_reminders = [r for r in src.tables["reminders"] if r.id not in reminders]
    for batch in _batches(new_reminders, lambda r: 1 + sum(len(v) for v in src.by_reminder.get(r.id, {}).values())):
        commit(_bundle(src.by_reminder, batch, reminders=tuple(replace(r, version=1) for r in batch)))
    _bring_up(commit, "reminders", src.tables["reminders"], {**{r.id: 1 for r in new_reminders}, **reminders})
    stored_purges = {p.id for p in target.purges()}
    for batch in _batches([p for p in src.tables["purges"] if p.id not in stored_purges]):
        commit(Changes(purges=tuple(batch)))
    conversations = [c for c in src.tables["conversations"] if target.conversation(c.target) != c]
    for batch in _batches(conversations):
        commit(Changes(conversations=tuple(batch)))
    for batch in _batches([o for o in src.loose_outbox if target.outbox_item(o.id) != o]):
        commit(Changes(outbox=tuple(batch)))
    say("copied; checking every record against the data folder", True)
    checks, files = verify(source, target, src, say=say)
    return Migration(copied=dict(copied), resumed=resumed, checks=checks, files_checked=files)


def copy_evidence_bytes(source: Store, target: Store, evidence: Evidence) -> None:
    """Stream one file's bytes from the source into the target, before the commit that names them.

    The target measures them as they arrive, and its commit refuses the record if size or SHA-256 differ.
    """
    target.write_evidence_blob(evidence.report_id, evidence.id, source.open_evidence(evidence.report_id, evidence.id))


def evidence_sha256(store: Store, evidence: Evidence) -> str:
    """SHA-256 of a file's bytes as the store streams them back."""
    digest = hashlib.sha256()
    for chunk in store.open_evidence(evidence.report_id, evidence.id):
        digest.update(chunk)
    return digest.hexdigest()


def _bundle(attached: dict[str, dict[str, list[Any]]], owners: Sequence[Report | Reminder], **records: Any) -> Changes:
    """One commit: the owners (reports or reminders) with everything hanging off them."""
    tables: dict[str, list[Any]] = defaultdict(list)
    for owner in owners:
        for table, hanging in attached.get(owner.id, {}).items():
            tables[table] += hanging
    return Changes(**records, **{table: tuple(found) for table, found in tables.items()})


def _bring_up(commit: Callable[..., None], table: str, records: Sequence[V], stored: dict[str, int]) -> None:
    """Commit each record again at each version above the stored one, up to its own, one level at a time."""
    level = 1 + min((stored[r.id] for r in records if stored[r.id] < r.version), default=0)
    top = max((r.version for r in records), default=0)
    while level <= top:
        due = [replace(r, version=level) for r in records if stored[r.id] < level <= r.version]
        for batch in _batches(due):
            commit(Changes(**{table: tuple(batch)}), new=False)
        level += 1


def _check_versioned(kind: str, source: Sequence[V], stored: Sequence[V]) -> dict[str, int]:
    """The target's versions of this copy's records; MigrationRefused if it holds anything else."""
    by_id = {r.id: r for r in source}
    foreign = [r.id for r in stored if r.id not in by_id or r.version > by_id[r.id].version
               or replace(r, version=by_id[r.id].version) != by_id[r.id]]
    if foreign:
        raise MigrationRefused(
            f"the database already holds {counted(len(foreign), kind)} that this data folder does not (or holds "
            f"differently): it is not empty, and not an interrupted copy of this folder either. Has a StaffSafe "
            f"instance run on it already? Copy into an empty database (e.g. `createdb staffsafe_new`), or drop "
            f"this one's tables first if nothing in it is needed.")
    return {r.id: r.version for r in stored}


def _check_purges(src: _Source, target: Store) -> None:
    known = {p.id for p in src.tables["purges"]}
    foreign = [p.id for p in target.purges() if p.id not in known]
    if foreign:
        raise MigrationRefused(
            f"the database already holds {counted(len(foreign), 'purge record')} that this data folder does not: "
            "it is not empty. Copy into an empty database.")


def _every(seconds: float, say: Callable[[str], None]) -> Callable[..., None]:
    """`say`, passing on a line only if the last was `seconds` ago (or `now` says so): progress, not a flood."""
    last = [-seconds]

    def throttled(line: str, now: bool = False) -> None:
        if now or time.monotonic() - last[0] >= seconds:
            last[0] = time.monotonic()
            say(line)
    return throttled


def _batches(records: Iterable[Any], weight: Callable[[Any], int] = lambda _: 1) -> Iterator[list[Any]]:
    """Consecutive groups of about BATCH_RECORDS records (a case with its notes weighs them all)."""
    batch: list[Any] = []
    held = 0
    for record in records:
        batch.append(record)
        held += weight(record)
        if held >= BATCH_RECORDS:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


# --- verification


def verify(source: TablesStore, target: Store, src: _Source | None = None, *,
           say: Callable[..., None] = lambda line, now=False: None) -> tuple[tuple[TableCheck, ...], int]:
    """Every table of `source` compared with `target`, read back through the port; and files hashed."""
    src = src or _Source.read(source)
    want = {table: {r.id: record_digest(r) for r in records} for table, records in src.tables.items()}
    got: dict[str, dict[str, str]] = {table: {} for table in TABLES}

    def keep(table: str, records: Iterable[Record]) -> None:
        got[table].update((r.id, record_digest(r)) for r in records)

    target_reports = target.all_reports()
    keep("reports", target_reports)
    report_ids = sorted({r.id for r in src.tables["reports"]} | {r.id for r in target_reports})
    files: list[Evidence] = []
    checked = 0
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="migrate-check") as readers:
        for notes, evidence, audit, outbox in readers.map(lambda i: (target.notes(i), target.evidence(i),
                                                                      target.audit(i), target.outbox_of(i)),
                                                           report_ids):
            keep("notes", notes)
            keep("evidence", evidence)
            keep("audit", audit)
            keep("outbox", outbox)
            files += evidence
            checked += 1
            say(f"cases checked: {checked:,} of {len(report_ids):,}")
        target_reminders = target.reminders()
        keep("reminders", target_reminders)
        reminder_ids = sorted({r.id for r in src.tables["reminders"]} | {r.id for r in target_reminders})
        runs = [run for found in readers.map(target.runs_of, reminder_ids) for run in found]
        keep("runs", runs)
        for items in readers.map(target.outbox_of_run, sorted({run.id for run in runs})):
            keep("outbox", items)
        keep("outbox", (o for o in readers.map(target.outbox_item, [o.id for o in src.loose_outbox]) if o))
        press_counts = dict(zip(reminder_ids, readers.map(target.press_counts, reminder_ids)))
        keep("conversations", (c for c in readers.map(target.conversation, [c.target for c in
                                                                             src.tables["conversations"]]) if c))
        keep("purges", target.purges())
        unreadable = _check_files(readers, target, files)
    checks = [_compare(table, want[table], got[table]) for table in TABLES if table != "presses"]
    checks.insert(list(TABLES).index("presses"), _compare_presses(src, want["presses"], press_counts))
    evidence = next(c for c in checks if c.table == "evidence")
    checks[checks.index(evidence)] = replace(evidence, problems=evidence.problems + unreadable)
    return tuple(checks), len(files)


def _check_files(readers: ThreadPoolExecutor, target: Store, files: Sequence[Evidence]) -> tuple[str, ...]:
    """Each file's bytes as the target gives them back, against the SHA-256 its record holds."""
    def wrong(record: Evidence) -> str:
        try:
            return "" if evidence_sha256(target, record) == record.sha256 else f"{record.id}: bytes differ"
        except StaffSafeError as error:
            return f"{record.id}: unreadable ({type(error).__name__})"
    return tuple(problem for problem in readers.map(wrong, files) if problem)


def _compare(table: str, want: dict[str, str], got: dict[str, str]) -> TableCheck:
    problems = [f"{i}: missing" for i in want if i not in got]
    problems += [f"{i}: not in the data folder" for i in got if i not in want]
    problems += [f"{i}: differs" for i in want if i in got and got[i] != want[i]]
    return TableCheck(table=table, source=len(want), target=len(got), digest=table_digest(want),
                      problems=tuple(problems))


def _compare_presses(src: _Source, want: dict[str, str], got: dict[str, dict[PressKind, int]]) -> TableCheck:
    """Presses are only counted back (the port reads no single press): per reminder and button."""
    expected: dict[str, dict[PressKind, int]] = {i: {kind: 0 for kind in PressKind} for i in got}
    for press in src.tables["presses"]:
        expected.setdefault(press.reminder_id, {kind: 0 for kind in PressKind})[press.button] += 1
    problems = tuple(f"{i}: press counts differ" for i in sorted(expected) if expected[i] != got.get(i))
    return TableCheck(table="presses", source=len(want), target=sum(sum(c.values()) for c in got.values()),
                      digest=table_digest(want), problems=problems)


# --- what the operator reads


def summary(migration: Migration) -> list[str]:
    """The copy and its check, for people: a table of counts per table, then the verdict (ids, never content)."""
    copied = sum(migration.copied.values())
    if migration.resumed and not copied:
        done = "The database already held this whole copy: nothing was written. Checked again:"
    elif migration.resumed:
        done = f"Went on with an interrupted copy: {counted(copied, 'record')} written by this run. Checked:"
    else:
        done = f"Copied: {counted(copied, 'record')} written. Checked:"
    lines = [done,
             f"{'':<14}{'data folder':>12}{'database':>10}  {'SHA-256 of the table':<22}"]
    for check in migration.checks:
        verdict = "same" if check.ok else "DIFFERENT"
        lines.append(f"{check.table:<14}{check.source:>12,}{check.target:>10,}  {check.digest[:20]}  {verdict}")
    lines.append("(Each record compared by the SHA-256 of its fields; each file's bytes read back and hashed; "
                 "presses, which the store reads back only as counts, counted per reminder and button.)")
    total = sum(check.source for check in migration.checks)
    if migration.ok:
        lines.append(f"Verified: the database holds exactly what the data folder holds ({counted(total, 'record')}; "
                     f"{counted(migration.files_checked, 'file')} read back and hashed).")
        return lines
    for check in migration.checks:
        for problem in check.problems[:10]:
            lines.append(f"  {check.table} {problem}")
        if len(check.problems) > 10:
            lines.append(f"  {check.table}: {len(check.problems) - 10} more")
    lines.append("NOT verified: the database does not hold exactly what the data folder holds (listed above). "
                 "Do not switch over yet: run `staffsafe migrate` again (it goes on where it stopped); if it "
                 "still differs, copy into a new, empty database.")
    return lines

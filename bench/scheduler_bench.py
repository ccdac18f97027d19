"""Benchmark: one scheduler pass (`handlers.scheduled.run_due_work`) at 1,000, 10,000 and 100,000 stored reports.

Not a test. Run by `make bench-store` (or `.venv/bin/python -m bench.scheduler_bench`); it prints a table
and replaces the scheduler-bench section of bench/RESULTS.md. The data folder for each size is built
with bulk commits (2,000 reports a commit), compacted, closed and opened again, so the pass runs on
what a restarted server holds. Stock TinyDB answers the same four questions over the same reports
stored as plain documents, with a query each (it has no indexes: every query reads every document).
SCHEDULER_BENCH_SIZES=1000,10000 picks other sizes for a quick look.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tinydb import TinyDB

from bench import results
from bench.store_bench import a_report, folder_bytes, percentile
from bot.content import load_content
from bot.crypto import Keyring, new_key
from bot.domain.guidance import GuidanceEngine
from bot.domain.org import Organisation
from bot.domain.policy import Policy
from bot.domain.ports import Changes
from bot.domain.reminder import Reminder
from bot.domain.report import OPEN_STATUSES, AuditEvent, Delivery, OutboxItem, OutboxState, Report, Status, new_id
from bot.store.codec import to_doc
from bot.store.tinydb_store import TinyDBStore
from handlers.scheduled import PassResult, run_due_work
from handlers.services import Services
from testkit.builders import a_reminder
from testkit.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[1]
SIZES = tuple(int(s) for s in os.environ.get("SCHEDULER_BENCH_SIZES", "1000,10000,100000").split(","))
PASSES = 50  # timed passes per size
OLD_READS = 5  # timed reads of what a pass read before targeted reads
STOCK_PASSES = {1_000: 20, 10_000: 5, 100_000: 2}
BATCH = 2_000
REMINDERS = 20
START, END = "<!-- scheduler-bench:start -->", "<!-- scheduler-bench:end -->"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
POLICY = Policy(escalation_hours=24, retention_days=365)
ORG = Organisation(name="Bench Academy", leads=frozenset({"slack:ULEAD"}))


@dataclass(frozen=True)
class Row:
    """Timings at one size."""

    size: int
    open_reports: int
    build_s: float
    open_s: float
    folder_bytes: int
    pass_median_ms: float
    pass_p99_ms: float
    old_reads_ms: float
    stock_median_ms: float
    stock_passes: int


def stored_report(n: int) -> Report:
    """Report `n` of a store in its steady state, as the scheduler finds it between due times.

    Of every 100: 2 open and handled, 1 closed long ago under a legal hold, 97 closed within the
    retention year (none yet due a warning); and 5 in all are waiting for a lead, within their window.
    """
    base = a_report(n)
    kind = n % 100
    if n < 5:
        return replace(base, created_at=NOW - timedelta(hours=2 + n))
    if kind < 2:
        return replace(base, created_at=NOW - timedelta(days=1 + n % 30), status=Status.IN_PROGRESS,
                       handler_id="slack:ULEAD", updated_at=NOW - timedelta(hours=1))
    closed = NOW - timedelta(days=(400 + n % 300) if kind == 2 else 1 + n % 350, minutes=n % 1440)
    return replace(base, created_at=closed - timedelta(days=10), status=Status.CLOSED, handler_id="slack:ULEAD",
                   updated_at=closed, closed_at=closed, legal_hold=kind == 2)


def stored_changes(start: int, stop: int) -> Changes:
    """Reports start..stop with their delivered lead alerts and submit audit events."""
    reports = tuple(stored_report(n) for n in range(start, stop))
    return Changes(
        reports=reports,
        outbox=tuple(OutboxItem(id=new_id(), kind=Delivery.LEAD_ALERT, report_id=r.id, due_at=r.created_at,
                                platform="slack", state=OutboxState.SENT, delivered_at=r.created_at)
                     for r in reports),
        audit=tuple(AuditEvent(id=new_id(), report_id=r.id, actor_id=r.reporter_id, action="report.submit",
                               at=r.created_at) for r in reports),
    )


def reminders() -> tuple[Reminder, ...]:
    """Awareness reminders, each next due tomorrow morning."""
    return tuple(a_reminder(next_run=NOW + timedelta(hours=24 + i)) for i in range(REMINDERS))


def build(data: Path, size: int, keyring: Keyring) -> float:
    """Fill a data folder with `size` reports in bulk commits; seconds taken."""
    began = time.perf_counter()
    with TinyDBStore.open(data, keyring) as store:
        store.commit(Changes(reminders=reminders()))
        for start in range(0, size, BATCH):
            store.commit(stored_changes(start, min(size, start + BATCH)))
        store.compact()
    return time.perf_counter() - began


def timed(work: Callable[[], Any], times: int) -> list[float]:
    """Milliseconds each of `times` calls of `work` took."""
    timings = []
    for _ in range(times):
        began = time.perf_counter()
        work()
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def bench_store(size: int, work: Path, keyring: Keyring, services: Callable[[TinyDBStore], Services]) -> Row:
    """Build, reopen, then time passes with nothing due, and the reads a pass made before."""
    data = work / f"store-{size}"
    build_s = build(data, size, keyring)
    began = time.perf_counter()
    store = TinyDBStore.open(data, keyring)
    open_s = time.perf_counter() - began
    try:
        run = services(store)

        def one_pass() -> None:
            assert run_due_work(run, POLICY) == PassResult(), "the bench's data has nothing due"

        passes = timed(one_pass, PASSES)
        old = timed(lambda: (store.all_reports(), store.open_reports(), store.reminders()), OLD_READS)
        open_count = store.open_report_count()
    finally:
        store.close()
    return Row(size=size, open_reports=open_count, build_s=build_s, open_s=open_s, folder_bytes=folder_bytes(data),
               pass_median_ms=statistics.median(passes), pass_p99_ms=percentile(passes, 99),
               old_reads_ms=statistics.median(old), stock_median_ms=0.0, stock_passes=0)


def stock_questions(now: datetime) -> tuple[Callable[[dict[str, Any]], bool], ...]:
    """The pass's report questions as stock TinyDB tests over plain documents (ISO times in UTC compare as text)."""
    window = timedelta(hours=POLICY.escalation_hours)
    retention, warning = timedelta(days=POLICY.retention_days), timedelta(days=7)
    warn_by, purge_by, warned_by = ((now - retention + warning).isoformat(), (now - retention).isoformat(),
                                    (now - warning).isoformat())
    open_values = {s.value for s in OPEN_STATUSES}

    def closed_since(doc: dict[str, Any]) -> str | None:
        if doc["status"] in open_values or doc["legal_hold"]:
            return None
        return str(doc["closed_at"] or doc["updated_at"] or doc["created_at"])

    def to_escalate(doc: dict[str, Any]) -> bool:
        return doc["status"] in open_values and doc["handler_id"] is None and (
            datetime.fromisoformat(doc["created_at"]) + (doc["escalations"] + 1) * window <= now)

    def to_warn(doc: dict[str, Any]) -> bool:
        since = closed_since(doc)
        return since is not None and doc["retention_warned_at"] is None and since <= warn_by

    def to_purge(doc: dict[str, Any]) -> bool:
        since, warned = closed_since(doc), doc["retention_warned_at"]
        return since is not None and warned is not None and since <= purge_by and warned <= warned_by

    return to_escalate, to_warn, to_purge


def bench_stock(size: int, work: Path) -> tuple[float, int]:
    """Median ms of the same pass's questions on stock TinyDB holding the same reports; passes timed."""
    path = work / f"stock-{size}.json"
    with TinyDB(path) as db:
        db.insert_multiple(to_doc(stored_report(n)) for n in range(size))
        db.table("reminders").insert_multiple(to_doc(r) for r in reminders())
    times = STOCK_PASSES[size]
    with TinyDB(path) as db:
        reports, stored_reminders = db.table("_default"), db.table("reminders")

        def one_pass() -> None:
            # Fresh callables each pass, as each pass has its own time: TinyDB's query cache never answers.
            due = NOW.isoformat()
            found = stored_reminders.search(lambda doc: not (doc["paused"] or doc["deleted"])
                                            and doc["next_run"] is not None and doc["next_run"] <= due)
            for question in stock_questions(NOW):
                found += reports.search(question)
            assert not found, "stock TinyDB found due work the bench's data should not have"

        timings = timed(one_pass, times)
    return statistics.median(timings), times


def run() -> list[Row]:
    """Measure every size, both stores."""
    keyring = Keyring(keys=[new_key()])
    content = load_content()
    clock = FakeClock(NOW)

    def services(store: TinyDBStore) -> Services:
        return Services(store=store, content=content, clock=clock, org=ORG, guidance=GuidanceEngine(content=content))

    rows = []
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-", dir=ROOT / "bench") as tmp:
        work = Path(tmp)
        for size in SIZES:
            row = bench_store(size, work, keyring, services)
            stock_ms, stock_passes = bench_stock(size, work)
            row = replace(row, stock_median_ms=stock_ms, stock_passes=stock_passes)
            rows.append(row)
            print(f"{size:>7} reports: pass {row.pass_median_ms:.3f} ms (p99 {row.pass_p99_ms:.3f}), "
                  f"reads before {row.old_reads_ms:.1f} ms, stock TinyDB {stock_ms:.0f} ms; "
                  f"built in {row.build_s:.0f} s, opened in {row.open_s:.1f} s", flush=True)
            for leftover in work.iterdir():  # 100,000 reports take ~0.3 GB on disk: free it before the next size
                if leftover.is_dir():
                    for file in leftover.iterdir():
                        file.unlink()
                    leftover.rmdir()
                else:
                    leftover.unlink()
    return rows


def section(rows: list[Row], seconds: float) -> str:
    """The Markdown section for RESULTS.md."""
    small, big = rows[0], rows[-1]
    growth = big.pass_median_ms / small.pass_median_ms
    lines = [
        START,
        "## Store: a scheduler pass (`bench/scheduler_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"run time {seconds:.0f} s; load average at the end {os.getloadavg()[0]:.1f} "
        "(the machine is shared: figures are indicative).",
        "",
        "Per pass: `handlers.scheduled.run_due_work` (due reminders, escalations, retention warnings and "
        "purges, pruning of delivered reminder posts) on TinyDBStore, reopened after a bulk build, at a "
        f"time when nothing is due (the steady state between due times); {PASSES} passes per size. "
        "Of every 100 stored reports 2 are open and handled, 1 is closed long ago under a legal hold, 97 "
        "were closed within the retention year; 5 in all wait for a lead within their escalation window; "
        f"{REMINDERS} reminders are next due tomorrow. Each report has its delivered lead alert and audit event. "
        "*Reads before* = `all_reports` + `open_reports` + `reminders`, what every pass read before the "
        "targeted reads (a floor on its cost). Stock TinyDB = `TinyDB(path)` holding the same reports as "
        "plain documents, asked the same questions with one `search` each (no index: each reads the "
        "whole file and tests every document).",
        "",
        "| stored reports | open | pass median | pass p99 | reads before | stock TinyDB pass (passes) "
        "| data folder | build | open |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size:,} | {r.open_reports:,} | {r.pass_median_ms:.3f} ms | {r.pass_p99_ms:.3f} ms "
            f"| {r.old_reads_ms:.1f} ms | {r.stock_median_ms:,.0f} ms ({r.stock_passes}) "
            f"| {r.folder_bytes / 1e6:.0f} MB | {r.build_s:.0f} s | {r.open_s:.1f} s |"
        )
    lines += [
        "",
        f"Goal: a pass at {big.size:,} reports within 2x of its cost at {small.size:,}: {growth:.2f}x "
        f"({'met' if growth <= 2 else 'NOT met'}).",
        "",
        "Build = bulk commits of 2,000 reports and a compaction; open = opening the folder again (read the "
        "snapshot, decrypt and check every record, build the indexes): the only time the store decrypts.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark and record it."""
    began = time.perf_counter()
    rows = run()
    text = section(rows, time.perf_counter() - began)
    results.write_section(text, start=START, end=END)
    print(text)


if __name__ == "__main__":
    main()

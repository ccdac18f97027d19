"""Benchmark: report submission with TinyDBStore against stock TinyDB, at 1,000, 10,000 and 100,000 reports.

Not a test. Run `make bench-store`; it prints a table and replaces the store-bench section of
bench/RESULTS.md, then runs the PostgreSQL store's bench (bench/postgres_bench.py), which does the same
with its own section. Each TinyDBStore submit goes through the submit handler
(answers checked, report + alert + receipt + audit event sealed, one journal line, fsynced); each stock TinyDB submit is
one `insert` of the same report as a plain document (JSONStorage rewrites and fsyncs the file).
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from tinydb import TinyDB

from bot.crypto import Keyring, new_key
from bot.domain.report import (
    Adult,
    AuditEvent,
    Delivery,
    Nature,
    OutboxItem,
    Perpetrator,
    Report,
    Want,
    new_id,
    new_reference,
)
from bot.content import load_content
from bot.domain.content import Content
from bot.domain.guidance import GuidanceEngine
from bot.domain.limits import Limits
from bot.domain.org import Actor, Organisation
from bot.domain.ports import Changes, SystemClock
from bot.store.codec import to_doc
from bot.store.tinydb_store import TinyDBStore
from handlers.reports import submit_report
from handlers.services import Services
from bench import results

ROOT = Path(__file__).resolve().parents[1]

SIZES = (1_000, 10_000, 100_000)
STORE_SAMPLES = 200
STOCK_SAMPLES = {1_000: 100, 10_000: 30, 100_000: 5}  # stock TinyDB rewrites its whole file per insert
PREFILL_BATCH = 500
START, END = "<!-- store-bench:start -->", "<!-- store-bench:end -->"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
ORG = Organisation(name="Bench Academy", leads=frozenset({"slack:ULEAD"}))


@dataclass(frozen=True)
class Row:
    """Timings at one size."""

    size: int
    store_median_ms: float
    store_p99_ms: float
    store_bytes: int
    store_open_ms: float
    stock_median_ms: float
    stock_p99_ms: float
    stock_samples: int
    stock_bytes: int


def a_report(n: int) -> Report:
    """A realistic report: a paragraph of text, two links, one of 50 reporters."""
    return Report(
        id=new_id(),
        reference=new_reference(),
        reporter_id=f"slack:U{n % 50:08d}",
        reporter_name="Sam Jones",
        named_to_leads=True,
        what_happened="A parent posted my photo on a local group with insulting comments. " * 6,
        where="facebook",
        urls=("https://facebook.com/groups/1/posts/2", "https://facebook.com/photo/3"),
        first_seen=date(2026, 11, 20),
        occasions=2,
        perpetrator=Perpetrator.LINKED,
        adult=Adult.YES,
        natures=frozenset({Nature.ABUSIVE, Nature.PRIVATE_INFO}),
        evidence_saved=True,
        wants=frozenset({Want.REMOVED, Want.SUPPORT}),
        created_at=T0 + timedelta(seconds=n),
    )


def submission(report: Report) -> Changes:
    """What the submit handler commits."""
    return Changes(
        reports=(report,),
        outbox=(OutboxItem(id=new_id(), kind=Delivery.LEAD_ALERT, report_id=report.id, due_at=report.created_at),),
        audit=(AuditEvent(id=new_id(), report_id=report.id, actor_id=report.reporter_id,
                          action="report.submit", at=report.created_at),),
    )


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def folder_bytes(path: Path) -> int:
    """Total size of the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def form_answers() -> dict[str, object]:
    """The report form filled in as a user would: the same report as `a_report`."""
    return {
        "what_happened": "A parent posted my photo on a local group with insulting comments. " * 6,
        "where": "facebook",
        "urls": ["https://facebook.com/groups/1/posts/2", "https://facebook.com/photo/3"],
        "first_seen": "2026-11-20",
        "occasions": "2",
        "perpetrator": "linked",
        "adult": "yes",
        "natures": ["abusive", "private_info"],
        "evidence_saved": "yes",
        "wants": ["removed", "support"],
        "named": "named",
    }


def bench_store(size: int, work: Path, keyring: Keyring, content: Content) -> tuple[float, float, int, float]:
    """Median and p99 ms per submit, bytes on disk, and reopen ms, with `size` reports stored."""
    data = work / f"store-{size}"
    store = TinyDBStore.open(data, keyring)
    for start in range(0, size, PREFILL_BATCH):
        batch = [submission(a_report(n)) for n in range(start, min(size, start + PREFILL_BATCH))]
        store.commit(Changes(
            reports=tuple(c.reports[0] for c in batch),
            outbox=tuple(c.outbox[0] for c in batch),
            audit=tuple(c.audit[0] for c in batch),
        ))
    store.compact()
    # Many reports from 50 people: the per-person limits are lifted, as the Slack bench does.
    services = Services(store=store, content=content, clock=SystemClock(), org=ORG, guidance=GuidanceEngine(content=content),
                        limits=Limits(reports_per_day=10**9, files_per_day=10**9))
    timings = []
    for n in range(size, size + STORE_SAMPLES):
        actor, answers = Actor(id=f"slack:U{n % 50:08d}", name="Sam Jones"), form_answers()
        began = time.perf_counter()
        result = submit_report(services, actor, answers)
        timings.append((time.perf_counter() - began) * 1000)
        assert result.ok, result.errors
    on_disk = folder_bytes(data)
    store.close()
    began = time.perf_counter()
    TinyDBStore.open(data, keyring).close()
    open_ms = (time.perf_counter() - began) * 1000
    return statistics.median(timings), percentile(timings, 99), on_disk, open_ms


def bench_stock(size: int, work: Path) -> tuple[float, float, int, int]:
    """Median and p99 ms per insert, samples, and bytes on disk for stock TinyDB with `size` docs."""
    path = work / f"stock-{size}.json"
    db = TinyDB(path)
    db.insert_multiple(to_doc(a_report(n)) for n in range(size))
    samples = STOCK_SAMPLES[size]
    timings = []
    for n in range(size, size + samples):
        doc = to_doc(a_report(n))
        began = time.perf_counter()
        db.insert(doc)
        timings.append((time.perf_counter() - began) * 1000)
    db.close()
    return statistics.median(timings), percentile(timings, 99), samples, path.stat().st_size


def run() -> list[Row]:
    """Measure every size, both stores."""
    keyring = Keyring(keys=[new_key()])
    content = load_content()
    rows = []
    with tempfile.TemporaryDirectory(prefix="store-bench-", dir=ROOT / "bench") as tmp:
        work = Path(tmp)
        for size in SIZES:
            s_med, s_p99, s_bytes, s_open = bench_store(size, work, keyring, content)
            k_med, k_p99, k_n, k_bytes = bench_stock(size, work)
            rows.append(Row(size, s_med, s_p99, s_bytes, s_open, k_med, k_p99, k_n, k_bytes))
            print(f"{size:>6} reports: TinyDBStore {s_med:.3f} ms (p99 {s_p99:.3f}), "
                  f"stock TinyDB {k_med:.2f} ms (p99 {k_p99:.2f})", flush=True)
    return rows


def section(rows: list[Row], seconds: float) -> str:
    """The Markdown section for RESULTS.md."""
    small, big = rows[0], rows[-1]
    speedup = big.stock_median_ms / big.store_median_ms
    growth = big.store_median_ms / small.store_median_ms
    lines = [
        START,
        "## Store: report submission (`bench/store_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"run time {seconds:.0f} s. Data folders on the repository's filesystem.",
        "",
        "Per submit: `handlers.reports.submit_report` with the filled-in report form on TinyDBStore "
        "(answers checked, report + lead alert + receipt + audit event committed as one unit, "
        "7 report fields AES-256-GCM sealed, one journal line, fsync before return), "
        f"{STORE_SAMPLES} samples per size after a bulk pre-fill and a compaction. "
        "Stock TinyDB is `TinyDB(path)` (JSONStorage, which rewrites and fsyncs the whole file) "
        "with one `insert` of the same report as a plain, unencrypted document.",
        "",
        "| stored reports | TinyDBStore median | TinyDBStore p99 | data folder | reopen | "
        "stock TinyDB median | stock p99 (samples) | stock file | stock / ours |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.size:,} | {r.store_median_ms:.3f} ms | {r.store_p99_ms:.3f} ms | {r.store_bytes / 1e6:.2f} MB "
            f"| {r.store_open_ms:.0f} ms | {r.stock_median_ms:.2f} ms | {r.stock_p99_ms:.2f} ms ({r.stock_samples}) "
            f"| {r.stock_bytes / 1e6:.2f} MB | {r.stock_median_ms / r.store_median_ms:.0f}x |"
        )
    lines += [
        "",
        f"Goals at {big.size:,} reports:",
        "",
        "- every submit fsync-durable before `commit` returns: yes (by construction; the crash tests check it)",
        f"- at least 10x faster than stock TinyDB in the same run: {speedup:.0f}x "
        f"({'met' if speedup >= 10 else 'NOT met'})",
        f"- cost at {big.size:,} within 3x of the cost at {small.size:,}: {growth:.2f}x "
        f"({'met' if growth <= 3 else 'NOT met'})",
        "",
        "Reopen = close, then open: read the snapshot, decrypt and check every record, replay the "
        "(empty) journal.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace this bench's section of RESULTS.md, keeping every other section as it is."""
    results.write_section(text, start=START, end=END)


def main() -> None:
    """Run the benchmark and record it; then the PostgreSQL store's, in the same run."""
    from bench import postgres_bench  # it imports this module's report builders

    began = time.perf_counter()
    rows = run()
    text = section(rows, time.perf_counter() - began)
    write_section(text)
    print(text)
    postgres_bench.main(tinydb=rows)


if __name__ == "__main__":
    main()

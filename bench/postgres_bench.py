"""Benchmark: the PostgreSQL store, run by `make bench-store` (from bench/store_bench.py) beside TinyDBStore and stock TinyDB.

Not a test. Two parts, on a throwaway PostgreSQL cluster (testkit/postgres.py; fsync off, as in the
tests: the figures are the store's own cost, not a disk's):
- submit median and p99 through the submit handler at 1,000, 10,000 and 100,000 stored reports;
- one `staffsafe serve` against three on one database, 50 concurrent clients filing reports
  through the real HTTP endpoint, a fake Slack receiving the alerts and receipts: throughput,
  p50/p99 of the acks, and every report's outbox items counted on the fake (duplicates, lost).
It replaces its own section of bench/RESULTS.md.
"""

from __future__ import annotations

import base64
import os
import platform
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg

from bench import results
from bench.slack_load import run_load, view_body
from bench.store_bench import (
    ORG, PREFILL_BATCH, ROOT, STORE_SAMPLES, Row, a_report, form_answers, percentile, submission,
)
from bot.content import load_content
from bot.crypto import Keyring, new_key
from bot.domain.guidance import GuidanceEngine
from bot.domain.limits import Limits
from bot.domain.org import Actor
from bot.domain.ports import Changes, SystemClock
from bot.domain.report import OutboxState
from bot.store.postgres.store import PostgresStore
from handlers.reports import submit_report
from handlers.services import Services
from testkit.fake_slack import FakeSlack
from testkit.instances import Instances
from testkit.postgres import PostgresCluster
from testkit.slack_harness import APP_YAML, BOT_TOKEN, SIGNING_SECRET, report_state

SIZES = (1_000, 10_000, 100_000)
CLIENTS = 50
LOAD_REPORTS = 1_000  # per configuration
DRAIN_SECONDS = 180.0  # the outbox delivering every alert and receipt after the load
START, END = "<!-- store-bench-postgres:start -->", "<!-- store-bench-postgres:end -->"
# A load test files many reports as few people: lift the per-person limits (as the Slack bench does).
BENCH_YAML = APP_YAML + "limits: {reports_per_day: 1000000, files_per_day: 1000000}\n"


@dataclass(frozen=True)
class SubmitRow:
    """Submit timings with `size` reports stored."""

    size: int
    median_ms: float
    p99_ms: float
    database_mb: float
    prefill_s: float  # adding the reports since the last size, in batches of PREFILL_BATCH


@dataclass(frozen=True)
class InstancesRow:
    """One load run against `instances` serve processes on one database."""

    instances: int
    acked: int  # reports acknowledged with their reference
    errors: int  # other answers, timeouts, connection failures
    seconds: float
    p50_ms: float
    p99_ms: float
    drain_s: float  # from the last ack until every alert and receipt was posted
    duplicates: int  # outbox items posted more than once
    lost: int  # acknowledged reports whose alert or receipt never reached Slack

    @property
    def throughput(self) -> float:
        """Reports acknowledged per second."""
        return self.acked / self.seconds if self.seconds else 0.0


def bench_submits(url: str, keyring: Keyring) -> list[SubmitRow]:
    """Grow one database to each size in turn, measuring submits through the handler at each."""
    content = load_content()
    rows = []
    with PostgresStore.open(url, keyring) as store:
        services = Services(store=store, content=content, clock=SystemClock(), org=ORG,
                            guidance=GuidanceEngine(content=content),
                            limits=Limits(reports_per_day=10**9, files_per_day=10**9))
        stored = 0
        for size in SIZES:
            began = time.perf_counter()
            for start in range(stored, size, PREFILL_BATCH):
                batch = [submission(a_report(n)) for n in range(start, min(size, start + PREFILL_BATCH))]
                store.commit(Changes(reports=tuple(c.reports[0] for c in batch),
                                     outbox=tuple(c.outbox[0] for c in batch),
                                     audit=tuple(c.audit[0] for c in batch)))
            prefill = time.perf_counter() - began
            timings = []
            for n in range(size, size + STORE_SAMPLES):
                actor = Actor(id=f"slack:U{n % 50:08d}", name="Sam Jones")
                began = time.perf_counter()
                result = submit_report(services, actor, form_answers())
                timings.append((time.perf_counter() - began) * 1000)
                assert result.ok, result.errors
            stored = size + STORE_SAMPLES
            rows.append(SubmitRow(size=size, median_ms=statistics.median(timings), p99_ms=percentile(timings, 99),
                                  database_mb=_database_mb(url), prefill_s=prefill))
            print(f"{size:>7} reports: PostgresStore submit {rows[-1].median_ms:.2f} ms (p99 {rows[-1].p99_ms:.2f})",
                  flush=True)
    return rows


def _database_mb(url: str) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) / 1e6 if row else 0.0


def bench_instances(cluster: PostgresCluster, work: Path, count: int) -> InstancesRow:
    """LOAD_REPORTS reports from CLIENTS clients spread over `count` instances on one fresh database."""
    url = cluster.new_database(f"bench_instances_{count}")
    key = new_key()
    folder = work / f"instances-{count}"
    folder.mkdir()
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack, \
            Instances(tmp_path=folder, slack=slack, database_url=url, secret_key=base64.b64encode(key).decode(),
                      count=count, app_yaml=BENCH_YAML) as instances:
        first = instances[0].client
        assert first.command("report").status == 200
        body = view_body(first.opened_view("report.form"), report_state())
        run = run_load([f"{i.client.url}/slack/events" for i in instances.all], SIGNING_SECRET, body,
                       total=LOAD_REPORTS, clients=CLIENTS)
        acked_at = time.perf_counter()
        expected = 2 * len(run.references)  # the leads' alert and the reporter's receipt
        while len(slack.calls("chat.postMessage")) < expected and time.perf_counter() - acked_at < DRAIN_SECONDS:
            time.sleep(0.1)
        drain = time.perf_counter() - acked_at
        time.sleep(1.0)  # a duplicate would come after the last expected post
        posted = Counter(c.args["metadata"]["event_payload"]["key"] for c in slack.calls("chat.postMessage"))
        with PostgresStore.open(url, Keyring(keys=[key]), pool_size=2) as store:
            lost = 0
            for reference in run.references:
                report = store.report_by_reference(reference)
                items = store.outbox_of(report.id) if report else []
                delivered = [o for o in items if o.state is OutboxState.SENT and posted[o.id] >= 1]
                lost += 1 if report is None or len(delivered) < 2 else 0
    return InstancesRow(instances=count, acked=len(run.references), errors=run.errors + run.timeouts,
                        seconds=run.wall_s, p50_ms=percentile(run.latencies_ms, 50),
                        p99_ms=percentile(run.latencies_ms, 99), drain_s=drain,
                        duplicates=sum(n - 1 for n in posted.values() if n > 1), lost=lost)


def run() -> tuple[list[SubmitRow], list[InstancesRow]]:
    """Start a throwaway cluster, measure both parts, stop it."""
    cluster = PostgresCluster.start()
    try:
        submits = bench_submits(cluster.new_database("bench_submit"), Keyring(keys=[new_key()]))
        with tempfile.TemporaryDirectory(prefix="postgres-bench-", dir=ROOT / "bench") as tmp:
            instances = []
            for count in (1, 3):
                instances.append(bench_instances(cluster, Path(tmp), count))
                row = instances[-1]
                print(f"{count} instance(s): {row.throughput:.0f} reports/s, p99 {row.p99_ms:.0f} ms, "
                      f"duplicates {row.duplicates}, lost {row.lost}", flush=True)
    finally:
        cluster.stop()
    return submits, instances


def section(submits: list[SubmitRow], instances: list[InstancesRow], seconds: float,
            tinydb: Sequence[Row] = ()) -> str:
    """The Markdown section for RESULTS.md."""
    small, big = submits[0], submits[-1]
    one, three = instances[0], instances[-1]
    lines = [
        START,
        "## Store: PostgreSQL (`bench/postgres_bench.py`, run by `make bench-store`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs (nproc, shared with other "
        f"work: load average {os.getloadavg()[0]:.1f} at the end), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; run time {seconds:.0f} s. A throwaway PostgreSQL "
        f"{_server_version()} cluster (`testkit/postgres.py`) on the same machine, fsync off (test data: the "
        "figures are the store's and the server's work, not a disk's).",
        "",
        "Submit: `handlers.reports.submit_report` with the filled-in form on `PostgresStore` (report, lead alert, "
        "receipt, audit event sealed and written in one transaction, committed before return), "
        f"{STORE_SAMPLES} samples per size; the database grown in batches of {PREFILL_BATCH} reports between "
        "sizes. TinyDBStore (fsynced journal) and stock TinyDB: the store-bench section above, same run.",
        "",
        "| stored reports | PostgresStore median | p99 | TinyDBStore median | p99 | stock TinyDB median | p99 "
        "| database | growing to this size |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    beside = {row.size: row for row in tinydb}
    for r in submits:
        other = beside.get(r.size)
        theirs = (f"{other.store_median_ms:.2f} ms | {other.store_p99_ms:.2f} ms | {other.stock_median_ms:.1f} ms | "
                  f"{other.stock_p99_ms:.1f} ms" if other else "not run | | not run |")
        lines.append(f"| {r.size:,} | {r.median_ms:.2f} ms | {r.p99_ms:.2f} ms | {theirs} | {r.database_mb:.0f} MB | "
                     f"{r.prefill_s:.0f} s |")
    lines += [
        "",
        f"Cost at {big.size:,} against {small.size:,}: {big.median_ms / small.median_ms:.2f}x (median).",
        "",
        f"Several instances: {LOAD_REPORTS:,} report submissions (view_submission, signed) from {CLIENTS} concurrent "
        "clients on keep-alive connections, spread evenly over the instances' HTTP endpoints (as a load balancer "
        "would), each instance a real `staffsafe serve` process on one database, with a fake Slack receiving "
        "the alert and the receipt of each report from the instances' outbox workers (claims with "
        "`FOR UPDATE SKIP LOCKED`, woken by LISTEN/NOTIFY).",
        "",
        "| instances | reports/s | ack p50 | ack p99 | errors | outbox drained after the last ack | duplicates | lost |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {r.instances} | {r.throughput:.0f} | {r.p50_ms:.0f} ms | {r.p99_ms:.0f} ms | {r.errors} | "
              f"{r.drain_s:.1f} s | {r.duplicates} | {r.lost} |" for r in instances]
    lines += [
        "",
        f"Three instances against one: {three.throughput / one.throughput:.2f}x the throughput, p99 "
        f"{three.p99_ms / one.p99_ms:.2f}x. Every instance, the database, the clients and the fake Slack share "
        f"the machine's {os.cpu_count()} CPUs, so more instances cannot add capacity here: what this shows is that "
        "they share one database safely (duplicates and lost both 0 is the goal) and what their coordination "
        "costs; on separate machines each instance brings its own CPUs.",
        END,
    ]
    return "\n".join(lines) + "\n"


def _server_version() -> str:
    from testkit.postgres import find_bin_dir

    bin_dir = find_bin_dir()
    return bin_dir.parent.name if bin_dir else "?"


def main(tinydb: Sequence[Row] = ()) -> None:
    """Run the benchmark and record it, beside the TinyDB figures of the same run if given."""
    began = time.perf_counter()
    submits, instances = run()
    text = section(submits, instances, time.perf_counter() - began, tinydb)
    results.write_section(text, start=START, end=END)
    print(text)


if __name__ == "__main__":
    main()

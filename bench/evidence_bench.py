"""Benchmark: `staffsafe serve`'s memory with 1 GB of stored evidence against the same server with none.

Not a test. Run `.venv/bin/python -m bench.evidence_bench` (or `make bench-evidence`); it prints a table and
replaces the evidence-bench section of bench/RESULTS.md. Two data folders hold the same reports; one also
holds ~1 GB of screenshots (~9.9 MB each, random bytes, five to a report), written through the Store port.
Each folder is served by a real `staffsafe serve` against a local fake Slack, in three phases, the server
restarted between them: idle (start, then a scheduler pass), ingest (five new 9.9 MB screenshots fetched
from Slack and stored), export (that report's export and its five files uploaded to Slack). Memory is the
server's own figures from /proc: VmRSS at the end of each phase and VmHWM, its peak, over the phase.
"""

from __future__ import annotations

import base64
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from bench import results
from bench.slack_servers import ROOT, Server, start
from testkit.instances import free_port
from bot.app import running
from bot.crypto import new_key
from bot.domain.org import Actor
from bot.domain.platform import SLACK
from bot.domain.ports import Changes
from bot.domain.report import Evidence, new_id
from bot.settings import Settings
from bot.slack.notifier import SLACK_CAPABILITIES
from handlers.export import request_export
from handlers.reports import submit_report
from testkit.builders import report_answers
from testkit.fake_slack import FakeSlack
from testkit.slack_harness import APP_YAML, LEAD
from testkit.waits import wait_until

START, END = "<!-- evidence-bench:start -->", "<!-- evidence-bench:end -->"
FILE_BYTES = int(9.9 * 1024 * 1024)  # the screenshots of the issue: just under the 10 MB limit
FILES_PER_REPORT = 5
STORED_FILES = 105  # ~1.04 GB
PIECE = 64 * 1024
BOT_TOKEN, SIGNING_SECRET = "xoxb-evidence-bench", "evidence-bench-signing-secret-0123"
SCHEDULER_PASS = 17.0  # seconds: one scheduler pass (every 15 s) after the start
GOAL_MB = 50.0
PHASES = ("idle", "ingest", "export")


@dataclass(frozen=True)
class Memory:
    """A server's memory at the end of one phase (VmRSS) and at its peak during it (VmHWM), in MB."""

    rss: float
    peak: float


def random_file(size: int) -> list[bytes]:
    """A file's bytes in 64 KiB pieces, random (incompressible, like a screenshot), never joined."""
    return [os.urandom(min(PIECE, size - offset)) for offset in range(0, size, PIECE)]


STAFF = Actor(id="slack:U0STAFF01", name="Sam Jones")


def preload(settings: Settings, stored_files: int) -> None:
    """Reports through the submit handler (as many with or without files), `stored_files` screenshots on them."""
    with running(settings) as (services, _):
        for n in range(STORED_FILES // FILES_PER_REPORT):
            assert submit_report(services, STAFF, report_answers(what_happened=f"case {n}")).ok
        reports = services.store.all_reports()
        for n in range(stored_files):
            report = reports[n // FILES_PER_REPORT]
            evidence_id, pieces = new_id(), random_file(FILE_BYTES)
            written = services.store.write_evidence_blob(report.id, evidence_id, pieces)
            services.store.commit(Changes(evidence=(Evidence(
                id=evidence_id, report_id=report.id, file_name=f"Screenshot {n}.png", media_type="image/png",
                size=written.size, sha256=written.sha256, received_at=services.clock.now(), source_id=f"F0PRE{n:05d}"),)))


def queue_ingest(settings: Settings) -> str:
    """A report with five screenshots still on Slack, for the server to fetch; its id."""
    with running(settings) as (services, _):
        answers = report_answers(what_happened="with screenshots",
                                 screenshots=[f"F0NEW{i}" for i in range(FILES_PER_REPORT)])
        assert submit_report(services, STAFF, answers).ok
        return services.store.reports_by_reporter(STAFF.id)[0].id


def queue_export(settings: Settings, report_id: str) -> int:
    """The lead asks for the export of the report that was ingested into; how many files it holds."""
    with running(settings) as (services, _):
        # As the server's Slack door asks it: Slack can send the copies of the files.
        services = replace(services, capabilities={SLACK: SLACK_CAPABILITIES})
        request_export(services, Actor(id=f"slack:{LEAD}", name="Lee Harper"), report_id)
        return len(services.store.evidence(report_id))


def memory_of(server: Server) -> Memory:
    """VmRSS and VmHWM of the server process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines())
    return Memory(rss=int(fields["VmRSS"].split()[0]) / 1024, peak=int(fields["VmHWM"].split()[0]) / 1024)


def serve(work: Path, name: str, settings: Settings, slack: FakeSlack, until: object) -> Memory:
    """Start `staffsafe serve` on the folder, wait for the phase's work (`until()` true), then a scheduler pass."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAFFSAFE_", "SLACK_"))} | {
        "STAFFSAFE_CONFIG": str(settings.config_path), "STAFFSAFE_DATA_DIR": str(settings.data_dir),
        "STAFFSAFE_SECRET_KEY": str(settings.secret_key), "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url, "HOST": "127.0.0.1",
        "PYTHONUNBUFFERED": "1"}
    argv = [str(Path(sys.executable).parent / "staffsafe"), "serve", "--port", str(port)]
    server = start(name, argv, env, port, work / f"{name}.log")
    try:
        server.wait_healthy()
        wait_until(until, timeout=300)  # type: ignore[arg-type]
        time.sleep(SCHEDULER_PASS)
        return memory_of(server)
    finally:
        if server.stop() != 0:
            print(server.tail(), file=sys.stderr)


def measure(work: Path, name: str, stored_files: int, slack: FakeSlack) -> dict[str, Memory]:
    """The three phases on one data folder."""
    secret_key = base64.b64encode(new_key()).decode()
    settings = Settings(config_path=work / "app.yaml", data_dir=work / name, secret_key=secret_key, secret_file=None)
    preload(settings, stored_files)
    memory = {"idle": serve(work, f"{name}-idle", settings, slack, lambda: True)}
    report_id = queue_ingest(settings)
    downloads = len(slack.calls("download"))
    memory["ingest"] = serve(work, f"{name}-ingest", settings, slack,
                             lambda: len(slack.calls("download")) >= downloads + FILES_PER_REPORT)
    files = queue_export(settings, report_id)
    uploads = len(slack.uploads)
    memory["export"] = serve(work, f"{name}-export", settings, slack,
                             lambda: len(slack.uploads) >= uploads + 1 + files)
    return memory


def run() -> tuple[dict[str, dict[str, Memory]], int]:
    """Both folders, every phase; the stored evidence's bytes on disk."""
    with tempfile.TemporaryDirectory(prefix="evidence-bench-", dir=ROOT / "bench") as tmp, \
            FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        work = Path(tmp)
        (work / "app.yaml").write_text(APP_YAML + "limits: {reports_per_day: 1000000, files_per_day: 1000000}\n")
        for i in range(FILES_PER_REPORT):
            pieces = random_file(FILE_BYTES)
            slack.add_file(f"F0NEW{i}", f"new screenshot {i}.png", "image/png", b"".join(pieces))
        figures = {}
        for name, stored in (("none", 0), ("1GB", STORED_FILES)):
            figures[name] = measure(work, name, stored, slack)
            print(name, figures[name], flush=True)
        on_disk = sum(p.stat().st_size for p in (work / "1GB" / "evidence").iterdir())
    return figures, on_disk


def section(figures: dict[str, dict[str, Memory]], on_disk: int, seconds: float) -> str:
    """The Markdown section for RESULTS.md."""
    none, full = figures["none"], figures["1GB"]
    idle_gap = full["idle"].rss - none["idle"].rss
    worst_gap = max(full[p].peak - none[p].peak for p in PHASES)
    lines = [
        START,
        "## Evidence: server memory with 1 GB of stored screenshots (`bench/evidence_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs (nproc), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; run time {seconds:.0f} s.",
        "",
        f"Two data folders with the same {STORED_FILES // FILES_PER_REPORT} reports; one also holds "
        f"{STORED_FILES} screenshots of {FILE_BYTES / 1e6:.1f} MB (random bytes, {FILES_PER_REPORT} to a report; "
        f"{on_disk / 1e9:.2f} GB of encrypted blob files). Each is served by a real `staffsafe serve` "
        "(waitress, a local fake Slack), restarted for each phase: *idle* (start, a scheduler pass), *ingest* "
        f"({FILES_PER_REPORT} new {FILE_BYTES / 1e6:.1f} MB screenshots fetched from Slack and stored, then a "
        f"scheduler pass), *export* (that report's export document and its {FILES_PER_REPORT} files uploaded to "
        "Slack, then a scheduler pass). RSS is the server's VmRSS at the end of the phase, peak its VmHWM over it.",
        "",
        "| phase | none: RSS | none: peak | 1 GB: RSS | 1 GB: peak | peak difference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for phase in PHASES:
        a, b = none[phase], full[phase]
        lines.append(f"| {phase} | {a.rss:.0f} MB | {a.peak:.0f} MB | {b.rss:.0f} MB | {b.peak:.0f} MB "
                     f"| {round(b.peak - a.peak):+d} MB |")
    lines += [
        "",
        f"Goal: the server with 1 GB of stored evidence within {GOAL_MB:.0f} MB of the same server with none: "
        f"idle RSS {round(idle_gap):+d} MB, worst peak difference {round(worst_gap):+d} MB "
        f"({'met' if max(idle_gap, worst_gap) <= GOAL_MB else 'NOT met'}). Before evidence blobs, three reports "
        "with five 9.9 MB screenshots each took the server from 50 MB to 501 MB RSS (issue 14).",
        END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and record it (`--smoke`: a few small files, to try the harness; nothing recorded)."""
    global FILE_BYTES, STORED_FILES, SCHEDULER_PASS
    smoke = "--smoke" in (sys.argv[1:] if argv is None else argv)
    if smoke:
        FILE_BYTES, STORED_FILES, SCHEDULER_PASS = 300_000, 10, 1.0
    began = time.perf_counter()
    figures, on_disk = run()
    text = section(figures, on_disk, time.perf_counter() - began)
    if not smoke:
        results.write_section(text, start=START, end=END)
    print(text)


if __name__ == "__main__":
    main()

"""Figures for the Slack benchmark: runs added up per cell, goal verdicts, and its section of RESULTS.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.slack_load import Run
from bench import results

START, END = "<!-- slack-bench:start -->", "<!-- slack-bench:end -->"
STAFFSAFE, DEFAULT, FLOOR = "StaffSafe", "Bolt default", "Bolt floor"
SERVERS = (STAFFSAFE, DEFAULT, FLOOR)
KINDS = {"command": "Slash command (`/report`)", "view": "View submission (the report modal, filled in)"}
P99_GOAL_MS = 300.0
CPU_GOAL_RATIO = 3.0


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


@dataclass
class Cell:
    """Every run of one server, request kind and concurrency, added up."""

    runs: list[Run] = field(default_factory=list)
    cpu_s: float = 0.0
    outbox_cpu_s: float = 0.0
    peak_rss_mb: float = 0.0

    def add(self, run: Run, cpu_s: float, outbox_cpu_s: float, peak_rss_mb: float) -> None:
        """Count one more run."""
        self.runs.append(run)
        self.cpu_s += cpu_s
        self.outbox_cpu_s += outbox_cpu_s
        self.peak_rss_mb = max(self.peak_rss_mb, peak_rss_mb)

    @property
    def latencies(self) -> list[float]:
        """Every answered request's latency, ms."""
        return [ms for run in self.runs for ms in run.latencies_ms]

    @property
    def sent(self) -> int:
        """Requests sent, answered or not."""
        return sum(len(run.latencies_ms) + run.timeouts + run.failures for run in self.runs)

    @property
    def p50(self) -> float:
        """Median latency, ms."""
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        """99th percentile latency, ms."""
        return percentile(self.latencies, 99)

    @property
    def rps(self) -> float:
        """Requests per second over the runs' wall time."""
        wall = sum(run.wall_s for run in self.runs)
        return self.sent / wall if wall else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU (user + system, every thread) per request, ms."""
        return self.cpu_s * 1000 / self.sent if self.sent else 0.0

    @property
    def outbox_cpu_ms(self) -> float:
        """Of cpu_ms, what StaffSafe's outbox thread spent delivering (0 for the references)."""
        return self.outbox_cpu_s * 1000 / self.sent if self.sent else 0.0

    @property
    def client_busy(self) -> float:
        """How busy the load generator's core was (its process's CPU over the runs' wall time), %."""
        wall = sum(run.wall_s for run in self.runs)
        return 100 * sum(run.client_cpu_s for run in self.runs) / wall if wall else 0.0

    @property
    def errors(self) -> int:
        """Non-200 answers and connection failures over every run."""
        return sum(run.errors for run in self.runs)

    @property
    def timeouts(self) -> int:
        """Requests unanswered within the client's timeout, over every run."""
        return sum(run.timeouts for run in self.runs)

    @property
    def worst_run(self) -> str:
        """The most errors / timeouts any single run had."""
        return f"{max((r.errors for r in self.runs), default=0)}/{max((r.timeouts for r in self.runs), default=0)}"


Cells = dict[tuple[str, int, str], Cell]  # (kind, clients, server) -> cell


@dataclass(frozen=True)
class Ledger:
    """What the reopened store holds against what the acks promised."""

    preloaded: int
    acked: int  # view submissions answered 200 with response_action "update"
    acked_references: int  # distinct references quoted in those answers
    stored: int
    unique_references: int
    missing: int  # acked references not in the store
    exit_code: int  # StaffSafe's exit code after SIGTERM

    @property
    def lost(self) -> int:
        """Acked reports the store does not hold."""
        return max(0, self.preloaded + self.acked - self.stored) + self.missing

    @property
    def duplicated(self) -> int:
        """Reports stored beyond those acked, plus repeated references."""
        return max(0, self.stored - self.preloaded - self.acked) + (self.stored - self.unique_references)

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing twice, and every "update" answer quoted a reference."""
        return self.lost == 0 and self.duplicated == 0 and self.acked_references == self.acked


@dataclass(frozen=True)
class Phase:
    """One pass over every level, kind and server, from a store with `preloaded` reports."""

    preloaded: int
    cells: Cells
    ledger: Ledger
    log: list[str]  # StaffSafe's log lines


def log_note(lines: list[str]) -> str:
    """What StaffSafe logged: how many lines, waitress's queue warnings, errors."""
    queue = sum("Task queue depth" in line for line in lines)
    errors = sum(line.startswith(("ERROR", "CRITICAL")) or "Traceback" in line for line in lines)
    return (f"StaffSafe's log: {len(lines):,} lines, of which {queue:,} waitress `Task queue depth` warnings "
            f"(logged whenever all 8 threads are busy) and {errors} errors or incidents.")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "n/a"


def table(cells: Cells, kind: str, levels: list[int], *, kinds: dict[str, str] = KINDS,
          servers: tuple[str, ...] = SERVERS, floor_name: str = FLOOR) -> list[str]:
    """One Markdown table: every concurrency, every server, with StaffSafe's ratios to the floor."""
    lines = [f"**{kinds[kind]}**", "",
             "| clients | server | p50 ms | p99 ms | req/s | CPU ms/req (outbox) | peak RSS MB | client core "
             "| errors/timeouts (worst run) |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for level in levels:
        for server in servers:
            c = cells[kind, level, server]
            outbox = f" ({c.outbox_cpu_ms:.2f})" if server == STAFFSAFE else ""
            lines.append(f"| {level} | {server} | {c.p50:.1f} | {c.p99:.1f} | {c.rps:.0f} | {c.cpu_ms:.2f}{outbox} "
                         f"| {c.peak_rss_mb:.0f} | {c.client_busy:.0f}% | {c.errors}/{c.timeouts} ({c.worst_run}) |")
        ours, floor = cells[kind, level, STAFFSAFE], cells[kind, level, floor_name]
        lines.append(f"| {level} | *StaffSafe / floor* | *{_ratio(ours.p50, floor.p50)}* | "
                     f"*{_ratio(ours.p99, floor.p99)}* | *{_ratio(ours.rps, floor.rps)}* | "
                     f"*{_ratio(ours.cpu_ms, floor.cpu_ms)}* | *{_ratio(ours.peak_rss_mb, floor.peak_rss_mb)}* | | |")
    return lines + [""]


def total_cpu_ms(cells: Cells, kind: str, server: str, levels: list[int], *, outbox: bool = True) -> float:
    """CPU ms per request of one kind over every concurrency; without the outbox thread's if `outbox` is False."""
    chosen = [cells[kind, level, server] for level in levels]
    sent = sum(c.sent for c in chosen)
    cpu = sum(c.cpu_s - (0 if outbox else c.outbox_cpu_s) for c in chosen)
    return cpu * 1000 / sent if sent else 0.0


def verdicts(cells: Cells, levels: list[int], ledger: Ledger) -> list[str]:
    """PASS/FAIL per goal, with the figure behind each."""
    top = max(levels)
    p99s = {kind: cells[kind, top, STAFFSAFE].p99 for kind in KINDS}
    ours, floor = total_cpu_ms(cells, "view", STAFFSAFE, levels), total_cpu_ms(cells, "view", FLOOR, levels)
    worst = max(cells["view", lv, STAFFSAFE].cpu_ms / (cells["view", lv, FLOOR].cpu_ms or 1) for lv in levels)
    ratio = ours / floor if floor else float("inf")
    ack_path = total_cpu_ms(cells, "view", STAFFSAFE, levels, outbox=False)
    errors = sum(c.errors + c.timeouts for c in cells.values())

    def verdict(ok: bool) -> str:
        return "**PASS**" if ok else "**FAIL**"

    return [
        f"- {verdict(max(p99s.values()) < P99_GOAL_MS)} p99 ack under {P99_GOAL_MS:.0f} ms at {top} clients, "
        f"each report fsynced before its ack: view submission {p99s['view']:.1f} ms, slash command "
        f"{p99s['command']:.1f} ms (StaffSafe acks after the listener, `process_before_response=True`, and "
        "`commit` returns after fsync; every acked reference was found after the restart: "
        f"{'yes' if ledger.missing == 0 else 'NO'})",
        f"- {verdict(ratio <= CPU_GOAL_RATIO)} server CPU per view submission at most {CPU_GOAL_RATIO:.0f}x the "
        f"floor's: {ours:.2f} ms vs {floor:.2f} ms = {ratio:.2f}x over every level (worst level {worst:.2f}x); "
        f"without the outbox thread's deliveries (lead alert + receipt per report, after the ack) "
        f"{ack_path:.2f} ms = {ack_path / floor if floor else 0:.2f}x",
        f"- {verdict(ledger.ok)} zero lost or duplicated reports: {ledger.stored:,} stored = {ledger.preloaded:,} "
        f"preloaded + {ledger.acked:,} acked (\"update\"); {ledger.unique_references:,} unique references; "
        f"lost {ledger.lost}, duplicated {ledger.duplicated}, acked references missing from the store "
        f"{ledger.missing}; StaffSafe exited {ledger.exit_code} after SIGTERM",
        f"- HTTP errors + timeouts over all runs and servers: {errors}",
    ]


def write_section(text: str) -> None:
    """Replace this bench's section of RESULTS.md, keeping every other section as it is."""
    results.write_section(text, start=START, end=END)
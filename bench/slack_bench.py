"""Benchmark: StaffSafe's Slack ack latency and CPU under 1, 10 and 50 clients, against two bare Bolt apps.

Not a test. Run `make bench-slack` (or `.venv/bin/python -m bench.slack_bench [--quick]`); it prints
the figures and replaces the slack-bench section of bench/RESULTS.md (not in --quick mode). The three
servers run as subprocesses on core 0; this process (load generator and fake Slack) runs on core 1.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.slack_load import Body, Run, command_body, run_load, view_body
from bench.slack_report import (
    DEFAULT, FLOOR, KINDS, SERVERS, STAFFSAFE, Cell, Cells, Ledger, percentile, table, verdicts, write_section,
)
from bench.slack_servers import Server, free_port, start
from bench.slack_store import check, preload
from bot.crypto import new_key
from bot.domain.report_form import FORM_ID
from bot.settings import Settings
from tests.fake_slack import FakeSlack
from tests.slack_harness import APP_YAML, report_state

SIGNING_SECRET = "bench-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-bench-token"
COMMAND = "/report"
LOAD_CORE = 1
WARM_UP = 20  # requests of each kind per server before measuring (first-request imports, auth.test)


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.slack_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=300, help="view submissions per level per server (300)")
    parser.add_argument("--commands", type=int, default=300, help="slash commands per level per server (300)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the requests are split over (3)")
    parser.add_argument("--levels", default="1,10,50", help="concurrent clients, comma-separated (1,10,50)")
    parser.add_argument("--preload", type=int, default=0, help="reports stored before StaffSafe starts (0)")
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run; RESULTS.md is left alone")
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.views, args.commands, args.rounds = 30, 30, 1
    args.levels = [int(level) for level in args.levels.split(",")]
    return args


def server_env(work: Path, slack: FakeSlack, secret_key: str) -> dict[str, str]:
    """The environment every server gets: the same secrets, the fake Slack, a temp data folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAFFSAFE_", "SLACK_"))}
    return env | {"STAFFSAFE_CONFIG": str(work / "app.yaml"), "STAFFSAFE_DATA_DIR": str(work / "data"),
                  "STAFFSAFE_SECRET_KEY": secret_key, "SLACK_BOT_TOKEN": BOT_TOKEN,
                  "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.api_url,
                  "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}


def start_servers(work: Path, env: dict[str, str]) -> dict[str, Server]:
    """StaffSafe and the two references, each on its own port, all on core 0."""
    python, bare = sys.executable, [sys.executable, "-m", "bench.bare_bolt", "--command", COMMAND,
                                    "--callback-id", FORM_ID]
    ports = {name: free_port() for name in SERVERS}
    argv = {
        STAFFSAFE: [str(Path(python).parent / "staffsafe"), "serve", "--port", str(ports[STAFFSAFE])],
        DEFAULT: [*bare, "--port", str(ports[DEFAULT])],
        FLOOR: [*bare, "--port", str(ports[FLOOR]), "--process-before-response"],
    }
    servers = {name: start(name, argv[name], env, ports[name], work / f"{name.replace(' ', '-')}.log")
               for name in SERVERS}
    for server in servers.values():
        server.wait_healthy()
    return servers


def opened_view(slack: FakeSlack, timeout: float = 10) -> dict[str, Any]:
    """The report modal StaffSafe opened through the fake's views.open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in reversed(slack.calls("views.open")):
            if call.args["view"].get("callback_id") == FORM_ID:
                return dict(call.args["view"])
        time.sleep(0.05)
    raise RuntimeError("StaffSafe opened no report modal after /report")


def settle(server: Server, slack: FakeSlack, quiet: float = 0.3, limit: float = 30) -> None:
    """Wait for work after the acks (lazy listeners, outbox deliveries) to finish, so its CPU is counted."""
    last, still = (server.cpu_seconds(), len(slack.attempts())), time.monotonic()
    deadline = still + limit
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = (server.cpu_seconds(), len(slack.attempts()))
        if now != last:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet:
            return


class Bench:
    """The servers, the request bodies and every figure measured so far."""

    def __init__(self, servers: dict[str, Server], slack: FakeSlack, bodies: dict[str, Body]) -> None:
        self.servers, self.slack, self.bodies = servers, slack, bodies
        self.cells: Cells = defaultdict(Cell)
        self.acked, self.references, self.numbers = 0, [], 0

    def send(self, server: str, kind: str, total: int, clients: int) -> tuple[Run, float, float]:
        """One run; returns it with the server's CPU seconds (all, outbox thread), counting acked reports."""
        target = self.servers[server]
        before, outbox = target.cpu_seconds(), self._outbox(server)
        run = run_load(target.url, SIGNING_SECRET, self.bodies[kind], total=total, clients=clients,
                       first=self.numbers)
        self.numbers += total
        settle(target, self.slack)
        if server == STAFFSAFE and kind == "view":
            self.acked += run.updates
            self.references += run.references
        return run, target.cpu_seconds() - before, self._outbox(server) - outbox

    def _outbox(self, server: str) -> float:
        return self.servers[server].outbox_cpu_seconds() if server == STAFFSAFE else 0.0

    def measure(self, server: str, kind: str, total: int, clients: int) -> None:
        """One recorded run."""
        run, cpu, outbox = self.send(server, kind, total, clients)
        self.cells[kind, clients, server].add(run, cpu, outbox, self.servers[server].peak_rss_mb())
        print(f"  {server:<12} {kind:<7} x{total:<4} at {clients:>2} clients: p50 {_pct(run, 50):6.1f} ms, "
              f"p99 {_pct(run, 99):6.1f} ms, {len(run.latencies_ms) / run.wall_s:5.0f} req/s, "
              f"CPU {cpu * 1000 / total:5.2f} ms/req, errors {run.errors}, timeouts {run.timeouts}", flush=True)


def _pct(run: Run, pct: float) -> float:
    return percentile(run.latencies_ms, pct)


def bench(args: argparse.Namespace, work: Path, slack: FakeSlack) -> tuple[Cells, Ledger]:
    """Start everything, warm up, run the interleaved rounds, stop, check the store."""
    (work / "app.yaml").write_text(APP_YAML)
    secret_key = base64.b64encode(new_key()).decode()
    settings = Settings(config_path=work / "app.yaml", data_dir=work / "data", secret_key=secret_key, secret_file=None)
    preload(settings, args.preload)
    servers = start_servers(work, server_env(work, slack, secret_key))
    try:
        bodies = {"command": command_body(COMMAND, slack.response_url("bench"))}
        runner = Bench(servers, slack, bodies)
        runner.send(STAFFSAFE, "command", 1, 1)
        bodies["view"] = view_body(opened_view(slack), report_state())
        for name in SERVERS:
            for kind in KINDS:
                runner.send(name, kind, WARM_UP, 5)
        for round_ in range(args.rounds):
            print(f"round {round_ + 1} of {args.rounds}", flush=True)
            order = SERVERS[round_ % 3:] + SERVERS[:round_ % 3]  # no server always goes first
            for level in args.levels:
                for kind, total in (("command", args.commands), ("view", args.views)):
                    for name in order:
                        runner.measure(name, kind, max(1, total // args.rounds), level)
        exit_code = servers[STAFFSAFE].stop()
    finally:
        for server in servers.values():
            server.stop()
    ledger = check(settings, preloaded=args.preload, acked=runner.acked, references=runner.references,
                   exit_code=exit_code)
    return runner.cells, ledger


def machine(nproc: str) -> str:
    """nproc, CPU model, Python, kernel."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{nproc} CPUs (nproc; {model}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def section(args: argparse.Namespace, cells: Cells, ledger: Ledger, seconds: float, nproc: str) -> str:
    """The Markdown section for RESULTS.md."""
    per = f"{args.views} view submissions + {args.commands} slash commands per level per server"
    lines = [
        "<!-- slack-bench:start -->",
        "## Slack: ack latency and server CPU under load (`bench/slack_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine(nproc)}; {per}, split over "
        f"{args.rounds} interleaved rounds; run time {seconds:.0f} s. Reports stored when StaffSafe started: "
        f"{ledger.preloaded:,}; when it stopped: {ledger.stored:,}.",
        "",
        "Method: three servers run as subprocesses under `taskset -c 0`, each on `bot.slack.serve.http_server` "
        "(waitress, 8 threads): StaffSafe (`staffsafe serve`, temp data folder, its own app.yaml), *Bolt default* "
        "(a bare Bolt app that only acks, through Bolt's WSGI adapter and its own signature check) and *Bolt floor* "
        "(the same with `process_before_response=True`). The load generator (core 1) runs N client threads, each on "
        "one keep-alive `http.client` connection, signing every request fresh (HMAC-SHA256 over `v0:ts:body`). "
        "Slash commands are `/report`; view submissions are the report modal StaffSafe opened through the fake "
        "Slack's `views.open`, filled in as `tests/slack_harness.report_state`. Latency = request sent to answer "
        "read. CPU = utime+stime from /proc/PID/stat before each run and after the server went quiet "
        "(StaffSafe's lazy `views.open` and outbox deliveries to the fake Slack, which runs in the load "
        "generator's process, are counted; in brackets, StaffSafe's outbox thread's share). Peak RSS = VmHWM. "
        "Client core = the load generator's process CPU over wall time (near 100%: the client side limits that "
        "cell). Servers take turns within each round, rotated "
        "every round, after a warm-up of 20 requests of each kind.",
        "",
    ]
    for kind in KINDS:
        lines += table(cells, kind, args.levels)
    lines += ["Goals:", "", *verdicts(cells, args.levels, ledger), "<!-- slack-bench:end -->"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and record it."""
    args = arguments(argv)
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        print("slack_bench needs taskset (util-linux) and at least 2 cores", file=sys.stderr)
        return 2
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    os.sched_setaffinity(0, {LOAD_CORE})  # before any thread starts (they inherit it); nproc would then say 1
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp, FakeSlack(token=BOT_TOKEN) as slack:
        cells, ledger = bench(args, Path(tmp), slack)
    text = section(args, cells, ledger, time.perf_counter() - began, nproc)
    if not (args.quick or args.no_write):
        write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

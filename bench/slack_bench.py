"""Benchmark: StaffSafe's Slack ack latency and CPU under 1, 10 and 50 clients, against two bare Bolt apps.

Not a test. Run `make bench-slack` (or `.venv/bin/python -m bench.slack_bench [--quick]`); it prints
the figures and replaces the slack-bench section of bench/RESULTS.md (not with --quick or --no-write).
The three servers run as subprocesses on core 0; this process (load generator and fake Slack) on core 1.
Each phase starts them afresh, StaffSafe on a data folder preloaded with that phase's number of reports.
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
from datetime import datetime, timezone
from pathlib import Path

from bench.slack_load import command_body, view_body
from bench.slack_report import DEFAULT, FLOOR, KINDS, SERVERS, STAFFSAFE, Phase, log_note, table, verdicts, write_section
from bench.slack_runner import Runner, opened_view
from bench.slack_servers import ROOT, Server, start
from testkit.instances import free_port
from bench.slack_store import check, preload
from bot.crypto import new_key
from bot.domain.report_form import FORM_ID
from bot.settings import Settings
from testkit.fake_slack import FakeSlack
from testkit.slack_harness import APP_YAML, report_state

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
    parser.add_argument("--preload", default="0,10000",
                        help="one phase per value: reports stored before StaffSafe starts (0,10000)")
    parser.add_argument("--quick", action="store_true", help="a ~15 s smoke run (30 + 30, one round, empty store)")
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.views, args.commands, args.rounds, args.preload = 30, 30, 1, "0"
    args.levels = [int(level) for level in args.levels.split(",")]
    args.preload = [int(count) for count in args.preload.split(",")]
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
    bare = [sys.executable, "-m", "bench.bare_bolt", "--command", COMMAND, "--callback-id", FORM_ID]
    ports = {name: free_port() for name in SERVERS}
    argv = {
        STAFFSAFE: [str(Path(sys.executable).parent / "staffsafe"), "serve", "--port", str(ports[STAFFSAFE])],
        DEFAULT: [*bare, "--port", str(ports[DEFAULT])],
        FLOOR: [*bare, "--port", str(ports[FLOOR]), "--process-before-response"],
    }
    servers = {name: start(name, argv[name], env, ports[name], work / f"{name.replace(' ', '-')}.log")
               for name in SERVERS}
    try:
        for server in servers.values():
            server.wait_healthy()
    except RuntimeError:
        for server in servers.values():
            server.stop()
            print(f"--- {server.name} log:\n{server.tail()}", file=sys.stderr)
        raise
    return servers


def rounds(runner: Runner, args: argparse.Namespace) -> None:
    """Warm up, then every level and kind on every server, in interleaved rounds."""
    runner.send(STAFFSAFE, "command", 1, 1)  # StaffSafe opens the report modal: that is what gets submitted
    runner.bodies["view"] = view_body(opened_view(runner.slack, FORM_ID), report_state())
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


def phase(args: argparse.Namespace, preloaded: int) -> Phase:
    """Preload, start the servers, run the rounds, stop StaffSafe with SIGTERM and check its store."""
    print(f"phase: {preloaded:,} reports stored at start", flush=True)
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp, FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        work = Path(tmp)
        # A load test files many reports as few people: lift the per-person limits.
        (work / "app.yaml").write_text(APP_YAML + "limits: {reports_per_day: 1000000, files_per_day: 1000000}\n")
        secret_key = base64.b64encode(new_key()).decode()
        settings = Settings(config_path=work / "app.yaml", data_dir=work / "data", secret_key=secret_key,
                            secret_file=None)
        preload(settings, preloaded)
        servers = start_servers(work, server_env(work, slack, secret_key))
        try:
            runner = Runner(servers, slack, SIGNING_SECRET, {"command": command_body(COMMAND, slack.response_url("b"))})
            rounds(runner, args)
            exit_code = servers[STAFFSAFE].stop()
        finally:
            for server in servers.values():
                server.stop()
        ledger = check(settings, preloaded=preloaded, acked=runner.acked, references=runner.references,
                       exit_code=exit_code)
        return Phase(preloaded=preloaded, cells=runner.cells, ledger=ledger,
                     log=servers[STAFFSAFE].log.read_text(errors="replace").splitlines())


def revision() -> str:
    """The commit measured, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"commit {commit}" + (" plus uncommitted changes" if git("status", "--porcelain", "--", "bot", "handlers") else "")


def machine(nproc: str) -> str:
    """nproc, CPU model, Python, kernel."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return f"{nproc} CPUs (nproc; {model}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


METHOD = (
    "Method: three servers run as subprocesses under `taskset -c 0`, each on `bot.slack.serve.http_server` "
    "(waitress, 8 threads): StaffSafe (`staffsafe serve`, temp data folder and app.yaml, fixed "
    "STAFFSAFE_SECRET_KEY), *Bolt default* (a bare Bolt app that only acks, through Bolt's WSGI adapter and its "
    "own signature check; `bench/bare_bolt.py`) and *Bolt floor* (the same with `process_before_response=True`). "
    "The load generator (core 1) runs N client threads, each on one keep-alive `http.client` connection, signing "
    "every request fresh (HMAC-SHA256 over `v0:ts:body`). Slash commands are `/report`; view submissions are the "
    "report modal StaffSafe opened through the fake Slack's `views.open`, filled in as "
    "`testkit/slack_harness.report_state` (15 kB form-encoded). Latency = request sent to answer read. CPU = "
    "utime+stime of the server process from /proc/PID/stat, before each run and after the server went quiet, so "
    "StaffSafe's lazy `views.open` and its outbox deliveries to the fake Slack are counted (in brackets: its outbox "
    "thread's share). Peak RSS = VmHWM. Client core = the load generator's process CPU (fake Slack included) over "
    "wall time: near 100% would mean the client side limits that cell. Servers take turns within each round, "
    "rotated every round, after a warm-up of 20 requests of each kind."
)


def section(args: argparse.Namespace, phases: list[Phase], seconds: float, nproc: str) -> str:
    """The Markdown section for RESULTS.md."""
    per = f"{args.views} view submissions + {args.commands} slash commands per level per server and phase"
    lines = [
        "<!-- slack-bench:start -->",
        "## Slack: ack latency and server CPU under load (`bench/slack_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine(nproc)}; {per}, split over "
        f"{args.rounds} interleaved rounds; run time {seconds:.0f} s; {revision()}.",
        "",
        METHOD,
        "",
    ]
    for done in phases:
        lines += [f"### {done.preloaded:,} reports stored when StaffSafe started "
                  f"({done.ledger.stored:,} when it stopped)", ""]
        for kind in KINDS:
            lines += table(done.cells, kind, args.levels)
        lines += ["Goals:", "", *verdicts(done.cells, args.levels, done.ledger), "", log_note(done.log), ""]
    return "\n".join(lines).rstrip("\n") + "\n<!-- slack-bench:end -->\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and record it."""
    args = arguments(argv)
    if shutil.which("taskset") is None or shutil.which("nproc") is None or (os.cpu_count() or 1) < 2:
        print("slack_bench needs taskset and nproc (util-linux, coreutils) and at least 2 cores", file=sys.stderr)
        return 2
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    os.sched_setaffinity(0, {LOAD_CORE})  # before any thread starts (they inherit it); nproc would then say 1
    began = time.perf_counter()
    phases = [phase(args, count) for count in args.preload]
    text = section(args, phases, time.perf_counter() - began, nproc)
    if not (args.quick or args.no_write):
        write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: StaffSafe's Teams endpoint under 1, 10 and 50 clients, token validation on, against a PyJWT floor.

Not a test. Run `make bench-teams` (or `.venv/bin/python -m bench.teams_bench [--quick]`); it prints the
figures and replaces the teams-bench section of bench/RESULTS.md (not with --quick or --no-write).
Both servers run as subprocesses on core 0; this process (load generator, the fake Bot Framework
OpenID/JWKS server, the fake Entra token endpoint and the fake Connector) on core 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench import load, results
from bench.slack_bench import machine, revision
from bench.slack_report import STAFFSAFE, Cell, Cells, Ledger, log_note, percentile, table, total_cpu_ms
from bench.slack_runner import settle
from bench.slack_servers import Server, start
from testkit.instances import free_port
from bench.slack_store import check
from bot.app import open_store
from bot.crypto import new_key
from bot.domain.report import Delivery, OutboxState
from bot.settings import Settings
from bot.teams.forms import input_id
from testkit.fake_botframework import FakeBotFramework
from testkit.fake_connector import FakeConnector
from testkit.fake_entra import FakeEntra
from testkit.teams_harness import Activities

START, END = "<!-- teams-bench:start -->", "<!-- teams-bench:end -->"
FLOOR = "PyJWT floor"
SERVERS = (STAFFSAFE, FLOOR)
KINDS = {"message": "Message activity (`hotlines o2` typed in the personal chat)",
         "submit": "`task/submit` invoke (the report dialog, filled in)"}
MESSAGES_PATH = "/api/messages"
LOAD_CORE = 1
WARM_UP = 20  # requests of each kind per server before measuring
P99_GOAL_MS = 300.0
CPU_GOAL_RATIO = 3.0
REFERENCE = re.compile(r"SS-[A-Z0-9]{5}-[A-Z0-9]{5}")
O2_ROUTE = "nuisance@telefonica.com"  # in every answer to `hotlines o2`
LEADS_CHANNEL = "19:benchleads0000000000000000@thread.tacv2"
# Requests come from this many people, each in their own chat: one person's chat takes 7 messages a second
# from the bot at most (Teams' limit, which StaffSafe paces to), so one client's burst is spread over many.
STAFF = 200
LEAD, BACKUP = "11111111-0000-4000-8000-00000000000a", "22222222-0000-4000-8000-00000000000b"
REPORT = {input_id(field): answer for field, answer in {
    "what_happened": "Anonymous account posting about me", "where": "facebook", "first_seen": "2026-11-20",
    "occasions": "3", "perpetrator": "unknown", "adult": "unsure", "evidence_saved": "yes", "named": "named"}.items()}
APP_YAML = f"""
organisation: Example Academy Trust
leads:
  teams:
    - {{id: {LEAD}, name: Lee Harper}}
backup_leads:
  teams:
    - {{id: {BACKUP}, name: Bea Moss}}
lead_channel:
  teams: "{LEADS_CHANNEL}"
# A load test files many reports as few people: lift the per-person limits.
limits: {{reports_per_day: 1000000, files_per_day: 1000000}}
"""


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.teams_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=300, help="task/submit invokes per level per server (300)")
    parser.add_argument("--messages", type=int, default=300, help="message activities per level per server (300)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the requests are split over (3)")
    parser.add_argument("--levels", default="1,10,50", help="concurrent clients, comma-separated (1,10,50)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run (30 + 30, one round)")
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.submits, args.messages, args.rounds = 30, 30, 1
    args.levels = [int(level) for level in args.levels.split(",")]
    return args


def staff(n: int) -> str:
    """The Entra object id of member of staff n: request n comes from staff(n % STAFF) (a chat each, as in a school)."""
    return f"33333333-0000-4000-8000-{n % STAFF:012d}"


class TeamsLoad:
    """Activities as Teams sends them, each with the same Bot Framework token, as the Connector reuses one."""

    def __init__(self, *, activities: Activities, token: str) -> None:
        self.activities = activities
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        self.submit_data: dict[str, Any] = {}  # the report dialog's Action.Submit data, filled in

    def request(self, kind: str) -> load.Request:
        """Message activities, or task/submit invokes each from a dialog of its own (a submission id per request)."""
        def message(n: int, user: str) -> tuple[bytes, dict[str, str]]:
            return json.dumps(self.activities.message("hotlines o2", user=staff(n))).encode(), self.headers

        def submit(n: int, user: str) -> tuple[bytes, dict[str, str]]:
            data = self.submit_data | {"submission": f"{n:024x}"}
            activity = self.activities.invoke("task/submit", {"data": data}, user=staff(n))
            return json.dumps(activity).encode(), self.headers
        return {"message": message, "submit": submit}[kind]


def confirmed(answer: bytes) -> list[str] | None:
    """The report reference a task/submit answer quotes (None for any other answer)."""
    found = REFERENCE.findall(answer.decode(errors="replace"))
    return found or None


class Runner:
    """The servers, the load, and every figure measured so far."""

    def __init__(self, servers: dict[str, Server], teams: TeamsLoad, connector: FakeConnector) -> None:
        self.servers, self.teams, self.connector = servers, teams, connector
        self.cells: Cells = defaultdict(Cell)
        self.acked = 0  # StaffSafe's task/submit answers quoting a reference
        self.messages = 0  # StaffSafe's 200 answers to `hotlines o2`, warm-up included
        self.references: list[str] = []
        self.numbers = 0

    def url(self, server: str) -> str:
        """The server's /api/messages."""
        return f"http://127.0.0.1:{self.servers[server].port}{MESSAGES_PATH}"

    def post(self, server: str, activity: dict[str, Any]) -> dict[str, Any]:
        """One activity, sent and answered (set-up only); its JSON answer, {} for an empty one."""
        request = urllib.request.Request(self.url(server), data=json.dumps(activity).encode(),
                                         headers=self.teams.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                body = answer.read()
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{server} answered {error.code} to a {activity['type']} during set-up") from None
        return json.loads(body) if body.startswith(b"{") else {}

    def send(self, server: str, kind: str, total: int, clients: int) -> tuple[load.Run, float, float]:
        """One run; returns it with the server's CPU seconds (all, outbox thread), counted until it went quiet."""
        target = self.servers[server]
        before, outbox = target.cpu_seconds(), self._outbox(server)
        run = load.run_load(self.url(server), self.teams.request(kind), confirmed, total=total, clients=clients,
                            first=self.numbers, user_prefix="")
        self.numbers += total
        settle(target, lambda: len(self.connector.attempts()))
        if server == STAFFSAFE and kind == "submit":
            self.acked += run.updates
            self.references += run.references
        elif server == STAFFSAFE:
            self.messages += run.statuses[200]
        return run, target.cpu_seconds() - before, self._outbox(server) - outbox

    def _outbox(self, server: str) -> float:
        return self.servers[server].outbox_cpu_seconds() if server == STAFFSAFE else 0.0

    def measure(self, server: str, kind: str, total: int, clients: int) -> None:
        """One recorded run, printed as it ends."""
        run, cpu, outbox = self.send(server, kind, total, clients)
        self.cells[kind, clients, server].add(run, cpu, outbox, self.servers[server].peak_rss_mb())
        print(f"  {server:<12} {kind:<7} x{total:<4} at {clients:>2} clients: "
              f"p50 {percentile(run.latencies_ms, 50):6.1f} ms, p99 {percentile(run.latencies_ms, 99):6.1f} ms, "
              f"{len(run.latencies_ms) / run.wall_s:5.0f} req/s, CPU {cpu * 1000 / total:5.2f} ms/req, "
              f"errors {run.errors}, timeouts {run.timeouts}", flush=True)


def set_up(runner: Runner, activities: Activities) -> None:
    """Install the app for the leads, their channel and every member of staff; open the report dialog once."""
    people = [LEAD, BACKUP, *(staff(n) for n in range(STAFF))]
    for server in SERVERS:
        for person in people:
            runner.post(server, activities.install(user=person))
        runner.post(server, activities.channel_install(LEADS_CHANNEL, user=LEAD))
    runner.post(STAFFSAFE, activities.message("report", user=staff(0)))
    deadline = time.monotonic() + 30
    while not (opener := _opener(runner.connector)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not opener:
        raise RuntimeError("StaffSafe sent no card with a button opening the report form")
    dialog = runner.post(STAFFSAFE, activities.invoke("task/fetch", {"data": opener}, user=staff(0)))
    card = dialog["task"]["value"]["card"]["content"]
    runner.teams.submit_data = dict(card["actions"][0]["data"]) | REPORT


def _opener(connector: FakeConnector) -> dict[str, Any] | None:
    """The data of the first button that opens a dialog, in what the bot sent."""
    for call in connector.calls():
        for attachment in (call.body or {}).get("attachments", []):
            for action in attachment.get("content", {}).get("actions", []):
                if action.get("data", {}).get("msteams", {}).get("type") == "task/fetch":
                    return dict(action["data"])
    return None


def rounds(runner: Runner, args: argparse.Namespace) -> None:
    """Warm up, then every level and kind on both servers, in interleaved rounds."""
    for name in SERVERS:
        for kind in KINDS:
            runner.send(name, kind, WARM_UP, 5)
    for round_ in range(args.rounds):
        print(f"round {round_ + 1} of {args.rounds}", flush=True)
        order = SERVERS if round_ % 2 == 0 else SERVERS[::-1]  # neither server always goes first
        for level in args.levels:
            for kind, total in (("message", args.messages), ("submit", args.submits)):
                for name in order:
                    runner.measure(name, kind, max(1, total // args.rounds), level)


def server_env(work: Path, secret_key: str, idp: FakeBotFramework, entra: FakeEntra) -> dict[str, str]:
    """StaffSafe's environment: Teams only, trusting the local fakes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAFFSAFE_", "SLACK_", "CLIENT_", "TENANT_",
                                                                     "Microsoft", "TEAMS_"))}
    return env | {"STAFFSAFE_CONFIG": str(work / "app.yaml"), "STAFFSAFE_DATA_DIR": str(work / "data"),
                  "STAFFSAFE_SECRET_KEY": secret_key, "CLIENT_ID": idp.app_id, "CLIENT_SECRET": entra.secret,
                  "TENANT_ID": idp.tenant_id, "TEAMS_OPENID_METADATA_URL": idp.metadata_url,
                  "TEAMS_LOGIN_HOST": entra.login_host, "REQUESTS_CA_BUNDLE": str(entra.ca_bundle),
                  "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}


def start_servers(work: Path, env: dict[str, str], idp: FakeBotFramework,
                  connector: FakeConnector) -> dict[str, Server]:
    """StaffSafe and the floor, each on its own port, both on core 0."""
    ports = {name: free_port() for name in SERVERS}
    argv = {
        STAFFSAFE: [sys.executable, "-m", "bench.teams_server", "--port", str(ports[STAFFSAFE]),
                    "--connector-origin", connector.base_url],
        FLOOR: [sys.executable, "-m", "bench.bare_teams", "--port", str(ports[FLOOR]), "--app-id", idp.app_id,
                "--metadata-url", idp.metadata_url],
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


@dataclass(frozen=True)
class Deliveries:
    """Each report's leads' alert and receipt, read back after the restart: posted once, or still queued."""

    posted: Counter[str]  # kind -> reports whose item is marked sent and was posted to the fake Connector
    queued: Counter[str]  # kind -> items still waiting (Teams' per-chat limits pace them)
    closed: Counter[str]  # kind -> items closed without being posted (refused, undeliverable)
    missing: Counter[str]  # kind -> reports with no such item at all
    twice: int  # posts beyond one per report and kind
    answers: int  # answers to `hotlines o2` the fake Connector received
    messages: int  # `hotlines o2` messages StaffSafe answered 200
    mismatched: int  # items marked sent that the Connector never got, or posts of items not marked sent

    @property
    def ok(self) -> bool:
        """Nothing posted twice, nothing lost: every item posted once or still queued."""
        return not (self.twice or self.mismatched or sum(self.closed.values()) or sum(self.missing.values()))

    def words(self, kind: str) -> str:
        """One kind's figures, for the goal line."""
        return (f"{self.posted[kind]:,} posted once, {self.queued[kind]:,} still queued, {self.closed[kind]} "
                f"closed unposted, {self.missing[kind]} missing")


KINDS_DELIVERED = {Delivery.LEAD_ALERT: "alert", Delivery.RECEIPT: "receipt"}


def deliveries(settings: Settings, connector: FakeConnector, messages: int) -> Deliveries:
    """Compare the reopened store's alerts and receipts with what the fake Connector received."""
    posts: Counter[tuple[str, str]] = Counter()
    answers = sum(1 for call in connector.calls() if O2_ROUTE in json.dumps(call.body))
    for call in connector.calls("send"):
        kind = "alert" if call.conversation_id == LEADS_CHANNEL else "receipt"
        for reference in set(REFERENCE.findall(json.dumps(call.body))):
            posts[reference, kind] += 1
    sent: Counter[tuple[str, str]] = Counter()
    queued, closed, missing = Counter[str](), Counter[str](), Counter[str]()
    with open_store(settings) as store:
        for report in store.all_reports():
            found = set()
            for item in store.outbox_of(report.id):
                kind = KINDS_DELIVERED.get(item.kind)
                if kind is None:
                    continue
                found.add(kind)
                if item.state is OutboxState.SENT:
                    sent[report.reference, kind] += 1
                elif item.pending:
                    queued[kind] += 1
                else:
                    closed[kind] += 1
            missing.update(set(KINDS_DELIVERED.values()) - found)
    keys = set(posts) | set(sent)
    both = [kind for (reference, kind) in keys if posts[reference, kind] and sent[reference, kind]]
    return Deliveries(posted=Counter(both),
                      queued=queued, closed=closed, missing=missing,
                      twice=sum(n - 1 for n in posts.values() if n > 1), answers=answers,
                      messages=messages,
                      mismatched=sum(1 for key in keys if bool(posts[key]) != bool(sent[key])))


def run_bench(args: argparse.Namespace) -> tuple[Cells, Ledger, Deliveries, list[str]]:
    """Start the fakes and the servers, run the rounds, stop StaffSafe with SIGTERM and check its store."""
    with tempfile.TemporaryDirectory(prefix="teams-bench-") as tmp, FakeConnector() as connector, \
            FakeBotFramework(service_url=connector.service_url) as idp:
        work = Path(tmp)
        with FakeEntra(tenant_id=idp.tenant_id, app_id=idp.app_id, directory=work / "tls") as entra:
            (work / "app.yaml").write_text(APP_YAML)
            secret_key = base64.b64encode(new_key()).decode()
            settings = Settings(config_path=work / "app.yaml", data_dir=work / "data", secret_key=secret_key,
                                secret_file=None)
            servers = start_servers(work, server_env(work, secret_key, idp, entra), idp, connector)
            activities = Activities(service_url=connector.service_url, tenant=idp.tenant_id)
            runner = Runner(servers, TeamsLoad(activities=activities, token=idp.token()), connector)
            try:
                set_up(runner, activities)
                rounds(runner, args)
                exit_code = servers[STAFFSAFE].stop()
            finally:
                for server in servers.values():
                    server.stop()
            ledger = check(settings, preloaded=0, acked=runner.acked, references=runner.references,
                           exit_code=exit_code)
            delivered = deliveries(settings, connector, runner.messages)
            log = servers[STAFFSAFE].log.read_text(errors="replace").splitlines()
            return runner.cells, ledger, delivered, log


METHOD = (
    "Method: two servers run as subprocesses under `taskset -c 0`, each on `bot.slack.serve.http_server` "
    "(waitress, 8 threads): StaffSafe (`bench/teams_server.py`: `staffsafe serve`'s Teams wiring — tproto's "
    "InboundAuth, msal tokens, the Connector client, `build_served` — whose Connector may also reach the local "
    "fake; Teams settings only: CLIENT_ID, CLIENT_SECRET, TENANT_ID; temp data folder and app.yaml, fixed "
    "STAFFSAFE_SECRET_KEY) and the *PyJWT floor* "
    "(`bench/bare_teams.py`: a bare WSGI app that validates the same token with PyJWT — RS256, key by kid from "
    "the same JWKS, issuer, audience, exp/nbf — and answers 200 `{}` without reading the activity). This "
    "process (core 1) runs the local fakes — Bot Framework's OpenID metadata and JWKS (RSA keys made for the run, "
    "with endorsements), Entra's token endpoint over https (test CA in REQUESTS_CA_BUNDLE, for msal) and the "
    "Connector the bot answers to — and N client threads, each on one keep-alive `http.client` connection, "
    "posting activities as Teams does with a Bot Framework token signed by the fake's key (one token, as the "
    "Connector reuses one; StaffSafe checks every request in full: signature, issuer, audience, times, "
    "serviceurl, endorsement, tenant). Messages are `hotlines o2` in each client's personal chat (answered "
    "through the Connector after the HTTP 200); `task/submit` invokes carry the report dialog StaffSafe opened "
    "(task/fetch), filled in, each with a submission id of its own so each files a report. Latency = request "
    "sent to answer read. CPU = utime+stime of the server process from /proc/PID/stat, before each run and "
    "after the server went quiet, so answers sent after the HTTP answer and outbox deliveries (lead alert to the "
    "leads' channel + receipt per report) are counted (in brackets: the outbox thread's share); deliveries "
    "Teams' limits still hold back when the run ends are not. Servers alternate going first each round, after a "
    "warm-up of 20 requests of each kind; the app is installed for 2 leads, their channel and every client "
    "first.")


def verdicts(cells: Cells, levels: list[int], ledger: Ledger, delivered: Deliveries) -> list[str]:
    """PASS/FAIL per goal, with the figure behind each."""
    answers_posted, messages_answered = delivered.answers, delivered.messages
    top = max(levels)
    p99s = {kind: cells[kind, top, STAFFSAFE].p99 for kind in KINDS}
    ours, floor = total_cpu_ms(cells, "submit", STAFFSAFE, levels), total_cpu_ms(cells, "submit", FLOOR, levels)
    ratio = ours / floor if floor else float("inf")
    worst = max(cells["submit", lv, STAFFSAFE].cpu_ms / (cells["submit", lv, FLOOR].cpu_ms or 1) for lv in levels)
    errors = sum(c.errors + c.timeouts for c in cells.values())

    def verdict(ok: bool) -> str:
        return "**PASS**" if ok else "**FAIL**"

    return [
        f"- {verdict(max(p99s.values()) < P99_GOAL_MS)} p99 under {P99_GOAL_MS:.0f} ms at {top} clients, each "
        f"report stored (committed, fsynced) before its answer: task/submit {p99s['submit']:.1f} ms, message "
        f"{p99s['message']:.1f} ms (every answered reference was found after the restart: "
        f"{'yes' if ledger.missing == 0 else 'NO'})",
        f"- {verdict(ratio <= CPU_GOAL_RATIO)} server CPU per task/submit at most {CPU_GOAL_RATIO:.0f}x the "
        f"floor's: {ours:.2f} ms vs {floor:.2f} ms = {ratio:.2f}x over every level (worst level {worst:.2f}x), "
        "StaffSafe's figure including its deliveries after the answer",
        f"- {verdict(ledger.ok and delivered.ok)} zero lost or duplicated reports after a restart: "
        f"{ledger.stored:,} stored = {ledger.acked:,} answered with a reference; {ledger.unique_references:,} "
        f"unique references; lost {ledger.lost}, duplicated {ledger.duplicated}, answered references missing "
        f"from the store {ledger.missing}; StaffSafe exited {ledger.exit_code} after SIGTERM. Read back from the "
        f"reopened store against the fake Connector's posts: leads' alerts {delivered.words('alert')}; receipts "
        f"{delivered.words('receipt')}; {delivered.twice} posted twice, {delivered.mismatched} marked sent but "
        "not posted or the other way round (deliveries queue behind Teams' limits, which StaffSafe paces to: 50 "
        "requests a second per app and tenant, and 60 posts per 30 s into one chat or channel; queued ones stay "
        "queued across the restart)",
        f"- Answers to the typed `hotlines o2` (sent after the HTTP 200, not through the outbox): "
        f"{answers_posted:,} posted for {messages_answered:,} messages answered 200 (an answer the pacing or the "
        "Connector turns away is logged as an incident and not retried)",
        f"- HTTP errors + timeouts over all runs and servers: {errors}",
    ]


def section(args: argparse.Namespace, cells: Cells, ledger: Ledger, delivered: Deliveries, log: list[str],
            seconds: float, nproc: str) -> str:
    """The Markdown section for RESULTS.md."""
    per = f"{args.submits} task/submit invokes + {args.messages} messages per level per server"
    lines = [
        START,
        "## Teams: answer latency and server CPU under load, token validation on (`bench/teams_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine(nproc)}; {per}, split over "
        f"{args.rounds} interleaved rounds; run time {seconds:.0f} s; {revision()}.",
        "",
        METHOD,
        "",
    ]
    for kind in KINDS:
        lines += table(cells, kind, args.levels, kinds=KINDS, servers=SERVERS, floor_name=FLOOR)
    lines += ["Goals:", "", *verdicts(cells, args.levels, ledger, delivered), "", log_note(log), ""]
    return "\n".join(lines).rstrip("\n") + f"\n{END}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and record it."""
    args = arguments(argv)
    if shutil.which("taskset") is None or shutil.which("nproc") is None or (os.cpu_count() or 1) < 2:
        print("teams_bench needs taskset and nproc (util-linux, coreutils) and at least 2 cores", file=sys.stderr)
        return 2
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    os.sched_setaffinity(0, {LOAD_CORE})  # before any thread starts (they inherit it); nproc would then say 1
    began = time.perf_counter()
    cells, ledger, delivered, log = run_bench(args)
    text = section(args, cells, ledger, delivered, log, time.perf_counter() - began, nproc)
    if not (args.quick or args.no_write):
        results.write_section(text, start=START, end=END)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

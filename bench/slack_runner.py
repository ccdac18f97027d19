"""One phase's runs: each sent to one server, its CPU read before and after, its figures added to a cell."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.slack_load import Body, Run, run_load
from bench.slack_report import STAFFSAFE, Cell, Cells, percentile
from bench.slack_servers import Server
from testkit.fake_slack import FakeSlack


def opened_view(slack: FakeSlack, callback_id: str, timeout: float = 10) -> dict[str, Any]:
    """The last modal with this callback id that the bot opened through the fake's views.open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in reversed(slack.calls("views.open")):
            if call.args["view"].get("callback_id") == callback_id:
                return dict(call.args["view"])
        time.sleep(0.05)
    raise RuntimeError(f"the bot opened no {callback_id!r} modal")


def settle(server: Server, calls: Callable[[], int], quiet: float = 0.3, limit: float = 30) -> None:
    """Wait for work after the answers (lazy listeners, outbox deliveries) to finish, so its CPU is counted.

    `calls` counts what the server has asked of the platform's fake so far.
    """
    last, still = (server.cpu_seconds(), calls()), time.monotonic()
    deadline = still + limit
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = (server.cpu_seconds(), calls())
        if now != last:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet:
            return


class Runner:
    """The servers, the request bodies, and every figure measured so far in one phase."""

    def __init__(self, servers: dict[str, Server], slack: FakeSlack, secret: str, bodies: dict[str, Body]) -> None:
        self.servers, self.slack, self.secret, self.bodies = servers, slack, secret, bodies
        self.cells: Cells = defaultdict(Cell)
        self.acked = 0  # StaffSafe's view submissions answered with response_action "update"
        self.references: list[str] = []  # the report references quoted in those answers
        self.numbers = 0  # request numbers used so far (trigger ids)

    def send(self, server: str, kind: str, total: int, clients: int) -> tuple[Run, float, float]:
        """One run; returns it with the server's CPU seconds (all, outbox thread), counting acked reports."""
        target = self.servers[server]
        before, outbox = target.cpu_seconds(), self._outbox(server)
        run = run_load(target.url, self.secret, self.bodies[kind], total=total, clients=clients, first=self.numbers)
        self.numbers += total
        settle(target, lambda: len(self.slack.attempts()))
        if server == STAFFSAFE and kind == "view":
            self.acked += run.updates
            self.references += run.references
        return run, target.cpu_seconds() - before, self._outbox(server) - outbox

    def measure(self, server: str, kind: str, total: int, clients: int) -> None:
        """One recorded run, printed as it ends."""
        run, cpu, outbox = self.send(server, kind, total, clients)
        self.cells[kind, clients, server].add(run, cpu, outbox, self.servers[server].peak_rss_mb())
        print(f"  {server:<12} {kind:<7} x{total:<4} at {clients:>2} clients: "
              f"p50 {percentile(run.latencies_ms, 50):6.1f} ms, p99 {percentile(run.latencies_ms, 99):6.1f} ms, "
              f"{len(run.latencies_ms) / run.wall_s:5.0f} req/s, CPU {cpu * 1000 / total:5.2f} ms/req, "
              f"errors {run.errors}, timeouts {run.timeouts}", flush=True)

    def _outbox(self, server: str) -> float:
        return self.servers[server].outbox_cpu_seconds() if server == STAFFSAFE else 0.0

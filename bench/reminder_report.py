"""Figures for the reminder fan-out benchmark, and its section of RESULTS.md."""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from bench import results

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- reminder-bench:start -->", "<!-- reminder-bench:end -->"
STAFFSAFE, BASELINE = "StaffSafe", "slack_sdk loop"
TEAMS = "StaffSafe on Teams"
NEAR_FLOOR = 1.25  # within this factor of the floor, the limit (not the sender) sets the pace


@dataclass(frozen=True, kw_only=True)
class Run:
    """One fan-out, as the fake Slack saw it."""

    name: str
    rate: float  # the workspace limit, messages a second
    seconds: float  # from the start (StaffSafe: the scheduler's pass) to the last message stored
    stored: int
    wrong_channels: int  # channels without exactly one message (and messages in channels never asked for)
    rate_limited: int  # 429s answered
    attempts: int  # chat.postMessage requests, 429s included
    claim_seconds: float = 0.0  # StaffSafe: the scheduler's pass (the claim commit)
    recorded_seconds: float = 0.0  # StaffSafe: until the outbox recorded every item delivered
    lookups: int = 0  # StaffSafe: conversations.history calls (looking for a post that may have landed)

    def floor(self, channels: int) -> float:
        """The least time the workspace limit allows, burst aside."""
        return channels / self.rate

    def line(self, channels: int) -> str:
        """One line for the terminal."""
        return (f"{self.name:>15} at {self.rate:g}/s: {self.seconds:6.1f} s (floor {self.floor(channels):.1f} s), "
                f"{self.stored} stored, {self.wrong_channels} channels wrong, {self.rate_limited} 429s, "
                f"{self.attempts} attempts")


def revision() -> str:
    """The commit measured, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT)
        return done.stdout.strip() if done.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"commit {commit}" + (" + uncommitted changes" if git("status", "--porcelain") else "")


def machine() -> str:
    """nproc, CPU model, Python, kernel."""
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or "?"
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    system = f"{platform.system()} {platform.release()}"
    return f"{nproc} CPUs (nproc; {model}), Python {platform.python_version()}, {system}"


def method(channels: int, burst: int) -> str:
    """How the figures were made."""
    return (
        f"Method: one reminder (daily 09:00 Europe/London) in {channels:,} channels, saved by "
        "`handlers.reminders.save_reminder` into a TinyDBStore in a temp data folder (`bot.app.running` with "
        "testkit/slack_harness's app.yaml; a clock that reads 08:00, then jumps to the due time and runs at real "
        "speed), wired by `bot.app.build_slack` with production's settings: SlackNotifier without retries, "
        "`Pacer()` (1 s per channel; after a 429 a pause for Retry-After, then posts spaced at the rate Slack "
        "had just accepted, easing 1% per accepted post), the outbox worker thread polling every 1 s. "
        "Timed from the scheduler's pass (`runtime.scheduler.run_once()`: `run_due_work` claims the send in one "
        "commit with an outbox item per channel, then wakes the worker) to the fake storing the last message. "
        "The fake Slack (`testkit/fake_slack.py`) limits chat.postMessage to 1/s per channel and to the workspace "
        f"rate shown (token bucket, burst {burst}), answering excess with 429 and Retry-After (the wait rounded "
        "up to whole seconds, at least 1) without storing it. Baseline: a plain loop of `chat_postMessage` over "
        "the same channels with the same message (the product's rendered card), by a `WebClient` with slack_sdk's "
        "`RateLimitErrorRetryHandler` (sleeps Retry-After plus 0-1 s of jitter, then retries), against a fresh "
        "fake with the same limits. At each rate the two run side by side in one process, each against its own "
        "fake; both mostly sleep. Floor = channels / workspace rate."
    )


def findings(runs: list[Run], channels: int) -> list[str]:
    """What the figures say, worked out from them."""
    ours = [run for run in runs if run.name == STAFFSAFE]
    theirs = {run.rate: run for run in runs if run.name == BASELINE}
    bad = [f"{run.name} at {run.rate:g}/s ({run.wrong_channels})" for run in runs if run.wrong_channels]
    lines = [f"- Every channel got exactly one message in every run: "
             f"{'yes' if not bad else 'NO: ' + ', '.join(bad)}."]
    for run in ours:
        other = theirs.get(run.rate)
        versus = f"; the baseline took {other.seconds / run.seconds:.2f}x as long" if other else ""
        lines.append(f"- At {run.rate:g}/s StaffSafe took {run.seconds / run.floor(channels):.1f}x the floor, "
                     f"{run.stored / run.seconds:.1f} posts/s, {run.rate_limited} 429s{versus}. Claim commit "
                     f"{run.claim_seconds * 1000:.0f} ms; the outbox had recorded every post "
                     f"{run.recorded_seconds:.1f} s after the pass; {run.lookups} conversations.history look-ups.")
    if ours and all(run.seconds > NEAR_FLOOR * run.floor(channels) for run in ours):
        lines.append(
            "- Reading: each 429 costs a whole Retry-After (1 s at least) with nothing sent, so the time above "
            "the floor is mostly the 429s; the rest is one thread posting one message at a time (about 150 "
            "posts/s here). An earlier pacer that sent flat out until refused took 2.0x and 6.5x the floor "
            "with 38 and 31 429s: its pace followed the fake's burst, not the workspace rate."
        )
    return lines


def teams_lines(runs: list[Run], channels: int) -> list[str]:
    """The Teams run's method, table and reading."""
    if not runs:
        return []
    lines = [
        "", f"### Teams: the same reminder to {channels:,} Teams channels (`bench/reminder_teams.py`)", "",
        "Method: the same reminder saved by a Teams admin into a TinyDBStore, with a stored conversation reference "
        "per channel (as installs in their teams leave them), wired by `bot.app.build_served` (Teams only) with "
        "production's Connector client (`bot.teams.connector.ConnectorClient`: each request paced to Teams' "
        "published limits, 50 a second per app and tenant and 7 a second per conversation, 5% wider; a 429 handed "
        "to the outbox with its Retry-After) and outbox worker. The local Connector (`testkit/fake_connector.py`) "
        "enforces the same limits over sliding one-second windows, answering excess with 429 and Retry-After 1 "
        "without storing the message. Timed from the scheduler's pass to the Connector storing the last message. "
        "Floor = channels / 50 per second.",
        "",
        "| limits | sender | start to last post | floor | x floor | posts/s | messages stored "
        "| channels without exactly 1 | 429s | send attempts |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        floor = run.floor(channels)
        lines.append(f"| {run.rate:g}/s per tenant, 7/s per conversation | {run.name} | {run.seconds:.1f} s "
                     f"| {floor:.1f} s | {run.seconds / floor:.1f}x | {run.stored / run.seconds:.1f} "
                     f"| {run.stored:,} | {run.wrong_channels} | {run.rate_limited:,} | {run.attempts:,} |")
        lines.append("")
        lines.append(f"- On Teams StaffSafe took {run.seconds / floor:.1f}x the floor, {run.stored:,} messages "
                     f"for {channels:,} channels, {run.rate_limited} 429s received. Claim commit "
                     f"{run.claim_seconds * 1000:.0f} ms; the outbox had recorded every post "
                     f"{run.recorded_seconds:.1f} s after the pass.")
    return lines


def section(runs: list[Run], *, channels: int, burst: int, seconds: float) -> str:
    """The Markdown section for RESULTS.md."""
    teams = [run for run in runs if run.name == TEAMS]
    runs = [run for run in runs if run.name != TEAMS]
    lines = [
        START,
        f"## Reminders: one reminder fanned out to {channels:,} Slack channels, then Teams channels "
        "(`bench/reminder_bench.py`)",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {machine()}; run time {seconds:.0f} s; "
        f"{revision()}.",
        "",
        method(channels, burst),
        "",
        "| workspace limit | sender | start to last post | floor | x floor | posts/s | messages stored "
        "| channels without exactly 1 | 429s | chat.postMessage attempts |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        floor = run.floor(channels)
        lines.append(f"| {run.rate:g}/s, burst {burst} | {run.name} | {run.seconds:.1f} s | {floor:.1f} s "
                     f"| {run.seconds / floor:.1f}x | {run.stored / run.seconds:.1f} | {run.stored:,} "
                     f"| {run.wrong_channels} | {run.rate_limited:,} | {run.attempts:,} |")
    lines += ["", *findings(runs, channels), *teams_lines(teams, channels), END]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Replace this bench's section of RESULTS.md, keeping every other section as it is."""
    results.write_section(text, start=START, end=END)
"""Benchmark: one awareness reminder fanned out to 1,000 Slack channels under Slack's rate limits, then Teams'.

Not a test. Run `make bench-reminders` (or `.venv/bin/python -m bench.reminder_bench [--rates 50,200]`);
it prints the figures and replaces the reminder-bench section of bench/RESULTS.md (not with --no-write).
At each workspace limit, StaffSafe (the scheduler's pass, then the outbox worker thread) and a baseline
(a plain loop over slack_sdk's own 429 handling) each post to their own fake Slack; then StaffSafe posts
to 1,000 Teams channels against a local Connector enforcing Teams' limits (bench/reminder_teams.py).
Exits 1 if any channel did not get exactly one message, in any run.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bench.reminder_report import BASELINE, STAFFSAFE, Run, section, write_section
from bench.reminder_teams import teams_run
from bench.shifted_clock import ShiftedClock
from bot.app import SlackRuntime, build_slack, running
from bot.content import load_content
from bot.crypto import new_key
from bot.domain.org import Actor
from bot.domain.ui import Reply
from bot.settings import Settings
from bot.slack.blocks import render_reply
from handlers.reminder_cards import reminder_card
from handlers.reminders import save_reminder
from testkit.fake_slack import FakeSlack
from testkit.slack_harness import APP_YAML, BOT_TOKEN, LEAD

TOPIC = "device-locking"
SAVED_AT = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
DUE_AT = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)  # 09:00 Europe/London (GMT in November)
POLL = 0.005  # seconds between looks at the store while waiting for the outbox to record the last post


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.reminder_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=1000, help="channels the reminder posts in (1000)")
    parser.add_argument("--rates", default="50,200",
                        help="workspace-wide chat.postMessage limits, messages/s, one pair of runs each (50,200)")
    parser.add_argument("--burst", type=int, default=25, help="the workspace limit's burst, messages (25)")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds a run may take before it fails (150)")
    parser.add_argument("--no-write", action="store_true", help="print the figures, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    args.rates = [float(rate) for rate in args.rates.split(",")]
    return args


def channel_ids(count: int) -> list[str]:
    """Slack-looking channel ids, C0000001 upward."""
    return [f"C{n:07d}" for n in range(1, count + 1)]


def fake_slack(channels: list[str]) -> FakeSlack:
    """A started fake that knows every channel, with the bot a member of each; no limits yet."""
    slack = FakeSlack(token=BOT_TOKEN).start()
    for channel in channels:
        slack.add_channel(channel)
    return slack


def limit(slack: FakeSlack, rate: float, burst: int) -> None:
    """Slack's limits on chat.postMessage: one a second per channel, `rate` a second across the workspace."""
    slack.limit(channel_rate=1, channel_burst=1, workspace_rate=rate, workspace_burst=burst)


def wait_for(done: Callable[[], bool], deadline: float) -> bool:
    """Poll until `done()` or the deadline (a perf_counter time); whether it got done."""
    while not done():
        if time.perf_counter() > deadline:
            return False
        time.sleep(POLL)
    return True


def wait_for_posts(slack: FakeSlack, count: int, deadline: float) -> None:
    """Block until the fake has stored `count` messages or the deadline passes (the tally shows how many)."""
    try:
        slack.wait_for("chat.postMessage", count, timeout=max(0.0, deadline - time.perf_counter()))
    except AssertionError:
        pass


def tally(slack: FakeSlack, channels: list[str], name: str, rate: float, seconds: float) -> Run:
    """What the fake saw: messages stored, channels without exactly one, 429s and attempts."""
    stored = Counter(str(call.args.get("channel")) for call in slack.calls("chat.postMessage"))
    wrong = sum(1 for channel in channels if stored[channel] != 1) + len(set(stored) - set(channels))
    return Run(name=name, rate=rate, seconds=seconds, stored=sum(stored.values()), wrong_channels=wrong,
               rate_limited=slack.rate_limited, attempts=len(slack.attempts("chat.postMessage")))


def reminder_answers(channels: list[str]) -> dict[str, object]:
    """The reminder form as an admin fills it in: daily at 09:00 London time, in every channel (qualified ids)."""
    return {"name": "Screen lock", "channels": list(channels), "topic": TOPIC,
            "frequency": "daily", "weekdays": [], "day_of_month": None, "cron": "", "time": "09:00",
            "timezone": "Europe/London", "start": date(2026, 11, 24), "end": None}


def staffsafe(channels: list[str], rate: float, burst: int, timeout: float) -> Run:
    """The product's path: TinyDB store, a saved reminder, the scheduler's pass at the due time, the outbox thread."""
    slack = fake_slack(channels)
    try:
        with tempfile.TemporaryDirectory(prefix="reminder-bench-") as tmp:
            work = Path(tmp)
            (work / "app.yaml").write_text(APP_YAML)
            settings = Settings(config_path=work / "app.yaml", data_dir=work / "data",
                                secret_key=base64.b64encode(new_key()).decode(), secret_file=None,
                                slack_bot_token=BOT_TOKEN, slack_api_url=slack.api_url)
            clock = ShiftedClock(SAVED_AT)
            with running(settings, clock=clock) as (services, config):
                # Production's settings (outbox poll 1 s, Pacer()); the scheduler thread is not started
                # because its pass is run below, once, at the due time.
                runtime = build_slack(services, config, settings)
                saved = save_reminder(runtime.services, Actor(id=f"slack:{LEAD}", name="Lee Harper"), "",
                                      reminder_answers([f"slack:{c}" for c in channels]))
                assert saved.ok, saved.errors
                runtime.worker.start()
                try:
                    return fan_out(runtime, slack, channels, clock, rate=rate, burst=burst, timeout=timeout)
                finally:
                    runtime.worker.stop()
    finally:
        slack.stop()


def fan_out(runtime: SlackRuntime, slack: FakeSlack, channels: list[str], clock: ShiftedClock, *,
            rate: float, burst: int, timeout: float) -> Run:
    """From the scheduler's pass at the due time until the fake has every post and the outbox says so."""
    store = runtime.services.store
    limit(slack, rate, burst)  # full buckets now, as for the baseline
    clock.jump(DUE_AT)
    began = time.perf_counter()
    runtime.scheduler.run_once()  # claims the send (one commit, an outbox item per channel) and wakes the worker
    claimed = time.perf_counter() - began
    deadline = began + timeout
    wait_for_posts(slack, len(channels), deadline)
    posted = time.perf_counter() - began
    run = store.runs_of(store.reminders()[0].id)[0]
    wait_for(lambda: all(item.delivered_at for item in store.outbox_of_run(run.id)), deadline)
    recorded = time.perf_counter() - began
    return replace(tally(slack, channels, STAFFSAFE, rate, posted), claim_seconds=claimed,
                   recorded_seconds=recorded, lookups=len(slack.attempts("conversations.history")))


def baseline(channels: list[str], rate: float, burst: int, timeout: float) -> Run:
    """The same message posted in a plain loop by a WebClient that sleeps out each 429 (slack_sdk's own handler)."""
    text, blocks = render_reply(Reply(cards=(reminder_card(load_content().tips[TOPIC], "bench@run"),)))[0]
    slack = fake_slack(channels)
    try:
        # It sleeps Retry-After plus up to a second of jitter, then tries the same message again.
        client = WebClient(token=BOT_TOKEN, base_url=slack.api_url,
                           retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=10_000)])
        limit(slack, rate, burst)
        began = time.perf_counter()
        for channel in channels:
            if time.perf_counter() - began > timeout:
                break
            client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        return tally(slack, channels, BASELINE, rate, time.perf_counter() - began)
    finally:
        slack.stop()


def measure(channels: list[str], rate: float, burst: int, timeout: float) -> list[Run]:
    """StaffSafe and the baseline at one workspace limit, side by side, each against its own fake Slack.

    Side by side because both spend nearly all their time waiting out Retry-After (a few per cent of
    one core between them), and one after the other they would not fit in two minutes.
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench") as pool:
        futures = [pool.submit(bench, channels, rate, burst, timeout) for bench in (staffsafe, baseline)]
        return [future.result() for future in futures]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and record it; 1 if any channel did not get exactly one message."""
    args = arguments(argv)
    channels = channel_ids(args.channels)
    began = time.perf_counter()
    runs = []
    for rate in args.rates:
        for run in measure(channels, rate, args.burst, args.timeout):
            print(run.line(len(channels)), flush=True)
            runs.append(run)
    teams = teams_run(len(channels), timeout=args.timeout, clock=ShiftedClock(SAVED_AT), answers=reminder_answers,
                      due_at=DUE_AT)
    print(teams.line(len(channels)), flush=True)
    runs.append(teams)
    text = section(runs, channels=len(channels), burst=args.burst, seconds=time.perf_counter() - began)
    if not args.no_write:
        write_section(text)
    print(text)
    return 1 if any(run.wrong_channels for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

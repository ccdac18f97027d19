"""The reminder benchmark's Teams run: one reminder to 1,000 Teams channels against a local Connector with Teams' limits.

Run by `bench/reminder_bench.py` (`make bench-reminders`) beside the Slack figures.
"""

from __future__ import annotations

import base64
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bench.reminder_report import TEAMS as TEAMS_STAFFSAFE
from bench.reminder_report import Run
from bench.shifted_clock import ShiftedClock
from bot.app import ServedRuntime, TeamsConnection, build_served, running
from bot.crypto import new_key
from bot.domain.org import Actor
from bot.domain.platform import ConversationRef, conversation_id_of, qualified_id
from bot.domain.ports import Changes
from bot.domain.ui import Answers
from bot.settings import Settings
from bot.teams.capabilities import TEAMS
from bot.teams.connector import TENANT_LIMIT, ConnectorClient
from handlers.reminders import save_reminder
from testkit.fake_connector import FakeConnector
from testkit.teams_harness import APP_YAML, LEAD, TENANT

PER_CONVERSATION = (7, 1.0)  # Teams: 7 messages a second per conversation (and more over longer windows)


class StaticToken:
    """A bot token the local Connector takes (it checks only that one is sent)."""

    def token(self) -> str:
        """The token."""
        return "bench"


def teams_channels(count: int) -> list[str]:
    """Teams-looking channel conversation ids."""
    return [f"19:bench{n:06d}0000000000000000@thread.tacv2" for n in range(1, count + 1)]


def teams_run(count: int, *, timeout: float, clock: ShiftedClock, answers: Callable[[list[str]], Answers],
              due_at: datetime) -> Run:
    """StaffSafe's Teams path (production's wiring and Connector client), from the scheduler's pass at `due_at`
    to the local Connector storing the last message; `answers` fills the reminder form for the channels."""
    channels = teams_channels(count)
    rate = float(TENANT_LIMIT[0]) / TENANT_LIMIT[1]
    with FakeConnector() as fake, tempfile.TemporaryDirectory(prefix="reminder-bench-teams-") as tmp:
        client = ConnectorClient(tokens=StaticToken(), app_id="bench-app", tenant_id=TENANT,
                                 allowed_origins=(fake.base_url,))
        work = Path(tmp)
        (work / "app.yaml").write_text(APP_YAML)
        settings = Settings(config_path=work / "app.yaml", data_dir=work / "data",
                            secret_key=base64.b64encode(new_key()).decode(), secret_file=None, port=0)
        with running(settings, clock=clock) as (services, config):
            references = tuple(ConversationRef(
                id=conversation_id_of(qualified_id(TEAMS, c)), target=qualified_id(TEAMS, c),
                service_url=fake.service_url, conversation=c, tenant=TENANT, updated_at=clock.now())
                for c in channels)
            services.store.commit(Changes(conversations=references))  # as installs in their teams would leave
            runtime = build_served(services, config, settings, slack=False,
                                   teams=TeamsConnection(auth=None, connector=client, downloads=client))
            saved = save_reminder(runtime.services, Actor(id=qualified_id(TEAMS, LEAD)), "",
                                  answers([qualified_id(TEAMS, c) for c in channels]))
            assert saved.ok, saved.errors
            fake.limit(per_conversation=PER_CONVERSATION, overall=TENANT_LIMIT)
            runtime.worker.start()
            try:
                clock.jump(due_at)
                return _fan_out(runtime, fake, channels, rate=rate, timeout=timeout)
            finally:
                runtime.worker.stop()


def _fan_out(runtime: ServedRuntime, fake: FakeConnector, channels: list[str], *, rate: float, timeout: float) -> Run:
    store = runtime.services.store
    began = time.perf_counter()
    runtime.scheduler.run_once()
    claimed = time.perf_counter() - began
    deadline = began + timeout
    try:
        fake.wait_for("send", len(channels), timeout=max(0.0, deadline - time.perf_counter()))
    except AssertionError:
        pass
    posted = time.perf_counter() - began
    run = store.runs_of(store.reminders()[0].id)[0]
    while not all(item.delivered_at for item in store.outbox_of_run(run.id)) and time.perf_counter() < deadline:
        time.sleep(0.01)
    recorded = time.perf_counter() - began
    stored = Counter(call.conversation_id for call in fake.calls("send"))
    wrong = sum(1 for c in channels if stored[c] != 1) + len(set(stored) - set(channels))
    return replace(Run(name=TEAMS_STAFFSAFE, rate=rate, seconds=posted, stored=sum(stored.values()),
                       wrong_channels=wrong, rate_limited=fake.rate_limited,
                       attempts=len(fake.attempts("send"))),
                   claim_seconds=claimed, recorded_seconds=recorded)

"""The benchmark's data folder: preloaded before StaffSafe starts, checked after it stops."""

from __future__ import annotations

from datetime import timedelta

from bench.slack_report import Ledger
from bot.app import open_store, running
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.settings import Settings
from bot.slack.forms import answers_from_state
from handlers.outbox_state import delivered
from handlers.reports import open_report_form, submit_report
from testkit.slack_harness import report_state

BATCH = 500


def preload(settings: Settings, count: int) -> None:
    """Submit `count` reports through the submit handler, then mark their deliveries as sent."""
    if count <= 0:
        return
    with running(settings) as (services, _):
        answers = answers_from_state(open_report_form(services), report_state())
        for n in range(count):
            result = submit_report(services, Actor(id=f"slack:U0PRE{n % 50:04d}", name="Sam Jones"), answers)
            if not result.ok:
                raise RuntimeError(f"preload: the report form was refused: {sorted(result.errors)}")
        # Otherwise the server would spend the measured runs delivering the backlog to the fake.
        now = services.clock.now()
        while due := services.store.due_outbox(now + timedelta(days=1), BATCH):
            services.store.commit(Changes(outbox=tuple(delivered(item, now, receipt="preload") for item in due)))


def check(settings: Settings, *, preloaded: int, acked: int, references: list[str], exit_code: int) -> Ledger:
    """Reopen the stopped server's data folder and compare it with what the acks promised."""
    with open_store(settings) as store:
        stored = [report.reference for report in store.all_reports()]
    found = set(stored)
    return Ledger(preloaded=preloaded, acked=acked, acked_references=len(set(references)), stored=len(stored),
                  unique_references=len(found), missing=sum(1 for ref in set(references) if ref not in found),
                  exit_code=exit_code)

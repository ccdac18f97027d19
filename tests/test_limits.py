"""One person cannot crowd out everyone: per-person limits on reports and screenshots, refused in plain words."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from bot.config import parse_config
from bot.domain.errors import ConfigError
from bot.domain.limits import Limits
from bot.domain.report import Delivery
from handlers.delivery import deliver_due
from handlers.reports import submit_report
from testkit.builders import report_answers
from testkit.fakes import RecordingNotifier
from testkit.slack_harness import APP_YAML, SlackBot, report_state
from tests.conftest import OTHER, STAFF


def test_a_person_at_the_report_limit_is_told_when_they_can_send_again_and_where_to_go(services, clock):
    services = replace(services, limits=Limits(reports_per_day=2))
    assert submit_report(services, STAFF, report_answers()).ok  # 09:30 UTC
    clock.advance(hours=3)
    assert submit_report(services, STAFF, report_answers()).ok
    clock.advance(hours=1)
    refused = submit_report(services, STAFF, report_answers())
    assert refused.errors == {"what_happened": (
        "That is 2 reports in 24 hours, the most one person can send. You can send again after 09:30 on Wed 25 Nov. "
        "Urgent? Tell a lead now, or call 999.")}
    assert len(refused.errors["what_happened"]) <= 150  # a Slack form shows no more beside a field
    assert len(services.store.all_reports()) == 2
    assert submit_report(services, OTHER, report_answers()).ok  # everyone else is unaffected
    clock.advance(hours=20, minutes=1)  # 24 hours after the first
    assert submit_report(services, STAFF, report_answers()).ok


def test_screenshots_over_the_limit_are_refused_beside_the_field_and_the_report_can_go_without_them(services, clock):
    services = replace(services, limits=Limits(files_per_day=3))
    assert submit_report(services, STAFF, report_answers(screenshots=["F1", "F2"])).ok
    clock.advance(minutes=5)
    refused = submit_report(services, STAFF, report_answers(screenshots=["F3", "F4"]))
    assert refused.errors == {"screenshots": (
        "You can attach 1 more in 24 hours (the most is 3); more after 09:30 on Wed 25 Nov. "
        "Send without them: a lead can ask.")}
    assert len(refused.errors["screenshots"]) <= 150
    assert submit_report(services, STAFF, report_answers(screenshots=["F3"])).ok
    assert submit_report(services, STAFF, report_answers()).ok


def test_the_defaults_are_generous(services):
    assert services.limits == Limits(reports_per_day=20, files_per_day=60)


def test_limits_come_from_app_yaml_and_a_wrong_one_is_named():
    raw = yaml.safe_load(APP_YAML)
    assert parse_config(raw | {"limits": {"reports_per_day": 5}}).limits == Limits(reports_per_day=5, files_per_day=60)
    for wrong in ({"reports_per_day": 0}, {"files_per_day": "many"}, {"uploads": 3}, [1]):
        with pytest.raises(ConfigError, match="limits"):
            parse_config(raw | {"limits": wrong})


def test_on_slack_the_refusal_shows_beside_the_first_field_and_nothing_is_stored(tmp_path, slack):
    bot = SlackBot(tmp_path=tmp_path, slack=slack, app_yaml=APP_YAML + "limits: {reports_per_day: 1}\n")
    try:
        for attempt in range(2):
            assert bot.command("report").status == 200
            answer = bot.submit(bot.opened_view("report.form") | {"hash": f"h{attempt}"}, report_state())
        assert answer.json()["response_action"] == "errors"
        assert answer.json()["errors"]["what_happened"].startswith("That is 1 report in 24 hours")
        assert len(bot.services.store.all_reports()) == 1
    finally:
        bot.stop()


class OrderedNotifier(RecordingNotifier):
    """Records sends and downloads in one list, in the order the worker made them."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def send(self, destination, card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        self.events.append(f"send:{idempotency_key}")
        return super().send(destination, card, idempotency_key=idempotency_key, maybe_sent=maybe_sent)

    def fetch_file(self, file_id: str):
        self.events.append(f"fetch:{file_id}")
        return super().fetch_file(file_id)


def test_one_person_flooding_screenshots_is_capped_and_a_genuine_alert_goes_before_every_download(services, clock):
    # One person sends as much as the default limits allow: 12 reports with 5 screenshots each (60 files).
    for n in range(12):
        assert submit_report(services, OTHER, report_answers(screenshots=[f"F{n}x{k}" for k in range(5)])).ok
    assert submit_report(services, OTHER, report_answers(screenshots=["F99"])).errors.keys() == {"screenshots"}
    clock.advance(seconds=1)
    assert submit_report(services, STAFF, report_answers()).ok  # a genuine report, queued after the flood
    genuine = services.store.reports_by_reporter(STAFF.id)[0]
    alert = next(item for item in services.store.outbox_of(genuine.id) if item.kind is Delivery.LEAD_ALERT)

    notifier = OrderedNotifier()
    while deliver_due(services, notifier, limit=10):
        pass
    first_download = next(i for i, event in enumerate(notifier.events) if event.startswith("fetch:"))
    sent_alert = next(i for i, event in enumerate(notifier.events) if alert.id in event)
    assert sent_alert < first_download

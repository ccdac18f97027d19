"""One person cannot crowd out everyone: per-person limits on reports and screenshots, refused in plain words."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from bot.config import parse_config
from bot.domain.errors import ConfigError
from bot.domain.limits import Limits
from handlers.reports import submit_report
from testkit.builders import report_answers
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

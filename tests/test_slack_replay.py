"""A submission Slack retries, or a signed request replayed within its five minutes, is handled once."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

from bot.domain.report import Delivery
from handlers import leads, reports
from handlers.actions import Action
from handlers.routes import ROUTES, SUBMISSION
from testkit.builders import report_answers
from testkit.slack_harness import LEAD_CHANNEL, Answer, posts_to, report_state, sign, wait_until
from tests.conftest import LEAD, OTHER, STAFF


def _submission(bot, view_hash: str = "1700000000.abc") -> str:
    """A signed report-form submission's body, as Slack sends it (with the view's id and hash)."""
    assert bot.command("report").status == 200
    view = bot.opened_view("report.form") | {"id": "V0REPORT1", "hash": view_hash, "state": {"values": report_state()}}
    return urlencode({"payload": json.dumps({
        "type": "view_submission", "team": {"id": "T0TEAM"}, "api_app_id": "A0APP",
        "user": {"id": "U0STAFF01", "username": "sam", "name": "sam", "team_id": "T0TEAM"}, "view": view,
    })})


def test_the_same_submission_twice_stores_one_report_sends_one_alert_and_the_same_receipt(bot, slack):
    body = _submission(bot)
    first, second = bot.post(body), bot.post(body)  # a replay: the very same signed request
    assert first.status == second.status == 200
    assert first.json() == second.json() and "is saved" in json.dumps(first.json())
    assert len(bot.services.store.all_reports()) == 1
    [report] = bot.services.store.all_reports()
    assert [o.kind for o in bot.services.store.outbox_of(report.id)].count(Delivery.LEAD_ALERT) == 1  # one queued
    wait_until(lambda: posts_to(slack, LEAD_CHANNEL))
    bot.stop()  # the worker finishes what it is sending
    assert len(posts_to(slack, LEAD_CHANNEL)) == 1


def test_a_new_submission_of_the_form_is_a_new_report(bot):
    bot.post(_submission(bot, "1700000000.aaa"))
    bot.post(_submission(bot, "1700000001.bbb"))
    assert len(bot.services.store.all_reports()) == 2


def test_the_core_answers_a_repeated_submission_key_with_the_first_receipt(services):
    first = reports.submit_report(services, STAFF, report_answers(), submission="k1")
    again = reports.submit_report(services, STAFF, report_answers(), submission="k1")
    assert first == again and len(services.store.all_reports()) == 1
    # The key is the submitter's: someone else presenting it files their own report, and learns nothing.
    other = reports.submit_report(services, OTHER, report_answers(), submission="k1")
    assert other != first and len(services.store.all_reports()) == 2


def test_slacks_retry_of_an_event_already_handled_is_acknowledged_and_not_handled_again(bot, slack):
    body = json.dumps({"token": "legacy", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
                       "event_id": "Ev0RETRY1", "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": "U0STAFF01", "tab": "home"}})
    assert _post(bot, body).status == 200
    slack.wait_for("views.publish")
    assert _post(bot, body, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}).status == 200
    bot.stop()  # whatever the retry's ack started is done
    assert len(slack.calls("views.publish")) == 1


def _post(bot, body: str, headers: dict[str, str] | None = None):
    now = int(time.time())
    request = urllib.request.Request(f"{bot.url}/slack/events", data=body.encode(), method="POST", headers={
        "Content-Type": "application/json", "X-Slack-Request-Timestamp": str(now),
        "X-Slack-Signature": sign(body, now), **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode())


def test_a_repeated_reply_note_or_message_submission_is_stored_and_relayed_once(services):
    assert reports.submit_report(services, STAFF, report_answers()).ok
    report = services.store.reports_by_reporter(STAFF.id)[0]

    def read(form) -> dict:
        return {"text": "Typed once, sent twice"}  # the answers the platform read

    def submit_each() -> None:
        for action, actor in ((Action.REPORTER_REPLY, STAFF), (Action.CASE_NOTE, LEAD), (Action.CASE_MESSAGE, LEAD)):
            result = ROUTES[action].submit(services, actor, {"report": report.id, SUBMISSION: f"k-{action}"}, read)
            assert result.ok, result.errors

    submit_each()
    notes, outbox = services.store.notes(report.id), services.store.outbox_of(report.id)
    assert len(notes) == 3
    submit_each()  # Slack's retry, or a replay: the same submissions again
    assert services.store.notes(report.id) == notes and services.store.outbox_of(report.id) == outbox
    # Without a key (the console has none), each submission is its own note.
    leads.note_case(services, LEAD, report, "Called the parent")
    leads.note_case(services, LEAD, report, "Called the parent")
    assert len(services.store.notes(report.id)) == 5

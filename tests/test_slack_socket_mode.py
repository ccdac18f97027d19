"""Socket Mode envelopes get the HTTP front door's checks: only well-formed ones from this workspace reach Bolt.

Every envelope is acknowledged (Slack would redeliver it otherwise); a refused one leaves one
content-free line. Envelopes go through the fake Socket Mode server (testkit/fake_socket_mode.py)
to the real handler and bot; the generated ones come from the front door's fuzz strategies.
"""

from __future__ import annotations

import copy
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient

from bot.slack.socket_mode import ScreenedSocketModeHandler
from testkit.fake_slack import FakeSlack
from testkit.fake_socket_mode import FakeSocketMode
from testkit.fuzz import JSON, LogWatch, spoilt_payloads, templates
from testkit.slack_harness import BOT_TOKEN, STAFF, SlackBot

ENVELOPE_TYPES = {"form": "slash_commands", "payload": "interactive", "json": "events_api"}
FAKE: dict[str, str] = {}  # the running fake Slack's response_url, for the payloads to carry


@pytest.fixture(scope="module")
def door(tmp_path_factory):
    """One bot for the module, connected over Socket Mode as `staffsafe serve --socket` connects."""
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack, LogWatch() as watch:
        FAKE["response_url"] = slack.response_url("socket")
        socket_mode = FakeSocketMode()
        slack.socket_url = socket_mode.url
        bot = SlackBot(tmp_path=tmp_path_factory.mktemp("socket"), slack=slack)
        bot.runtime.http.workspace.team_id = "T0TEAM"  # as serve learns it from auth.test
        handler = ScreenedSocketModeHandler(bot.runtime.bolt, door=bot.runtime.http, app_token=slack.app_token,
                                            web_client=WebClient(token=slack.app_token, base_url=slack.api_url))
        try:
            handler.connect()
            socket_mode.wait_connected()
            yield bot, socket_mode, watch
            time.sleep(0.3)  # listeners that run after the ack log, if at all, in their own threads
            assert watch.tracebacks() == []
        finally:
            handler.close()
            socket_mode.close()
            bot.stop()


def _reports(bot: SlackBot) -> int:
    return len(bot.services.store.all_reports())


def _template(name: str) -> tuple[str, dict]:
    how, payload = templates(FAKE["response_url"])[name]
    return ENVELOPE_TYPES[how], copy.deepcopy(payload)


def _refusals(watch: LogWatch) -> list[str]:
    return [r.getMessage() for r in watch.records if r.getMessage().startswith("refused a request")]


def test_a_well_formed_report_submission_is_handled_and_stored(door):
    bot, socket_mode, _ = door
    kind, payload = _template("report.form")
    payload["view"]["id"] = "V0SOCKETOK"
    before = _reports(bot)
    ack = socket_mode.send(kind, payload)
    assert ack["payload"]["response_action"] == "update"
    assert _reports(bot) == before + 1


@pytest.mark.parametrize(("change", "line"), [
    (lambda p: p | {"team": {"id": "T0OTHER"}}, "refused a request (403): over Socket Mode, from another workspace or app"),
    (lambda p: p | {"api_app_id": "A0OTHER"}, None),  # no app id is known here: any app is taken
    (lambda p: [p], "refused a request (400): over Socket Mode, the body is not a JSON object"),
    (lambda p: "text", "refused a request (400): over Socket Mode, the body is not a JSON object"),
    (lambda p: p | {"user": "U0STAFF01"}, "refused a request (400): over Socket Mode, a payload with a field of the wrong type"),
    (lambda p: p | {"view": p["view"] | {"callback_id": "no.such.form"}},
     "refused a request (400): over Socket Mode, for a form, button or command this app does not have"),
])
def test_a_foreign_or_malformed_envelope_is_acknowledged_with_one_line_and_stores_nothing(door, change, line):
    bot, socket_mode, watch = door
    kind, payload = _template("report.form")
    payload["view"]["id"] = f"V0SOCKET{time.monotonic_ns()}"
    before, lines = _reports(bot), len(_refusals(watch))
    ack = socket_mode.send(kind, change(payload))
    if line is None:
        assert _reports(bot) == before + 1 and _refusals(watch)[lines:] == []
        return
    assert "payload" not in ack or not ack["payload"]  # acknowledged, with nothing to show
    assert _reports(bot) == before
    assert _refusals(watch)[lines:] == [line]
    assert "U0STAFF01" not in line and "no.such.form" not in line


def _home_opened(event_id: str) -> dict:
    return {"token": "legacy", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
            "event_id": event_id, "event": {"type": "app_home_opened", "user": STAFF, "tab": "home"}}


def test_a_redelivered_event_is_acknowledged_but_handled_once(door):
    bot, socket_mode, _ = door
    published = len(bot.slack.calls("views.publish"))
    socket_mode.send("events_api", _home_opened("Ev0SOCKET1"), retry_attempt=0, retry_reason="")
    bot.slack.wait_for("views.publish", count=published + 1)
    socket_mode.send("events_api", _home_opened("Ev0SOCKET1"), retry_attempt=1, retry_reason="timeout")
    socket_mode.send("events_api", _home_opened("Ev0SOCKET2"), retry_attempt=0, retry_reason="")
    bot.slack.wait_for("views.publish", count=published + 2)
    time.sleep(0.3)  # the redelivery, had it been handled, published by now
    assert len(bot.slack.calls("views.publish")) == published + 2


def test_an_event_first_sent_over_http_is_not_handled_again_when_redelivered_over_socket_mode(door):
    bot, socket_mode, _ = door
    published = len(bot.slack.calls("views.publish"))
    assert bot.post(json.dumps(_home_opened("Ev0BOTHWAYS")), content_type="application/json").status == 200
    bot.slack.wait_for("views.publish", count=published + 1)
    socket_mode.send("events_api", _home_opened("Ev0BOTHWAYS"), retry_attempt=1, retry_reason="timeout")
    time.sleep(0.3)
    assert len(bot.slack.calls("views.publish")) == published + 1


# Naming health checks replaces the profile's (tests/conftest.py), so too_slow is named again: a loaded machine is no bug.
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spoilt_payloads(lambda: FAKE["response_url"]), st.one_of(st.none(), st.integers(-1, 3), JSON))
def test_generated_envelopes_are_all_acknowledged_and_store_only_when_well_formed(door, spoilt, retry_attempt):
    bot, socket_mode, watch = door
    name, how, payload = spoilt
    before = _reports(bot)
    socket_mode.send(ENVELOPE_TYPES[how], payload, retry_attempt=retry_attempt)  # an ack, or it times out
    assert watch.tracebacks() == []
    if name != "report.form":
        assert _reports(bot) == before

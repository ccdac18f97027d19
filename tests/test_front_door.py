"""The front door never answers 5xx or logs a traceback, whatever arrives; only signed, well-formed submissions store.

Requests are generated (testkit/fuzz.py) and sent as raw bytes to the real server on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest
from hypothesis import given

from bench.fuzz_bench import fuzz_front_door
from testkit.fake_slack import FakeSlack
from testkit.fuzz import (
    FuzzCounts, FuzzRequest, LogWatch, check, post, signed, signed_bytes, signed_payloads, unsigned_requests,
)
from testkit.slack_harness import BOT_TOKEN, SlackBot


FAKE: dict[str, str] = {}  # the running fake Slack's response_url, for the payloads to carry


@pytest.fixture(scope="module")
def door(tmp_path_factory):
    """One bot for the module (a bot per example would be slow), with a watch on the log."""
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack, LogWatch() as watch:
        FAKE["response_url"] = slack.response_url("fuzz")
        bot = SlackBot(tmp_path=tmp_path_factory.mktemp("door"), slack=slack)
        try:
            yield bot, watch
            assert watch.tracebacks() == []  # lines logged after an example's check, by listeners after the ack
        finally:
            bot.stop()


def _send(door, request) -> FuzzCounts:
    bot, watch = door
    counts = FuzzCounts()
    check(bot.url, request, lambda: len(bot.services.store.all_reports()), counts)
    assert counts.server_errors == counts.stored_wrongly == 0, counts.examples
    assert watch.tracebacks() == []
    return counts


@given(unsigned_requests())
def test_an_unsigned_request_is_a_401_and_stores_nothing(door, request):
    counts = _send(door, request)
    # Waitress answers 400 itself to what is not HTTP (a control character in a header) before the app runs.
    assert set(counts.by_status) <= {400, 401}


@given(signed_bytes())
def test_signed_bytes_are_never_a_5xx(door, request):
    counts = _send(door, request)
    assert set(counts.by_status) <= {200, 400}


@given(signed_payloads(lambda: FAKE["response_url"]))
def test_signed_payloads_with_parts_of_the_wrong_shape_are_never_a_5xx(door, request):
    counts = _send(door, request)
    assert set(counts.by_status) <= {200, 400, 403}


@pytest.mark.parametrize("headers", [
    [],
    [("X-Slack-Request-Timestamp", b"")],
    [("X-Slack-Request-Timestamp", b"abc")],
    [("X-Slack-Request-Timestamp", b"1700000000.5")],
    [("X-Slack-Request-Timestamp", b"9" * 5000)],
    [("X-Slack-Request-Timestamp", b"1700000000"), ("X-Slack-Request-Timestamp", b"1700000001")],
    [("X-Slack-Request-Timestamp", b"1700000000"), ("X-Slack-Signature", "v0=é".encode())],
    [("X-Slack-Request-Timestamp", b"1700000000"), ("X-Slack-Signature", b"v0=\xff\xfe")],
])
def test_each_malformed_header_the_attack_run_found_is_a_401(door, headers):
    counts = _send(door, FuzzRequest(kind="unsigned", headers=headers, body=b"\xff\xfe not utf-8"))
    assert counts.by_status == {401: 1}


@pytest.mark.parametrize(("team_id", "app_id", "status"), [
    ("T0TEAM", "A0APP", 200), ("T0ELSEWHERE", "A0APP", 403), ("T0TEAM", "A0OTHERAPP", 403),
])
def test_a_request_from_another_workspace_or_app_is_refused(door, team_id, app_id, status):
    bot, _ = door
    bot.runtime.http.workspace.team_id, bot.runtime.http.workspace.app_id = "T0TEAM", "A0APP"
    try:
        answer = bot.post(urlencode({"command": "/hotlines", "text": "ee", "user_id": "U0STAFF01", "team_id": team_id,
                                     "api_app_id": app_id, "channel_id": "C0GENERAL"}))
    finally:
        bot.runtime.http.workspace.team_id = bot.runtime.http.workspace.app_id = ""
    assert answer.status == status


def test_the_fuzz_bench_counts_what_its_requests_did():
    counts = fuzz_front_door(12)
    assert counts.requests > 0 and sum(counts.by_status.values()) == counts.requests
    assert (counts.server_errors, counts.tracebacks, counts.stored_wrongly) == (0, 0, 0), counts.examples


def _interaction(**payload: object) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


USER = {"id": "U0STAFF01", "team_id": "T0TEAM"}
VIEW = {"type": "modal", "id": "V1", "callback_id": "report.form", "state": {"values": {}}}


MALFORMED = [
    (b"payload=%7Bnot+json", None, "the body or its payload is not JSON"),
    (b"payload=%5B1%2C2%5D", None, "the body is not a JSON object"),
    (b'[{"type": "event_callback"}]', "application/json", "the body is not a JSON object"),
    (_interaction(type="view_submission", view=VIEW), None, "an interaction without its user"),
    (_interaction(type="view_submission", user=USER, view=VIEW | {"state": {"values": [1]}}), None,
     "a form whose answers are of the wrong shape"),
    (_interaction(type="view_submission", user=USER, view=VIEW | {"state": "x"}), None,
     "a form whose answers are of the wrong shape"),
    (_interaction(type="view_submission", user=USER, view=[VIEW]), None, "a payload with a field of the wrong type"),
    (_interaction(type="block_actions", user=USER, actions={"action_id": "x"}), None, "button presses of the wrong shape"),
    (_interaction(type="view_submission", user=USER, view=VIEW | {"callback_id": "no.such.form"}), None,
     "for a form, button or command this app does not have"),
    (_interaction(type="shortcut", user=USER), None, "a kind of payload this app does not handle"),
]


def test_each_signed_but_malformed_payload_the_attack_run_sent_is_a_400_with_one_content_free_line(bot, caplog):
    caplog.set_level(logging.WARNING)
    for body, content_type, why in MALFORMED:  # one bot, fewer requests than the refusal log writes a minute
        caplog.clear()
        request = signed("signed:example", body, content_type)
        assert post(bot.url, request) == 400
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack.http"]
        assert lines == [f"refused a request (400): signed, but {why}"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR] and bot.services.store.all_reports() == []

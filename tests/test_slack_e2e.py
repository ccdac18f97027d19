"""Slack end to end: signed requests to the real HTTP endpoint, the bot talking to a local fake Slack."""

from __future__ import annotations

import json
import time

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import Clock

from bot.domain.report import Status
from testkit.slack_harness import (
    LEAD, LEAD_CHANNEL, OTHER, STAFF, SlackBot, all_blocks, choice, dm_channel, file_report, posts_to, report_state,
    sign, state, text, wait_until,
)

# Slack's published example (docs: "Verifying requests from Slack").
KAT_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
KAT_TIMESTAMP = 1531420618
KAT_BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
KAT_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


# --- signatures -------------------------------------------------------------------------------------


def test_signing_matches_slacks_published_example():
    assert sign(KAT_BODY, KAT_TIMESTAMP, KAT_SECRET) == KAT_SIGNATURE


class FixedClock(Clock):
    def now(self) -> float:
        return float(KAT_TIMESTAMP + 10)


def test_server_accepts_slacks_published_request_and_refuses_it_altered(tmp_path, slack):
    kat = SlackBot(tmp_path=tmp_path, slack=slack, signing_secret=KAT_SECRET, signature_clock=FixedClock())
    try:
        # Signed correctly: past the signature check (Bolt answers 404: no /webhook-collect command here).
        assert kat.post(KAT_BODY, timestamp=KAT_TIMESTAMP, signature=KAT_SIGNATURE).status != 401
        altered = KAT_BODY.replace("roadrunner", "wile-e")
        assert kat.post(altered, timestamp=KAT_TIMESTAMP, signature=KAT_SIGNATURE).status == 401
    finally:
        kat.stop()


def test_forged_and_stale_requests_get_401_and_store_nothing(bot, slack):
    view = {"type": "modal", "callback_id": "report.form", "private_metadata": "{}"}
    body = "payload=" + json.dumps({"type": "view_submission", "user": {"id": STAFF},
                                    "view": view | {"state": {"values": report_state()}}})
    assert bot.post(body, signature="v0=" + "0" * 64).status == 401
    assert bot.post(body, signature="").status == 401
    stale = int(time.time()) - 6 * 60
    assert bot.post(body, timestamp=stale, signature=sign(body, stale)).status == 401
    assert bot.post(body, signature=sign(body, int(time.time()), "another-secret")).status == 401
    assert bot.services.store.all_reports() == []
    assert slack.calls() == []


def test_health_check(bot):
    answer = bot.get("/healthz")
    assert answer.status == 200 and answer.json() == {"ok": True}
    assert bot.get("/nothing-here").status == 404


# --- commands -----------------------------------------------------------------------------------------


def test_hotlines_answers_privately_in_the_ack(bot, slack):
    answer = bot.command("hotlines", "o2")
    assert answer.status == 200
    reply = answer.json()
    assert reply["response_type"] == "ephemeral"
    assert "O2" in json.dumps(reply["blocks"])
    assert slack.calls("chat.postMessage") == []  # nothing in the channel


def test_unknown_provider_gets_a_friendly_answer(bot):
    reply = bot.command("hotlines", "nokia-mobile").json()
    assert reply["response_type"] == "ephemeral" and "nokia" in reply["text"].lower()


@pytest.mark.parametrize("command", ["staysafe", "help", "myreports", "takedown"])
def test_information_commands_answer_privately(bot, command):
    reply = bot.command(command).json()
    assert reply["response_type"] == "ephemeral" and reply["blocks"]


def test_report_command_opens_the_modal(bot, slack):
    answer = bot.command("report")
    assert answer.status == 200 and answer.body == ""
    view = bot.opened_view("report.form")
    assert View(**view).validate_json() is None
    assert {b.get("block_id") for b in view["blocks"]} >= {"what_happened", "where", "screenshots", "named"}


def test_takedown_opens_a_form_and_sends_the_letter_by_dm(bot, slack):
    assert bot.command("takedown", "facebook").status == 200
    view = bot.opened_view("info.takedown_submit")
    answer = bot.submit(view, state(
        kind=choice("content", "radio_buttons"), urls=text("https://facebook.com/p/1"), dates=text("3 November 2026"),
        description=text("A post calling me a liar"), sender=choice("self", "radio_buttons"),
        sender_name=text("Sam Jones"), affected_name=text(""),
    ))
    update = answer.json()
    assert update["response_action"] == "update" and "Sam Jones" in json.dumps(update["view"])  # shown at once
    letter = slack.wait_for("chat.postMessage")[0]
    assert letter.args["channel"] == STAFF
    assert "Sam Jones" in json.dumps(letter.args["blocks"])


def test_takedown_form_errors_are_inline_and_keep_nothing(bot, slack):
    bot.command("takedown", "facebook")
    view = bot.opened_view("info.takedown_submit")
    answer = bot.submit(view, state(kind=choice("content", "radio_buttons"), urls=text("not a link"),
                                    dates=text(""), description=text("x"),
                                    sender=choice("self", "radio_buttons"), sender_name=text("Sam")))
    errors = answer.json()
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"urls", "dates"}


# --- the report modal -------------------------------------------------------------------------------


def test_invalid_report_gets_inline_errors_and_nothing_is_stored(bot, slack):
    bot.command("report")
    view = bot.opened_view("report.form")
    answer = bot.submit(view, report_state(
        what=" ", first_seen={"type": "datepicker", "selected_date": "2099-01-01"},
        urls=text("javascript:alert(1)"),
    ))
    reply = answer.json()
    assert reply["response_action"] == "errors"
    assert set(reply["errors"]) == {"what_happened", "first_seen", "urls"}
    assert bot.services.store.all_reports() == []


def test_oversized_answer_is_refused_beside_its_field(bot):
    bot.command("report")
    reply = bot.submit(bot.opened_view("report.form"), report_state(what="x" * 3001)).json()
    assert reply == {"response_action": "errors", "errors": {"what_happened": reply["errors"]["what_happened"]}}
    assert "3000" in reply["errors"]["what_happened"]


def test_submitted_report_is_stored_then_routed_privately(bot, slack):
    report_id = file_report(bot, slack, what="Distinctive-words-7731 about me")
    report = bot.services.store.report(report_id)
    assert report.reporter_id == f"slack:{STAFF}" and report.status is Status.NEW
    alert = wait_until(lambda: posts_to(slack, LEAD_CHANNEL))[0]
    assert report.reference in alert.args["text"]
    assert "Distinctive-words-7731" not in json.dumps(alert.args)  # content-light
    receipt = wait_until(lambda: posts_to(slack, dm_channel(STAFF)))[0]
    assert report.reference in json.dumps(receipt.args["blocks"])
    assert "Your next steps" in json.dumps(receipt.args["blocks"])


def test_user_text_is_rendered_inert(bot, slack):
    hostile = "<!channel> hi <@U123> see <http://evil.example|this> & more <!here>"
    report_id = file_report(bot, slack, what=hostile)
    bot.press("case.view", report_id, user=LEAD)
    case = wait_until(lambda: [c for c in slack.calls("views.open") if "Case" in json.dumps(c.args)])[0].args["view"]
    dumped = json.dumps(case)
    assert "&lt;!channel&gt;" in dumped and "&lt;@U123&gt;" in dumped and "&amp; more" in dumped
    for call in slack.calls():
        sent = json.dumps(call.args)
        assert "<!channel>" not in sent and "<@U123>" not in sent and "<http://evil" not in sent
        assert "<!here>" not in sent


def test_every_block_the_bot_sends_passes_slacks_limits(bot, slack):
    report_id = file_report(bot, slack)
    wait_until(lambda: posts_to(slack, dm_channel(STAFF)))
    bot.press("case.view", report_id, user=LEAD)
    slack.wait_for("views.open", count=2)
    bot.event({"type": "app_home_opened", "user": LEAD, "channel": "D0HOME", "tab": "home"})
    slack.wait_for("views.publish")
    blocks = all_blocks(slack)
    assert blocks
    for block in blocks:
        Block.parse(block).validate_json()
    for call in slack.calls("views.open") + slack.calls("views.publish"):
        assert len(call.args["view"]["blocks"]) <= 100
    for call in slack.calls("chat.postMessage"):
        assert len(call.args["blocks"]) <= 50


def test_other_staff_and_a_forged_user_cannot_see_a_report_in_my_reports(bot, slack):
    file_report(bot, slack)
    mine = bot.command("myreports", user=STAFF).json()
    theirs = bot.command("myreports", user=OTHER).json()
    assert "SS-" in json.dumps(mine["blocks"]) and "SS-" not in json.dumps(theirs["blocks"])


def test_a_command_refuses_words_it_does_not_take(bot):
    reply = bot.command("myreports", "everything").json()
    assert reply["response_type"] == "ephemeral" and "takes nothing after its name" in json.dumps(reply)

"""Slack end to end, for leads: the alert, the case modal, lead actions, relays, exports, outages, App Home."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from bot.domain.report import Status
from testkit.slack_harness import (
    BACKUP, BOT_TOKEN, LEAD, LEAD_CHANNEL, OTHER, STAFF, SlackBot, choice, dm_channel, file_report, posts_to,
    report_state, state, text, wait_until,
)


@pytest.fixture
def clocked(tmp_path, slack, clock):
    """The bot on a fake clock, so an outbox retry's backoff passes as the test moves the clock, not in real time."""
    running = SlackBot(tmp_path=tmp_path, slack=slack, clock=clock)
    yield running
    running.stop()


def retried_until(clock, check):
    """Wait for `check()`, moving the clock a second each time it is asked (past any backoff)."""
    def moved():
        clock.advance(seconds=1)
        return check()
    return wait_until(moved)


def opened(slack, callback_id: str = "", title: str = "") -> dict:
    """The last modal opened or pushed that matches."""
    def find():
        for call in reversed(slack.calls("views.open") + slack.calls("views.push")):
            view = call.args["view"]
            if (callback_id and view.get("callback_id") == callback_id) or (title and title in json.dumps(view)):
                return view
        return None
    return wait_until(find)


def dms_to(slack, user: str) -> list[str]:
    return [json.dumps(c.args) for c in posts_to(slack, dm_channel(user))]


def actions(report, store) -> list[str]:
    return [event.action for event in store.audit(report)]


def test_lead_views_the_case_and_the_view_is_audited(bot, slack):
    report_id = file_report(bot, slack, what="He posted my address")
    alert = wait_until(lambda: posts_to(slack, LEAD_CHANNEL))[0]
    buttons = [e for b in alert.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {b["value"] for b in buttons} == {report_id}  # ids only in button values
    bot.press("case.view", report_id, user=LEAD)
    case = opened(slack, title="He posted my address")
    assert "case.ack" in json.dumps(case)
    assert "case.view" in actions(report_id, bot.services.store)


def test_a_non_lead_pressing_lead_buttons_is_refused_and_audited(bot, slack):
    report_id = file_report(bot, slack)
    pressed = ("case.view", "case.note", "case.status", "case.export", "case.letter")
    for action in pressed:
        bot.press(action, report_id, user=OTHER)
    # Each refusal is audited, then answered, in its own lazy listener: wait for all five answers.
    def answers() -> list | None:
        found = [slack.responses(f"action-{action}") for action in pressed]
        return found if all(found) else None
    assert all("Only the designated leads" in json.dumps(answer[0].args) for answer in wait_until(answers))
    assert slack.calls("views.open")[1:] == []  # only the report modal itself was ever opened
    events = bot.services.store.audit(report_id)
    assert sum("refused" in e.detail for e in events) == 5
    assert bot.services.store.report(report_id).status is Status.NEW


def test_a_forged_lead_form_from_a_non_lead_changes_nothing(bot, slack):
    report_id = file_report(bot, slack)
    forged = {"type": "modal", "callback_id": "case.status", "private_metadata": json.dumps({"report": report_id})}
    answer = bot.submit(forged, state(status=choice("closed")), user=OTHER)
    assert "Only the designated leads" in answer.body
    forged_note = forged | {"callback_id": "case.note"}
    bot.submit(forged_note, state(text=text("I was here")), user=OTHER)
    assert bot.services.store.report(report_id).status is Status.NEW
    assert bot.services.store.notes(report_id) == []
    assert [e.detail for e in bot.services.store.audit(report_id)][-2:] == ["refused: not a lead"] * 2


def test_a_report_about_a_lead_never_reaches_that_lead(bot, slack):
    report_id = file_report(bot, slack, subject={"type": "users_select", "selected_user": LEAD})
    dm = wait_until(lambda: posts_to(slack, dm_channel(BACKUP)))
    assert "New report" in json.dumps(dm[0].args)
    assert posts_to(slack, LEAD_CHANNEL) == []  # not in the channel the lead reads
    bot.press("case.view", report_id, user=LEAD)
    refusal = wait_until(lambda: slack.responses("action-case.view"))
    assert "There is no report" in json.dumps(refusal[0].args)


def test_acknowledge_named_then_status_then_message_and_reply(bot, slack):
    report_id = file_report(bot, slack)
    wait_until(lambda: dms_to(slack, STAFF))
    store = bot.services.store

    bot.press("case.ack", report_id, user=LEAD)
    answer = bot.submit(opened(slack, "case.ack"), state(named=choice("named", "radio_buttons")), user=LEAD)
    assert answer.json()["response_action"] == "update"
    wait_until(lambda: any("acknowledged by Lee Harper" in dm for dm in dms_to(slack, STAFF)))
    edited = wait_until(lambda: slack.calls("chat.update"))[0]
    assert edited.args["channel"] == LEAD_CHANNEL  # the fake refuses a ts it never issued: this is the alert
    assert "handled by Lee Harper" in json.dumps(edited.args["blocks"])
    assert "case.ack" not in json.dumps(edited.args["blocks"])  # taken: the channel shows it

    bot.press("case.status", report_id, user=LEAD)
    bot.submit(opened(slack, "case.status"), state(status=choice("waiting")), user=LEAD)
    wait_until(lambda: any("waiting for a reply from the platform" in dm for dm in dms_to(slack, STAFF)))

    bot.press("case.note", report_id, user=LEAD)
    bot.submit(opened(slack, "case.note"), state(text=text("Called the parent")), user=LEAD)

    bot.press("case.message", report_id, user=LEAD)
    bot.submit(opened(slack, "case.message"), state(text=text("Can you send the link?")), user=LEAD)
    message = wait_until(lambda: [dm for dm in dms_to(slack, STAFF) if "Can you send the link?" in dm])[0]
    assert "Called the parent" not in "".join(dms_to(slack, STAFF))  # internal notes stay internal
    assert "report.reply" in message

    bot.press("report.reply", report_id, user=STAFF, where="dm")
    bot.submit(opened(slack, "report.reply"), state(text=text("Here: https://x.example/1")), user=STAFF)
    relayed = wait_until(lambda: [c for c in posts_to(slack, LEAD_CHANNEL) if "replied" in json.dumps(c.args)])
    assert "https://x.example/1" not in json.dumps(relayed[0].args)  # leads open the case to read it

    kinds = [n.kind.value for n in store.notes(report_id)]
    assert kinds == ["internal", "to_reporter", "from_reporter"]
    assert {"case.ack", "case.status", "case.note", "case.message", "report.reply"} <= set(actions(report_id, store))


def test_acknowledging_without_being_named(bot, slack):
    report_id = file_report(bot, slack)
    bot.press("case.ack", report_id, user=LEAD)
    bot.submit(opened(slack, "case.ack"), state(named=choice("unnamed", "radio_buttons")), user=LEAD)
    update = wait_until(lambda: [dm for dm in dms_to(slack, STAFF) if "acknowledged by" in dm])[0]
    assert "a designated lead" in update and "Lee" not in update


def test_inline_errors_on_lead_forms(bot, slack):
    report_id = file_report(bot, slack)
    bot.press("case.note", report_id, user=LEAD)
    answer = bot.submit(opened(slack, "case.note"), state(text=text("   ")), user=LEAD).json()
    assert answer["response_action"] == "errors" and "text" in answer["errors"]
    assert bot.services.store.notes(report_id) == []


def test_takedown_letter_is_prefilled_from_the_report(bot, slack):
    report_id = file_report(bot, slack)
    bot.press("case.letter", report_id, user=LEAD)
    letter = opened(slack, title="Takedown request")
    dumped = json.dumps(letter)
    assert "facebook.com/groups/x/posts/1" in dumped and bot.services.store.report(report_id).reference in dumped


def test_export_arrives_as_a_file_in_the_leads_dm_with_evidence_hashes(bot, slack):
    pixels = b"\x89PNG fake screenshot bytes"
    slack.add_file("F0SHOT1", "screenshot.png", "image/png", pixels)
    report_id = file_report(bot, slack, screenshots={"type": "file_input", "files": [{"id": "F0SHOT1"}]})
    wait_until(lambda: bot.services.store.evidence(report_id))
    evidence = bot.services.store.evidence(report_id)[0]
    assert evidence.sha256 == hashlib.sha256(pixels).hexdigest()
    assert b"".join(bot.services.store.open_evidence(report_id, evidence.id)) == pixels

    bot.press("case.view", report_id, user=LEAD)
    assert "screenshot.png" in json.dumps(opened(slack, title="Attached files"))
    bot.press("case.export", report_id, user=LEAD)
    upload, copy = wait_until(lambda: len(slack.uploads) == 2 and slack.uploads)
    assert upload.channel_id == copy.channel_id == dm_channel(LEAD)
    exported = upload.data.decode()
    assert hashlib.sha256(pixels).hexdigest() in exported and "Timeline" in exported
    assert "A copy of each file follows this export" in exported
    assert (copy.filename, copy.data) == ("screenshot.png", pixels)  # streamed from the store, decrypted
    assert "case.export" in actions(report_id, bot.services.store)


def test_slack_down_during_routing_delays_the_alert_and_delivers_it_once(clocked, slack, clock):
    bot = clocked
    assert bot.command("report").status == 200
    view = bot.opened_view("report.form")
    slack.down()
    assert bot.submit(view, report_state()).json()["response_action"] == "update"  # the modal closes: stored
    report_id = bot.services.store.all_reports()[-1].id
    assert bot.services.store.report(report_id) is not None
    wait_until(lambda: len(slack.attempts("chat.postMessage")) + len(slack.attempts("conversations.open")) >= 2)
    assert posts_to(slack, LEAD_CHANNEL) == []
    slack.up()
    retried_until(clock, lambda: posts_to(slack, LEAD_CHANNEL) and dms_to(slack, STAFF))
    assert len(posts_to(slack, LEAD_CHANNEL)) == 1 and len(posts_to(slack, dm_channel(STAFF))) == 1


def test_rate_limited_alert_waits_for_retry_after_then_posts_once(bot, slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=1, times=2)
    file_report(bot, slack)
    wait_until(lambda: posts_to(slack, LEAD_CHANNEL) and dms_to(slack, STAFF))
    assert len(posts_to(slack, LEAD_CHANNEL)) == 1
    assert len(slack.attempts("chat.postMessage")) == 4


def test_a_post_that_lands_but_loses_its_answer_is_not_posted_twice(clocked, slack, clock):
    bot = clocked
    slack.fail_next("chat.postMessage", disconnect_after_processing=True)
    file_report(bot, slack)
    retried_until(clock, lambda: slack.calls("conversations.history") and dms_to(slack, STAFF))
    assert len(posts_to(slack, LEAD_CHANNEL)) + len(posts_to(slack, dm_channel(STAFF))) == 2


def test_app_home_shows_reports_for_staff_and_the_queue_for_leads(bot, slack):
    file_report(bot, slack)
    bot.event({"type": "app_home_opened", "user": STAFF, "channel": "D0HOME", "tab": "home"})
    bot.event({"type": "app_home_opened", "user": LEAD, "channel": "D0HOME2", "tab": "home"})
    published = {c.args["user_id"]: json.dumps(c.args["view"]) for c in slack.wait_for("views.publish", count=2)}
    assert "Your reports" in published[STAFF] and "Open reports" not in published[STAFF]
    assert "Open reports (1)" in published[LEAD] and "case.view" in published[LEAD]
    assert "checklist" in published[STAFF].lower()


def test_home_buttons_open_information(bot, slack):
    for action in ("info.hotlines", "info.staysafe", "info.help", "info.takedown", "report.open"):
        bot.press(action, user=STAFF, where="home")
    slack.wait_for("views.open", count=5)
    pick = opened(slack, "info.takedown")
    answer = bot.submit(pick, state(target=choice("instagram")), user=STAFF).json()
    assert answer["response_action"] == "update" and answer["view"]["callback_id"] == "info.takedown_submit"


def test_no_report_text_user_names_or_tokens_reach_the_logs(bot, slack, caplog):
    caplog.set_level(logging.DEBUG)
    secret_words = "Zebra-crossing-9921 said awful things"
    report_id = file_report(bot, slack, what=secret_words)
    bot.press("case.view", report_id, user=LEAD)
    bot.press("case.view", report_id, user=OTHER)
    bot.post("payload=" + json.dumps({"type": "view_submission", "view": {"state": secret_words}}),
             signature="v0=" + "0" * 64)
    bot.press("no.such.action", secret_words, user=STAFF)
    slack.fail_next("chat.postMessage", status=500)
    wait_until(lambda: dms_to(slack, STAFF))
    logged = "\n".join(record.getMessage() + str(record.exc_info or "") for record in caplog.records)
    for needle in ("Zebra-crossing", BOT_TOKEN, "u0staff01", "Lee Harper"):
        assert needle not in logged


def test_the_reporter_can_withdraw_from_the_receipt_and_no_one_else_can(bot, slack):
    report_id = file_report(bot, slack)
    receipt = wait_until(lambda: dms_to(slack, STAFF))[0]
    assert "report.withdraw" in receipt
    bot.press("report.withdraw", report_id, user=OTHER, where="dm")
    refusal = wait_until(lambda: slack.responses("action-report.withdraw"))
    assert "You have no report" in json.dumps(refusal[0].args)
    bot.press("report.withdraw", report_id, user=STAFF, where="dm")
    answer = bot.submit(opened(slack, "report.withdraw"), {}, user=STAFF).json()
    assert answer["response_action"] == "update"
    assert bot.services.store.report(report_id).status is Status.CLOSED
    edited = wait_until(lambda: slack.calls("chat.update"))[0]
    assert "closed" in json.dumps(edited.args["blocks"])


def test_the_bot_token_is_never_sent_to_a_download_address_off_slack(bot, slack):
    shot = slack.add_file("F0EVIL", "shot.png", "image/png", b"x")
    shot["url_private_download"] = "https://attacker.example/steal"
    report_id = file_report(bot, slack, screenshots={"type": "file_input", "files": [{"id": "F0EVIL"}]})
    store = bot.services.store
    item = wait_until(lambda: [o for o in store.outbox_of(report_id) if o.kind.value == "evidence.fetch" and o.delivered_at])
    assert item[0].state.value == "refused" and store.evidence(report_id) == []
    bot.press("case.view", report_id, user=LEAD)
    assert "1 attached file could not be stored" in json.dumps(opened(slack, title="could not be stored"))


def test_a_download_past_10_mb_is_stopped_there_whatever_slack_said_its_size_was(bot, slack):
    shot = slack.add_file("F0HUGE", "huge.png", "image/png", bytes(10 * 1024 * 1024 + 1))
    shot["size"] = 1000  # files.info understated it: the stream itself is counted
    report_id = file_report(bot, slack, screenshots={"type": "file_input", "files": [{"id": "F0HUGE"}]})
    store = bot.services.store
    item = wait_until(lambda: [o for o in store.outbox_of(report_id) if o.kind.value == "evidence.fetch" and o.delivered_at])
    assert item[0].state.value == "refused" and "larger than 10 MB" in item[0].refusal
    assert store.evidence(report_id) == []


def test_a_leads_channel_without_the_bot_is_logged_by_slacks_error_code_and_retried(clocked, slack, clock, caplog):
    bot = clocked
    caplog.set_level(logging.ERROR)
    slack.fail_next("chat.postMessage", error="not_in_channel")
    file_report(bot, slack)
    wait_until(lambda: "not_in_channel" in caplog.text)
    retried_until(clock, lambda: posts_to(slack, LEAD_CHANNEL))  # delivered once the bot is in
    assert len(posts_to(slack, LEAD_CHANNEL)) == 1

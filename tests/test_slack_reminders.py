"""Reminders on Slack, end to end: the real server, signed requests, the local fake Web API, a fake clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.reminder import PressKind
from bot.pacing import Pacer
from bot.slack.reminder_listeners import LIST_VIEW
from handlers.scheduled import Policy, run_due_work
from testkit.fakes import FakeClock
from testkit.waits import wait_ticking
from testkit.slack_harness import (
    LEAD,
    STAFF,
    SlackBot,
    choice,
    choices,
    posts_to,
    state,
    text,
    wait_until,
)

ADMIN = LEAD  # app.yaml names the lead as an admin too
OWNER = "U0OWNER01"  # a workspace owner by Slack's own flags
STAFFROOM, OFFICE = "C0STAFF01", "C0OFFICE1"
NINE_TOMORROW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  # Europe/London is on GMT


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc))


@pytest.fixture
def bot(tmp_path, slack, clock):
    slack.add_channel(STAFFROOM, name="staffroom")
    slack.add_channel(OFFICE, name="office")
    slack.add_user(OWNER, "Olive Owner", is_owner=True, tz="Europe/London")
    slack.add_user(STAFF, "Sam Staff")
    running = SlackBot(tmp_path=tmp_path, slack=slack, clock=clock, pacer=Pacer(channel_gap=0.05))
    yield running
    running.stop()


def reminder_state(**overrides: dict) -> dict:
    fields = {
        "name": text("Screen lock"),
        "channels": {"type": "multi_conversations_select", "selected_conversations": [STAFFROOM, OFFICE]},
        "topic": choice("device-locking"),
        "frequency": choice("daily", "radio_buttons"),
        "weekdays": choices(),
        "day_of_month": {"type": "number_input", "value": None},
        "cron": text(""),
        "time": {"type": "timepicker", "selected_time": "09:00"},
        "timezone": text("Europe/London"),
        "start": {"type": "datepicker", "selected_date": "2026-11-24"},
        "end": {"type": "datepicker", "selected_date": None},
    }
    return state(**(fields | overrides))


def open_form(bot, user: str = ADMIN) -> dict:
    assert bot.press("reminder.new", user=user, where="modal").status == 200
    return bot.opened_view("reminder.save")


def create(bot, **overrides: dict) -> str:
    answer = bot.submit(open_form(bot), reminder_state(**overrides), user=ADMIN)
    assert answer.json()["response_action"] == "update", answer.body
    return bot.services.store.reminders()[-1].id


def run_scheduler(bot) -> None:
    run_due_work(bot.runtime.services, Policy())
    bot.runtime.worker.wake()


def test_admins_from_app_yaml_or_slack_get_the_list_and_staff_are_refused(bot, slack):
    assert bot.command("reminders", user=STAFF).status == 200
    refusal = wait_until(lambda: slack.responses("cmd-reminders"))
    assert "Only admins" in refusal[-1].args["text"]
    for user in (ADMIN, OWNER):
        assert bot.command("reminders", user=user).status == 200
        view = bot.opened_view(LIST_VIEW)
        assert "New reminder" in str(view["blocks"])
    assert bot.services.store.reminders() == []


@pytest.mark.parametrize("overrides, field", [
    ({"frequency": choice("cron", "radio_buttons"), "cron": text("61 * * * *")}, "cron"),
    ({"timezone": text("Europe/Atlantis")}, "timezone"),
    ({"end": {"type": "datepicker", "selected_date": "2026-11-01"}}, "end"),
])
def test_bad_input_is_shown_beside_its_field_and_nothing_is_saved(bot, overrides, field):
    answer = bot.submit(open_form(bot), reminder_state(**overrides), user=ADMIN)
    body = answer.json()
    assert body["response_action"] == "errors" and set(body["errors"]) == {field}
    assert bot.services.store.reminders() == []


def test_a_channel_without_the_bot_is_an_error_at_the_form(bot, slack):
    slack.remove_bot(OFFICE)
    body = bot.submit(open_form(bot), reminder_state(), user=ADMIN).json()
    assert body["response_action"] == "errors" and "#office" in body["errors"]["channels"]
    assert bot.services.store.reminders() == []


def test_a_forged_submission_from_staff_saves_nothing(bot):
    answer = bot.submit(open_form(bot), reminder_state(), user=STAFF)
    assert "Only admins" in answer.body and bot.services.store.reminders() == []


def test_a_due_reminder_posts_once_per_channel_and_buttons_answer_privately(bot, slack, clock):
    reminder_id = create(bot)
    clock.current = NINE_TOMORROW
    run_scheduler(bot)
    run_scheduler(bot)  # nothing more is due
    wait_until(lambda: len(slack.posts_in(STAFFROOM)) == 1 and len(slack.posts_in(OFFICE)) == 1)
    message = slack.posts_in(STAFFROOM)[0]
    actions = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    run_id = actions[0]["value"]
    assert [a["action_id"] for a in actions] == ["reminder.done", "reminder.how", "info.staysafe"]
    assert bot.press("reminder.how", run_id, user=STAFF).status == 200
    how = wait_until(lambda: slack.responses("action-reminder.how"))
    assert how[-1].args["response_type"] == "ephemeral" and "Windows key" in str(how[-1].args["blocks"])
    bot.press("reminder.done", run_id, user=STAFF)
    bot.press("reminder.done", run_id, user=STAFF)
    wait_until(lambda: len(slack.responses("action-reminder.done")) == 2)
    assert bot.services.store.press_counts(reminder_id) == {PressKind.DONE: 1, PressKind.HOW: 1}
    bot.command("reminders", user=ADMIN)
    listing = str(bot.opened_view(LIST_VIEW)["blocks"])
    assert "Done: 1, Show me how: 1" in listing and STAFF not in listing


def test_a_channel_the_bot_was_removed_from_is_reported_to_the_admin_not_retried(bot, slack, clock):
    reminder_id = create(bot)
    slack.remove_bot(OFFICE)
    clock.current = NINE_TOMORROW
    run_scheduler(bot)
    wait_until(lambda: bot.services.store.reminder(reminder_id).blocked_channels == (f"slack:{OFFICE}",))
    clock.advance(minutes=1)
    bot.runtime.worker.wake()
    wait_ticking(clock, lambda: posts_to(slack, f"D{ADMIN}"))  # a paced retry follows the fake clock
    notice = posts_to(slack, f"D{ADMIN}")
    assert "could not be posted" in notice[0].args["text"] and "#office" in str(notice[0].args["blocks"])
    attempts = len([c for c in slack.attempts("chat.postMessage") if c.args.get("channel") == OFFICE])
    clock.current = NINE_TOMORROW + timedelta(days=1)
    run_scheduler(bot)
    wait_ticking(clock, lambda: len(slack.posts_in(STAFFROOM)) == 2)
    assert len([c for c in slack.attempts("chat.postMessage") if c.args.get("channel") == OFFICE]) == attempts


def test_a_429_storm_across_the_workspace_delays_but_every_channel_gets_one_post(bot, slack, clock):
    channels = [f"C0FAN{n:04d}" for n in range(40)]
    for channel in channels:
        slack.add_channel(channel)
    create(bot, channels={"type": "multi_conversations_select", "selected_conversations": channels})
    slack.limit(workspace_rate=20, workspace_burst=5)
    clock.current = NINE_TOMORROW
    run_scheduler(bot)

    def all_posted() -> bool:
        clock.advance(seconds=1)  # the outbox's retry times follow the fake clock
        return all(len(slack.posts_in(c)) == 1 for c in channels)

    wait_until(all_posted)
    assert slack.rate_limited > 0
    assert all(len(slack.posts_in(c)) == 1 for c in channels)


def test_a_claimed_send_survives_a_crash_before_posting_and_is_sent_once(tmp_path, slack, clock):
    slack.add_channel(STAFFROOM, name="staffroom")
    slack.add_channel(OFFICE, name="office")
    first = SlackBot(tmp_path=tmp_path, slack=slack, clock=clock)
    try:
        create(first)
        first.runtime.worker.stop()  # nothing will be posted by this process
        clock.current = NINE_TOMORROW
        run_due_work(first.runtime.services, Policy())
    finally:
        first.stop()
    assert slack.posts_in(STAFFROOM) == []
    second = SlackBot(tmp_path=tmp_path, slack=slack, clock=clock)
    try:
        run_due_work(second.runtime.services, Policy())  # the restarted scheduler claims nothing again
        wait_until(lambda: len(slack.posts_in(STAFFROOM)) == 1 and len(slack.posts_in(OFFICE)) == 1)
    finally:
        second.stop()
    assert len(slack.posts_in(STAFFROOM)) == 1


def test_a_post_whose_answer_is_lost_is_looked_up_not_posted_twice(bot, slack, clock):
    create(bot, channels={"type": "multi_conversations_select", "selected_conversations": [STAFFROOM]})
    slack.fail_next("chat.postMessage", disconnect_after_processing=True)
    clock.current = NINE_TOMORROW
    run_scheduler(bot)

    def posted_and_settled() -> bool:
        clock.advance(seconds=30)
        bot.runtime.worker.wake()
        return not bot.services.store.due_outbox(clock.now() + timedelta(days=1), 10)

    wait_until(posted_and_settled)
    assert len(slack.posts_in(STAFFROOM)) == 1


def test_two_schedulers_over_one_store_send_each_due_time_once(bot, slack, clock):
    create(bot)
    clock.current = NINE_TOMORROW
    barrier = threading.Barrier(4)

    def scheduler() -> None:
        barrier.wait()
        run_due_work(bot.runtime.services, Policy())

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bot.runtime.worker.wake()
    wait_until(lambda: len(slack.posts_in(STAFFROOM)) == 1 and len(slack.posts_in(OFFICE)) == 1)
    assert len(bot.services.store.runs_of(bot.services.store.reminders()[0].id)) == 1


def test_list_buttons_pause_resume_send_now_and_refresh_the_list_in_place(bot, slack, clock):
    reminder_id = create(bot)
    list_view = {"type": "modal", "id": "V0LIST", "callback_id": LIST_VIEW}
    slack.add_view(list_view)
    pressing = {"reminder.pause": "Paused.", "reminder.resume": "Resumed.", "reminder.send_now": "Sending now"}
    for pressed, (action, said) in enumerate(pressing.items(), start=1):
        assert bot.press(action, reminder_id, user=ADMIN, where="modal", view=list_view).status == 200
        # Each press acks at once and acts after it: an admin presses the next button on the refreshed list.
        refreshed = slack.wait_for("views.update", count=pressed)[-1].args
        assert refreshed["view_id"] == "V0LIST" and said in str(refreshed["view"]["blocks"][0])
    wait_until(lambda: len(slack.posts_in(STAFFROOM)) == 1)
    assert not bot.services.store.reminder(reminder_id).paused
    # Staff pressing an admin button changes nothing.
    bot.press("reminder.pause", reminder_id, user=STAFF, where="modal", view=list_view)
    wait_until(lambda: any("Only admins" in str(c.args) for c in slack.calls("views.open") + slack.calls("views.push")))
    assert not bot.services.store.reminder(reminder_id).paused


def test_escalation_and_legal_hold_on_slack(bot, slack, clock):
    from testkit.slack_harness import LEAD_CHANNEL, file_report
    report_id = file_report(bot, slack)
    wait_until(lambda: posts_to(slack, LEAD_CHANNEL))
    clock.advance(hours=24)
    run_scheduler(bot)
    escalation = wait_until(lambda: [c for c in posts_to(slack, LEAD_CHANNEL) if "without a designated lead" in c.args["text"]])
    assert "<!channel>" not in str(escalation[0].args)
    wait_until(lambda: any("chasing" in c.args["text"] for c in posts_to(slack, f"D{STAFF}")))
    bot.press("case.hold", report_id, user=LEAD)
    wait_until(lambda: bot.services.store.report(report_id).legal_hold)
    bot.press("case.hold", report_id, user=STAFF)
    wait_until(lambda: len(slack.responses("action-case.hold")) == 2)
    assert bot.services.store.report(report_id).legal_hold


def test_every_view_and_message_of_the_reminder_flow_passes_slacks_limits(bot, slack, clock):
    from tests.test_slack_blocks import check_blocks, check_modal
    reminder_id = create(bot)
    bot.command("reminders", user=ADMIN)
    bot.opened_view(LIST_VIEW)
    bot.press("reminder.preview", reminder_id, user=ADMIN, where="modal")
    bot.press("reminder.edit", reminder_id, user=ADMIN, where="modal")
    clock.current = NINE_TOMORROW
    run_scheduler(bot)
    wait_until(lambda: slack.posts_in(STAFFROOM))
    slack.wait_for("views.push", count=3)
    views = [c.args["view"] for c in slack.calls() if c.method in ("views.open", "views.push", "views.update")]
    assert len(views) >= 4
    for view in views:
        check_modal(view)
    for call in slack.calls("chat.postMessage"):
        check_blocks(call.args["blocks"])


def test_reminders_in_app_yaml_are_seeded_on_first_start(tmp_path, slack, clock):
    from testkit.slack_harness import APP_YAML
    seeded = APP_YAML + f"""
reminders:
  - name: Lock your screen
    channels: {{slack: [{STAFFROOM}]}}
    every: weekdays
    days: [mon, wed]
    time: "16:30"
    topic: device-locking
"""
    bot = SlackBot(tmp_path=tmp_path, slack=slack, app_yaml=seeded, clock=clock)
    try:
        [reminder] = bot.services.store.reminders()
        assert (reminder.name, reminder.channels, reminder.created_by) == ("Lock your screen", (f"slack:{STAFFROOM}",),
                                                                          "app.yaml")
        assert reminder.next_run == datetime(2026, 11, 25, 16, 30, tzinfo=timezone.utc)  # Wednesday
    finally:
        bot.stop()
    again = SlackBot(tmp_path=tmp_path, slack=slack, app_yaml=seeded, clock=clock)
    try:
        assert len(again.services.store.reminders()) == 1
    finally:
        again.stop()


def test_reminders_refuses_words_it_does_not_take(bot, slack):
    assert bot.command("reminders", "delete 1", user=ADMIN).status == 200
    refusal = wait_until(lambda: slack.responses("cmd-reminders"))
    assert "takes nothing after its name" in refusal[-1].args["text"]
    assert not slack.calls("views.open")

"""Stopping the Slack bot: the work that follows an ack already given is done before the store closes."""

from __future__ import annotations

import threading

from bot.slack.reminder_listeners import LIST_VIEW
from testkit.slack_harness import SlackBot
from testkit.waits import WAIT_SECONDS, wait_until

OWNER = "U0OWNER01"  # an admin by Slack's own flags: the list's admin check asks Slack (users.info)


def test_a_list_acked_before_the_stop_is_still_shown(tmp_path, slack):
    slack.add_user(OWNER, "Olive Owner", is_owner=True)
    bot = SlackBot(tmp_path=tmp_path, slack=slack)
    release = slack.hold("users.info")
    assert bot.command("reminders", user=OWNER).status == 200  # acked; the list follows once Slack answers
    wait_until(lambda: slack.attempts("users.info"))
    stopping = threading.Thread(target=bot.stop)
    stopping.start()
    wait_until(lambda: not bot.runtime.scheduler.alive)  # the stop is under way
    release.set()
    stopping.join(WAIT_SECONDS)
    assert not stopping.is_alive()
    assert [c for c in slack.calls("views.open") if c.args["view"].get("callback_id") == LIST_VIEW]

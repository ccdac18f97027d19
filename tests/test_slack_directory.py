"""Slack's directory: admins by Slack's own flags, time zones, where the bot may post; cached, and safe when Slack is down."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.directory import SlackDirectory
from testkit.slack_harness import BOT_TOKEN


def directory(slack, clock=lambda: 0.0) -> SlackDirectory:
    return SlackDirectory(WebClient(token=BOT_TOKEN, base_url=slack.api_url), clock=clock)


def test_admins_and_owners_by_slacks_flags_with_their_time_zone(slack):
    slack.add_user("U0ADMIN01", "Ada", is_admin=True, tz="America/New_York")
    slack.add_user("U0OWNER01", "Olive", is_owner=True)
    slack.add_user("U0STAFF01", "Sam")
    found = directory(slack)
    assert found.is_admin("slack:U0ADMIN01") and found.is_admin("slack:U0OWNER01")
    assert not found.is_admin("slack:U0STAFF01")
    assert found.time_zone("slack:U0ADMIN01") == "America/New_York"


def test_channels_are_checked_from_one_membership_list(slack):
    slack.add_channel("C0MEMBER1", name="staffroom")
    slack.add_channel("C0NOTIN01", name="office", member=False)
    slack.add_channel("C0OLD0001", name="old", archived=True, member=True)
    found = directory(slack)
    assert found.channel_problem("slack:C0MEMBER1") == ""
    assert "not a member" in found.channel_problem("slack:C0NOTIN01")
    assert "archived" in found.channel_problem("slack:C0OLD0001")
    assert "cannot see" in found.channel_problem("slack:C0NOSUCH1")
    assert found.channel_label("slack:C0MEMBER1") == "#staffroom"
    assert found.channel_label("slack:C0NOTIN01") == "#office"
    before = len(slack.calls("users.conversations"))
    for _ in range(50):
        found.channel_problem("slack:C0MEMBER1")
    assert len(slack.calls("users.conversations")) == before  # cached


def test_people_are_cached_for_a_minute(slack):
    slack.add_user("U0ADMIN01", "Ada", is_admin=True)
    now = [0.0]
    found = directory(slack, clock=lambda: now[0])
    found.is_admin("slack:U0ADMIN01")
    found.time_zone("slack:U0ADMIN01")
    assert len(slack.calls("users.info")) == 1
    now[0] = 61
    found.is_admin("slack:U0ADMIN01")
    assert len(slack.calls("users.info")) == 2


def test_when_slack_is_down_nobody_becomes_an_admin_and_channels_are_left_to_the_send(slack):
    slack.add_user("U0ADMIN01", "Ada", is_admin=True)
    found = directory(slack)
    slack.down()
    try:
        assert not found.is_admin("slack:U0ADMIN01")
        assert found.channel_problem("slack:C0ANY0001") == ""
    finally:
        slack.up()

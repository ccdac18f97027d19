"""Reminders on Teams, end to end: the real /api/messages endpoint, a recording Connector, a fake clock."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
import pytest

from bot.domain.platform import qualified_id
from bot.domain.ports import PermanentFailure
from bot.domain.reminder import PressKind
from bot.domain.ui import Field, FieldKind, Form, Option
from bot.teams.channels import Team, TeamChannel
from bot.teams.connector import ConnectorClient
from bot.teams.forms import dialog_card as dialog_card_of
from bot.teams.forms import read_answers
from bot.app import TeamsConnection
from bot.pacing import Pacer
from handlers.scheduled import Policy, run_due_work
from testkit.fake_connector import FakeConnector
from testkit.fake_slack import FakeSlack
from testkit.slack_harness import BOT_TOKEN, SlackBot
from testkit.adaptive_schema import check_card
from testkit.fakes import FakeClock
from testkit.teams_harness import LEAD, STAFF, TENANT, Activities, TeamsBot, TeamsDoor
from testkit.waits import wait_ticking, wait_until
from tests.test_teams_app import OneTokenAuth, RecordingConnector, _texts

ADMIN = LEAD  # the harness's app.yaml names the lead as a Teams admin
GENERAL = "19:general0000000000000000@thread.tacv2"  # a team's General channel: its id is the team's
WELLBEING = "19:wellbeing000000000000000@thread.tacv2"
SERVICE_URL = "https://smba.example.test/teams/"
NINE_TOMORROW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)  # Europe/London is on GMT
PERSONAL_ADMIN = f"a:personal-{ADMIN}"


class TeamsConnector(RecordingConnector):
    """The recording Connector, with the teams the bot is installed in (GET v3/teams/{id}/conversations)."""

    def __init__(self) -> None:
        super().__init__()
        self.teams: dict[str, Team] = {}
        self.team_calls = 0

    def team(self, service_url: str, team_id: str) -> Team:
        self.team_calls += 1
        if team_id not in self.teams:
            raise PermanentFailure("404 NotFound")
        return self.teams[team_id]

    def in_channel(self, conversation: str) -> list[dict]:
        return [activity for _, conv, activity in self.sent if conv == conversation]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc))


@pytest.fixture
def connector() -> TeamsConnector:
    found = TeamsConnector()
    found.teams[GENERAL] = Team(name="Staff room", channels=(TeamChannel(id=GENERAL, name=""),
                                                             TeamChannel(id=WELLBEING, name="Wellbeing")))
    return found


@pytest.fixture
def bot(tmp_path, connector, clock):
    running = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, clock=clock)
    yield running
    running.stop()


@pytest.fixture
def teams() -> Activities:
    return Activities(service_url=SERVICE_URL)


def fetch(bot, teams, action: str, value: str = "", *, user: str = ADMIN) -> dict:
    """Press a dialog-opening button: the task/fetch answer."""
    data = {"msteams": {"type": "task/fetch"}, "action": action, **({"value": value} if value else {})}
    return bot.post(teams.invoke("task/fetch", {"data": data}, user=user)).json()


def execute(bot, teams, action: str, value: str, *, user: str = ADMIN, conversation: str = "") -> dict:
    """Press an in-place button (Action.Execute), in a channel or the personal chat."""
    where = {"conversation": conversation, "conversation_type": "channel"} if conversation else {}
    invoke = teams.base("invoke", user=user, name="adaptiveCard/action", **where,
                        value={"action": {"type": "Action.Execute", "verb": action,
                                          "data": {"action": action, "value": value}}, "trigger": "manual"})
    return bot.post(invoke).json()


def dialog_card(answer: dict) -> dict:
    card = answer["task"]["value"]["card"]["content"]
    check_card(card)
    return card


def by_id(card: dict) -> dict[str, dict]:
    return {e["id"]: e for e in card["body"] if "id" in e}


GOOD = {"field.name": "Screen lock", "field.topic": "device-locking", "field.frequency": "daily",
        "field.time": "09:00", "field.timezone": "Europe/London", "field.start": "2026-11-24"}


def create(bot, teams, channels: list[str], *, store=None, **answers: str) -> str:
    card = dialog_card(fetch(bot, teams, "reminder.new"))
    data = dict(card["actions"][0]["data"]) | GOOD | {"field.channels": ",".join(channels)} | answers
    answer = bot.post(teams.invoke("task/submit", {"data": data}, user=ADMIN)).json()
    assert any(t.startswith("Saved. Next send: ") for t in _texts(dialog_card(answer))), answer
    return (store or bot.services.store).reminders()[-1].id


def install_team(bot, teams) -> None:
    assert bot.post(teams.channel_install(GENERAL)).status == 200


def run_scheduler(bot) -> None:
    run_due_work(bot.runtime.services, Policy())
    bot.runtime.worker.wake()


def listing(bot, connector, teams) -> str:
    before = len(connector.sent)
    cards = 1 + len([r for r in bot.services.store.reminders() if not r.deleted])  # a header, a card each
    bot.post(teams.message("reminders", user=ADMIN))
    wait_until(lambda: len(connector.sent) >= before + cards)
    return " ".join(" ".join(t for _, _, a in connector.sent[before:] for t in _texts(a)).split())


# --- the admins' list and form ---------------------------------------------------------------------

def test_staff_are_refused_and_admins_get_the_list_with_a_new_button(bot, connector, teams):
    bot.post(teams.message("reminders", user=STAFF))
    wait_until(lambda: connector.sent)
    assert connector.texts(f"a:personal-{STAFF}") == ["Only admins can manage awareness reminders."]
    shown = listing(bot, connector, teams)
    assert "No reminders yet." in shown and "New reminder" in shown
    refused = fetch(bot, teams, "reminder.new", user=STAFF)
    assert refused["task"] == {"type": "message", "value": "Only admins can manage awareness reminders."}


def test_with_no_team_the_form_says_how_to_add_the_app_to_one(bot, teams):
    card = dialog_card(fetch(bot, teams, "reminder.new"))
    said = " ".join(_texts(card))
    assert "StaffSafe is not in any team yet" in said and "Add to a team" in said
    assert "field.channels" not in by_id(card)
    data = dict(card["actions"][0]["data"]) | GOOD
    again = dialog_card(bot.post(teams.invoke("task/submit", {"data": data}, user=ADMIN)).json())
    assert "Please choose at least one channel." in _texts(again)
    assert bot.services.store.reminders() == []


def test_the_form_offers_the_channels_of_the_teams_the_app_is_in_by_name(bot, connector, teams):
    install_team(bot, teams)
    card = dialog_card(fetch(bot, teams, "reminder.new"))
    picker = by_id(card)["field.channels"]
    assert picker["type"] == "Input.ChoiceSet" and picker["isMultiSelect"]
    assert picker["choices"] == [{"title": "Staff room > General", "value": GENERAL},
                                 {"title": "Staff room > Wellbeing", "value": WELLBEING}]
    reminder_id = create(bot, teams, [WELLBEING, GENERAL])
    reminder = bot.services.store.reminder(reminder_id)
    assert set(reminder.channels) == {qualified_id("teams", GENERAL), qualified_id("teams", WELLBEING)}
    shown = listing(bot, connector, teams)
    assert "Staff room > Wellbeing" in shown and "Staff room > General" in shown
    assert "Next send: Wed 25 Nov 2026, 09:00 (Europe/London)" in shown
    assert "Done: 0, Show me how: 0 (over 0 sends)" in shown
    edit = dialog_card(fetch(bot, teams, "reminder.edit", reminder_id))
    assert set(by_id(edit)["field.channels"]["value"].split(",")) == {GENERAL, WELLBEING}
    assert by_id(edit)["field.name"]["value"] == "Screen lock"


def test_bad_answers_come_back_beside_their_fields_and_nothing_is_saved(bot, teams):
    install_team(bot, teams)
    card = dialog_card(fetch(bot, teams, "reminder.new"))
    data = dict(card["actions"][0]["data"]) | GOOD | {"field.name": "", "field.time": "25:99",
                                                      "field.channels": WELLBEING}
    again = dialog_card(bot.post(teams.invoke("task/submit", {"data": data}, user=ADMIN)).json())
    texts = _texts(again)
    assert "Please give the reminder a name." in texts and "Please give a time as HH:MM, e.g. 09:00." in texts
    assert by_id(again)["field.channels"]["value"] == WELLBEING  # the answers are kept
    assert bot.services.store.reminders() == []


def test_a_channel_typed_into_a_forged_submission_the_app_cannot_reach_is_refused(bot, teams):
    card = dialog_card(fetch(bot, teams, "reminder.new"))
    stranger = "19:elsewhere00000000000000@thread.tacv2"
    data = dict(card["actions"][0]["data"]) | GOOD | {"field.channels": stranger}
    again = dialog_card(bot.post(teams.invoke("task/submit", {"data": data}, user=ADMIN)).json())
    assert any("StaffSafe is not installed in that channel's team" in t for t in _texts(again))
    assert bot.services.store.reminders() == []


def test_list_buttons_preview_pause_resume_and_a_confirmed_delete(bot, connector, teams, clock):
    install_team(bot, teams)
    reminder_id = create(bot, teams, [WELLBEING])
    preview = fetch(bot, teams, "reminder.preview", reminder_id)
    said = " ".join(_texts(dialog_card(preview)))
    assert "Preview (only you can see this):" in said and "Staying safe online" in said
    assert execute(bot, teams, "reminder.pause", reminder_id)["value"] == "Paused. Nothing is sent until you resume it."
    assert "Status: paused" in listing(bot, connector, teams)
    resumed = execute(bot, teams, "reminder.resume", reminder_id)["value"]
    assert resumed == "Resumed. Next send: Wed 25 Nov 2026, 09:00 (Europe/London)."
    confirm = dialog_card(fetch(bot, teams, "reminder.delete", reminder_id))
    assert "Delete this reminder? It stops at once; messages already posted stay." in " ".join(_texts(confirm))
    assert not bot.services.store.reminder(reminder_id).deleted  # asking is not deleting
    data = dict(confirm["actions"][0]["data"])
    assert "Deleted." in _texts(dialog_card(bot.post(teams.invoke("task/submit", {"data": data}, user=ADMIN)).json()))
    assert bot.services.store.reminder(reminder_id).deleted


# --- the message in the channel, and what people press ---------------------------------------------

def test_send_now_posts_the_card_and_presses_are_answered_privately_and_counted_once(bot, connector, teams):
    install_team(bot, teams)
    reminder_id = create(bot, teams, [WELLBEING, GENERAL])
    answer = execute(bot, teams, "reminder.send_now", reminder_id)
    assert answer["value"] == "Sending now to 2 channels."
    wait_until(lambda: connector.in_channel(WELLBEING) and connector.in_channel(GENERAL))
    [message] = connector.in_channel(WELLBEING)
    card = message["attachments"][0]["content"]
    check_card(card)
    assert [a["title"] for a in card["actions"]] == ["Done", "Show me how", "Full checklist"]
    assert "Why it matters" in _texts(card)
    done, how, _ = card["actions"]
    assert done["type"] == "Action.Execute" and how["data"]["msteams"] == {"type": "task/fetch"}
    run = done["data"]["value"]
    posted = len(connector.sent)

    thanks = execute(bot, teams, "reminder.done", run, user=STAFF, conversation=WELLBEING)
    assert thanks == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                      "value": "Nice one, thank you. Only you can see this; admins see a count, never names."}
    execute(bot, teams, "reminder.done", run, user=STAFF, conversation=WELLBEING)
    steps = dialog_card(fetch(bot, teams, "reminder.how", run, user=STAFF))
    assert any("Windows key" in t for t in _texts(steps))
    assert len(connector.sent) == posted  # nothing pressed is posted, in the channel or anywhere
    assert bot.services.store.press_counts(reminder_id) == {PressKind.DONE: 1, PressKind.HOW: 1}
    shown = listing(bot, connector, teams)
    assert "Done: 1, Show me how: 1 (over 1 send)" in shown and "Sam Staff" not in shown and STAFF not in shown


def test_a_preview_press_records_nothing(bot, teams):
    answer = execute(bot, teams, "reminder.done", "preview", user=STAFF)
    assert answer["value"] == "This is a preview: nothing was recorded."


# --- sending on schedule ---------------------------------------------------------------------------

def test_a_channel_the_app_was_removed_from_is_reported_to_the_admin_and_skipped(bot, connector, teams, clock):
    install_team(bot, teams)
    bot.post(teams.install(user=ADMIN))
    reminder_id = create(bot, teams, [WELLBEING, GENERAL])
    connector.refusing.add(WELLBEING)
    clock.current = NINE_TOMORROW
    run_scheduler(bot)
    wait_until(lambda: bot.services.store.reminder(reminder_id).blocked_channels == (qualified_id("teams", WELLBEING),))
    clock.advance(minutes=1)
    bot.runtime.worker.wake()
    # The admin's chat holds their welcome card (bot/teams/home.py) before the notice.
    wait_until(lambda: "could not be posted" in " ".join(connector.texts(PERSONAL_ADMIN)))
    notice = " ".join(connector.texts(PERSONAL_ADMIN))
    assert "could not be posted in Staff room > Wellbeing" in notice
    assert "Those channels are skipped from now on." in notice
    clock.current = NINE_TOMORROW + timedelta(days=1)
    run_scheduler(bot)
    wait_ticking(clock, lambda: len(connector.in_channel(GENERAL)) == 2)
    assert connector.in_channel(WELLBEING) == []
    assert "Staff room > Wellbeing: the bot cannot post there." in listing(bot, connector, teams)


def test_reminders_fire_at_local_time_across_a_dst_change_once_each(bot, connector, teams, clock):
    install_team(bot, teams)
    clock.current = datetime(2026, 10, 23, 12, 0, tzinfo=timezone.utc)
    create(bot, teams, [GENERAL], **{"field.start": "2026-10-23"})
    for day, hour in ((24, 8), (25, 9), (26, 9)):  # 09:00 in London: BST (UTC+1), then GMT from 25 October
        clock.current = datetime(2026, 10, day, hour, 0, tzinfo=timezone.utc) - timedelta(minutes=1)
        run_scheduler(bot)
        clock.advance(minutes=1)
        run_scheduler(bot)
        run_scheduler(bot)
        wait_ticking(clock, lambda: len(connector.in_channel(GENERAL)) == (24, 25, 26).index(day) + 1)
    assert len(connector.in_channel(GENERAL)) == 3


def test_a_claimed_send_survives_a_crash_before_posting_and_is_sent_once(tmp_path, connector, teams, clock):
    first = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, clock=clock)
    try:
        install_team(first, teams)
        create(first, teams, [GENERAL, WELLBEING])
        first.runtime.worker.stop()  # nothing will be posted by this process
        clock.current = NINE_TOMORROW
        run_due_work(first.runtime.services, Policy())
    finally:
        first.stop()
    assert connector.in_channel(GENERAL) == []
    second = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, clock=clock)
    try:
        run_due_work(second.runtime.services, Policy())  # the restarted scheduler claims nothing again
        wait_until(lambda: connector.in_channel(GENERAL) and connector.in_channel(WELLBEING))
    finally:
        second.stop()
    assert len(connector.in_channel(GENERAL)) == 1 and len(connector.in_channel(WELLBEING)) == 1



def test_chosen_channels_read_back_with_another_platforms_kept_and_anything_else_dropped():
    form = Form(id="reminder.save", title="t", submit_label="Save",
                fields=(Field("channels", "Post in", FieldKind.CHANNELS),))
    raw = f"{GENERAL},slack:C0STAFF01, javascript:alert(1),teams:{WELLBEING},19:x y@thread.v2,{WELLBEING}\n"
    assert read_answers(form, {"channels": raw})["channels"] == [
        qualified_id("teams", GENERAL), "slack:C0STAFF01", qualified_id("teams", WELLBEING)]
    card = dialog_card_of(form, initial={"channels": [qualified_id("teams", GENERAL), "slack:C0STAFF01"]},
                          channels=[Option(GENERAL, "Staff room > General"), Option("slack:C0STAFF01", "#staffroom")])
    check_card(card)
    [picker] = [e for e in card["body"] if e.get("id") == "field.channels"]
    assert picker["value"] == f"{GENERAL},slack:C0STAFF01"


def test_the_next_send_is_shown_in_the_time_zone_the_admins_teams_client_reports(bot, connector, teams):
    install_team(bot, teams)
    create(bot, teams, [GENERAL])
    bot.post(teams.message("reminders", user=ADMIN, localTimezone="America/New_York"))
    wait_until(lambda: any("America/New_York" in t for t in connector.texts(PERSONAL_ADMIN)))
    assert "Wed 25 Nov 2026, 04:00 (America/New_York)" in " ".join(connector.texts(PERSONAL_ADMIN))
    clock_info = {"entities": [{"type": "clientInfo", "locale": "en-GB", "timezone": "Not/AZone"}]}
    sent = len(connector.sent)
    bot.post(teams.message("hotlines", user=ADMIN, **clock_info))  # a zone no one knows is not used
    wait_until(lambda: len(connector.sent) > sent)
    assert "Wed 25 Nov 2026, 09:00 (Europe/London)" in listing(bot, connector, teams)


# --- one reminder on Slack and Teams ---------------------------------------------------------------

SLACK_ADMIN, STAFFROOM = "U0LEAD001", "C0STAFF01"
BOTH = f"""
organisation: Example Academy Trust
leads:
  slack:
    - {{id: {SLACK_ADMIN}, name: Lee Harper}}
admins:
  slack: [{SLACK_ADMIN}]
  teams: [{ADMIN}]
"""


def test_one_reminder_posts_in_slack_and_teams_channels_and_a_teams_edit_keeps_the_slack_one(
        tmp_path, connector, teams, clock):
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        slack.add_channel(STAFFROOM, name="staffroom")
        bot = SlackBot(tmp_path=tmp_path, slack=slack, app_yaml=BOTH, clock=clock, pacer=Pacer(channel_gap=0.05),
                       teams=TeamsConnection(auth=OneTokenAuth(), connector=connector, downloads=connector))
        door = TeamsDoor(bot.url)
        try:
            install_team(door, teams)
            reminder_id = create(door, teams, [GENERAL, f"slack:{STAFFROOM}"], store=bot.services.store)
            both = {qualified_id("teams", GENERAL), f"slack:{STAFFROOM}"}
            assert set(bot.services.store.reminder(reminder_id).channels) == both
            edit = dialog_card(fetch(door, teams, "reminder.edit", reminder_id))
            picker = by_id(edit)["field.channels"]
            assert {"title": "#staffroom", "value": f"slack:{STAFFROOM}"} in picker["choices"]
            data = dict(edit["actions"][0]["data"]) | GOOD | {"field.channels": picker["value"],
                                                              "field.name": "Screen lock, both"}
            door.post(teams.invoke("task/submit", {"data": data}, user=ADMIN))
            assert set(bot.services.store.reminder(reminder_id).channels) == both
            clock.current = NINE_TOMORROW
            run_due_work(bot.runtime.services, Policy())
            bot.runtime.worker.wake()
            wait_ticking(clock, lambda: slack.posts_in(STAFFROOM) and connector.in_channel(GENERAL))
            assert len(slack.posts_in(STAFFROOM)) == 1 and len(connector.in_channel(GENERAL)) == 1
        finally:
            bot.stop()


def test_a_client_without_universal_actions_gets_its_answer_in_its_own_chat_not_the_channel(bot, connector, teams):
    install_team(bot, teams)
    reminder_id = create(bot, teams, [WELLBEING])
    execute(bot, teams, "reminder.send_now", reminder_id)
    wait_until(lambda: connector.in_channel(WELLBEING))
    run = connector.in_channel(WELLBEING)[0]["attachments"][0]["content"]["actions"][0]["fallback"]["data"]["value"]
    fallback = teams.base("message", user=STAFF, conversation=WELLBEING, conversation_type="channel",
                          value={"action": "reminder.done", "value": run}, text="")
    assert bot.post(fallback).status == 200
    wait_until(lambda: connector.texts(f"a:personal-29:{STAFF}"))
    assert connector.texts(f"a:personal-29:{STAFF}") == [
        "Nice one, thank you. Only you can see this; admins see a count, never names."]
    assert len(connector.in_channel(WELLBEING)) == 1
    assert bot.services.store.press_counts(reminder_id)[PressKind.DONE] == 1


# --- through the real Connector client, against the local Connector -------------------------------

class StaticToken:
    def token(self) -> str:
        return "t"


@pytest.fixture
def fake_connector():
    with FakeConnector() as fake:
        fake.add_team(GENERAL, "Staff room", {GENERAL: "", WELLBEING: "Wellbeing"})
        yield fake


def connector_bot(tmp_path, fake, clock) -> TeamsBot:
    client = ConnectorClient(tokens=StaticToken(), app_id="bot-app-id", tenant_id=TENANT,
                             allowed_origins=(fake.base_url,))
    return TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=client, downloads=client, clock=clock)


def test_the_form_lists_the_teams_channels_through_the_connector(tmp_path, fake_connector, clock):
    bot = connector_bot(tmp_path, fake_connector, clock)
    teams = Activities(service_url=fake_connector.service_url)
    try:
        install_team(bot, teams)
        picker = by_id(dialog_card(fetch(bot, teams, "reminder.new")))["field.channels"]
        assert [c["title"] for c in picker["choices"]] == ["Staff room > General", "Staff room > Wellbeing"]
        assert len(fake_connector.calls("team_channels")) == 1
        dialog_card(fetch(bot, teams, "reminder.new"))
        assert len(fake_connector.calls("team_channels")) == 1  # names are kept a few minutes
    finally:
        bot.stop()


def test_a_429_storm_delays_but_every_channel_gets_one_post(tmp_path, fake_connector, clock):
    channels = {f"19:fan{n:04d}xxxxxxxxxxxxxxxx@thread.tacv2": f"Channel {n}" for n in range(40)}
    fake_connector.add_team(GENERAL, "Staff room", {GENERAL: "", **channels})
    bot = connector_bot(tmp_path, fake_connector, clock)
    teams = Activities(service_url=fake_connector.service_url)
    try:
        install_team(bot, teams)
        create(bot, teams, list(channels))
        # The tenant's share made small: Teams answers 429 (Retry-After 1) past 10 requests a second.
        fake_connector.limit(per_conversation=(7, 1.0), overall=(10, 1.0))
        clock.current = NINE_TOMORROW
        run_scheduler(bot)

        def sent() -> Counter[str]:
            return Counter(call.conversation_id for call in fake_connector.calls("send"))
        wait_ticking(clock, lambda: all(sent()[c] == 1 for c in channels))
        assert fake_connector.rate_limited > 0
        assert len(fake_connector.attempts("send")) == len(channels) + fake_connector.rate_limited
        assert set(sent()) == set(channels) and all(n == 1 for n in sent().values())
    finally:
        bot.stop()

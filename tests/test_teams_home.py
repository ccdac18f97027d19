"""A home on Teams, over the real endpoint: the welcome card once per install, and `home` in the personal chat."""

from __future__ import annotations

import json

from bot.teams.home import HOME_SUMMARY
from testkit.adaptive_schema import check_card
from testkit.fakes import FakeClock
from testkit.teams_harness import BACKUP, BOT_ID, LEAD, LEADS_CHANNEL, STAFF, Activities, TeamsBot
from testkit.waits import wait_until
from tests.test_teams_app import (GOOD, PERSONAL, SERVICE_URL, WHAT, OneTokenAuth, _dialog, _execute, _submit_data,
                                  _texts)
from tests.test_teams_app import bot, connector, teams  # noqa: F401 - the fixtures

WELCOME = "Welcome to StaffSafe"


def _bot_joined(teams: Activities, user: str) -> dict:
    """The conversationUpdate Teams sends beside installationUpdate when the app is added in personal scope."""
    return teams.base("conversationUpdate", user=user, membersAdded=[{"id": f"29:{user}"}, {"id": BOT_ID}])


def _welcomes(connector, conversation: str = PERSONAL) -> list[dict]:
    return [a for _, conv, a in connector.sent if conv == conversation and WELCOME in _texts(a)]


def _settle(bot) -> None:
    bot.runtime.worker.wake()
    wait_until(lambda: bot.services.store.due_outbox(bot.services.clock.now()) == [])


def test_installing_sends_the_welcome_once_with_true_words_and_a_button_per_command(bot, connector, teams):
    assert bot.post(teams.install()).status == 200
    assert bot.post(_bot_joined(teams, STAFF)).status == 200  # both events of one install
    assert bot.post(_bot_joined(teams, STAFF)).status == 200  # a retried delivery
    bot.post(teams.message("hotlines o2"))  # later activities in the chat
    wait_until(lambda: any("nuisance@telefonica.com" in t for t in connector.texts(PERSONAL)))
    [welcome] = _welcomes(connector)
    card = welcome["attachments"][0]["content"]
    check_card(card)
    said = " ".join(_texts(welcome))
    assert "I help staff at Example Academy Trust deal with online abuse" in said
    assert "What you do in this chat is private to you." in said
    assert ("A report goes privately to the designated leads (2 people), and to no one else. They get a short alert "
            "without what you wrote; the details open only for them, and every view is recorded. A report about "
            "one of the leads never reaches that lead.") in said
    assert "Lee Harper" not in said and "Bea Moss" not in said  # how many, never who
    assert "Type home to see your reports and where each one stands, or help for everything I can do." in said
    buttons = {a["title"]: a for a in card["actions"]}
    assert list(buttons) == ["Report", "My reports", "Nuisance call lines", "Takedown request", "Stay safe"]
    assert buttons["Report"]["data"] == {"msteams": {"type": "task/fetch"}, "action": "report.open"}
    dialog = bot.post(teams.invoke("task/fetch", {"data": buttons["Report"]["data"]})).json()
    assert dialog["task"]["value"]["title"] == "Report cyberbullying"


def test_a_reinstall_welcomes_again_and_a_team_install_does_not(bot, connector, teams):
    bot.post(teams.install())
    wait_until(lambda: _welcomes(connector))
    bot.post(teams.install(action="remove"))
    bot.post(teams.install())
    wait_until(lambda: len(_welcomes(connector)) == 2)
    bot.post(teams.channel_install(LEADS_CHANNEL))
    bot.post(teams.message("staysafe"))
    wait_until(lambda: any("checklist" in t.lower() for t in connector.texts(PERSONAL)))
    assert len(_welcomes(connector)) == 2
    assert not [a for _, conv, a in connector.sent if conv == LEADS_CHANNEL]


def test_a_lead_is_welcomed_with_the_queue_and_an_admin_with_reminders(bot, connector, teams):
    bot.post(teams.install(user=LEAD))
    [welcome] = wait_until(lambda: _welcomes(connector, f"a:personal-{LEAD}"))
    said = " ".join(_texts(welcome))
    assert "and the open reports waiting for the leads" in said
    assert "Awareness reminders" in [a["title"] for a in welcome["attachments"][0]["content"]["actions"]]


def _report(bot, teams, **answers: str) -> str:
    data = _submit_data(_dialog(bot, teams)) | GOOD | answers
    bot.post(teams.invoke("task/submit", {"data": data}))
    return bot.services.store.all_reports()[-1].reference


def _home(bot, connector, teams, user: str) -> dict:
    before = len(connector.sent)
    bot.post(teams.message("home", user=user))
    activity = wait_until(lambda: [a for _, _, a in connector.sent[before:] if a.get("summary") == HOME_SUMMARY])[-1]
    card = activity["attachments"][0]["content"]
    check_card(card)
    return card


def _refresh(bot, teams, card: dict, user: str) -> dict:
    action = card["refresh"]["action"]
    invoke = teams.invoke("adaptiveCard/action", {"action": action, "trigger": "automatic"}, user=user)
    answer = bot.post(invoke).json()
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    check_card(answer["value"])
    return answer["value"]


def test_home_shows_a_persons_reports_and_refreshes_for_them(bot, connector, teams):
    _settle(bot)
    first = _report(bot, teams)
    card = _home(bot, connector, teams, STAFF)
    said = _texts(card)
    assert "Your reports" in said and any(t.startswith(first) for t in said)
    assert not any(t.startswith("Open reports") for t in said)  # not a lead: no queue
    assert card["refresh"]["userIds"] == [f"29:{STAFF}"]  # refreshed for this person only
    assert card["refresh"]["action"]["verb"] == "card.refresh"
    assert card["refresh"]["action"]["data"] == {"action": "card.refresh", "value": "home"}  # ids only
    assert [a["title"] for a in card["actions"]] == ["Refresh"]
    assert WHAT not in json.dumps(card)

    second = _report(bot, teams)
    refreshed = _texts(_refresh(bot, teams, card, STAFF))
    assert any(t.startswith(second) for t in refreshed) and any(t.startswith(first) for t in refreshed)


def test_home_typed_in_a_channel_answers_in_the_personal_chat(bot, connector, teams):
    bot.post(teams.message("home", conversation=LEADS_CHANNEL, conversation_type="channel"))
    chat = connector.create_conversation(SERVICE_URL, tenant=teams.tenant, member_id=f"29:{STAFF}")  # the 1:1 chat
    wait_until(lambda: [a for _, conv, a in connector.sent if conv == chat and "Your reports" in _texts(a)])
    assert not [a for _, conv, a in connector.sent if conv == LEADS_CHANNEL]


def test_a_leads_home_lists_the_open_queue_oldest_first_and_follows_cases_as_they_move(tmp_path, connector, teams):
    clock = FakeClock()
    bot = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, clock=clock)
    try:
        _lead_home(bot, connector, teams, clock)
    finally:
        bot.stop()


def _lead_home(bot, connector, teams, clock) -> None:
    for person in (STAFF, LEAD, BACKUP):
        bot.post(teams.install(user=person))
    older = _report(bot, teams)
    clock.advance(hours=3)
    newer = _report(bot, teams, **{"field.adult": "no"})
    about_lead = _report(bot, teams, **{"field.subject": LEAD})
    _settle(bot)

    card = _home(bot, connector, teams, LEAD)
    said = _texts(card)
    assert "Open reports (2)" in said  # not the one about this lead
    assert about_lead not in " ".join(said)
    assert said.index(older) < said.index(newer)  # oldest first
    assert "Oldest first. Details open privately and every view is recorded." in said
    assert any(t.startswith("Age: ") for t in said) and any(t.startswith("Flags: ") for t in said)
    views = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"] if a["title"] == "View details"]
    assert len(views) == 2 and all(v["data"]["msteams"] == {"type": "task/fetch"} for v in views)
    assert card["refresh"]["userIds"] == [f"29:{LEAD}"]

    # The backup lead's home counts the report about the lead too.
    assert "Open reports (3)" in _texts(_refresh(bot, teams, card, BACKUP))

    # The lead closes the older case: the refreshed home no longer lists it.
    report_id = bot.services.store.report_by_reference(older).id
    opener = {"msteams": {"type": "task/fetch"}, "action": "case.status", "value": report_id}
    form = bot.post(teams.invoke("task/fetch", {"data": opener}, user=LEAD)).json()["task"]["value"]
    bot.post(teams.invoke("task/submit", {"data": form["card"]["content"]["actions"][0]["data"]
                                          | {"field.status": "closed"}}, user=LEAD))
    moved = _texts(_refresh(bot, teams, card, LEAD))
    assert "Open reports (1)" in moved and older not in " ".join(moved) and newer in moved

    # Whoever presses Refresh gets their own home, never the lead's queue.
    staff_view = _texts(_refresh(bot, teams, card, STAFF))
    assert not any(t.startswith("Open reports") for t in staff_view) and "Your reports" in staff_view


def test_a_forged_refresh_value_changes_nothing(bot, teams):
    answer = bot.post(_execute(teams, "card.refresh", "someone-elses-home", user=STAFF)).json()
    assert answer["value"] == "That button no longer works. Please start again."

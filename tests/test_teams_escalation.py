"""Escalation and retention on Teams, over the real endpoint with a fake clock: once, and exactly when due.

Reports, acknowledgements, closings and legal holds come in as Teams sends them; the scheduler's pass
(`run_due_work`, what the scheduler thread runs) is driven with the fake clock; the outbox worker delivers
to a recording Connector. Leads have a leads' team channel; the backup lead and the reporter have
personal chats.
"""

from __future__ import annotations

import pytest

from bot.domain.report import Status
from handlers.scheduled import run_due_work
from testkit.fakes import FakeClock
from testkit.teams_harness import BACKUP, LEAD, LEADS_CHANNEL, STAFF, Activities, TeamsBot
from testkit.waits import wait_until
from tests.test_teams_app import (GOOD, PERSONAL, SERVICE_URL, OneTokenAuth, _buttons, _dialog, _execute,
                                  _submit_data, _texts)
from tests.test_teams_app import connector, teams  # noqa: F401 - the fixtures

LEAD_TWO = "44444444-0000-4000-8000-00000000000d"
APP_YAML = f"""
organisation: Example Academy Trust
leads:
  teams:
    - {{id: {LEAD}, name: Lee Harper}}
    - {{id: {LEAD_TWO}, name: Kim Ode}}
backup_leads:
  teams:
    - {{id: {BACKUP}, name: Bea Moss}}
lead_channel:
  teams: "{LEADS_CHANNEL}"
escalation:
  window_hours: 24
retention:
  days: 30
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bot(tmp_path, connector, clock):
    running = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, app_yaml=APP_YAML, clock=clock)
    teams = Activities(service_url=SERVICE_URL)
    for person in (STAFF, LEAD, LEAD_TWO, BACKUP):
        assert running.post(teams.install(user=person)).status == 200
    assert running.post(teams.channel_install(LEADS_CHANNEL)).status == 200
    yield running
    running.stop()


def _report(bot, teams, **answers: str):
    bot.post(teams.invoke("task/submit", {"data": _submit_data(_dialog(bot, teams)) | GOOD | answers}))
    return bot.services.store.all_reports()[-1]


def _settled(bot) -> None:
    """Every item due now delivered (the worker polls every 50 ms)."""
    bot.runtime.worker.wake()
    wait_until(lambda: bot.services.store.due_outbox(bot.services.clock.now()) == [])


def _pass(bot):
    result = run_due_work(bot.services, bot.config)
    _settled(bot)
    return result


def _said(connector, conversation: str, words: str) -> list[dict]:
    return [activity for _, conv, activity in connector.sent if conv == conversation
            and any(words in text for text in _texts(activity))]


def test_an_unacknowledged_report_is_chased_on_teams_once_and_exactly_when_due(bot, connector, teams, clock):
    report = _report(bot, teams)
    _settled(bot)
    chased = f"Not yet acknowledged: {report.reference}"
    clock.advance(hours=24, seconds=-1)
    assert _pass(bot).escalations == 0
    assert not any(_said(connector, conv, chased) for conv in (LEADS_CHANNEL, f"a:personal-{BACKUP}"))

    clock.advance(seconds=1)
    assert _pass(bot).escalations == 1
    assert _pass(bot).escalations == 0  # once per window, however often the scheduler runs
    assert len(_said(connector, LEADS_CHANNEL, chased)) == 1  # the leads' team channel
    [backup] = _said(connector, f"a:personal-{BACKUP}", chased)  # the backup lead, privately
    assert "You are receiving this as a backup lead" in " ".join(_texts(backup))
    assert _buttons(backup).keys() == {"View details", "Acknowledge"}
    for lead in (LEAD, LEAD_TWO):  # leads with a channel are told there, not privately as well
        assert not _said(connector, f"a:personal-{lead}", chased)
    [told] = _said(connector, PERSONAL, "StaffSafe is chasing the designated leads now")
    assert f"Your report {report.reference} has not been picked up yet" in " ".join(_texts(told))
    assert GOOD["field.what_happened"] not in str(connector.sent)
    assert bot.services.store.report(report.id).status is Status.ESCALATED
    wait_until(lambda: any(conv == LEADS_CHANNEL for conv, _, _ in connector.updated))  # the alert shows it

    clock.advance(hours=24)
    assert _pass(bot).escalations == 1  # the next window
    assert len(_said(connector, LEADS_CHANNEL, chased)) == 2


def test_an_acknowledged_report_is_never_chased_on_teams(bot, connector, teams, clock):
    report = _report(bot, teams)
    _settled(bot)
    ack = _buttons(_said(connector, LEADS_CHANNEL, f"New report {report.reference}")[0])["Acknowledge"]
    form = bot.post(teams.invoke("task/fetch", {"data": ack}, user=LEAD)).json()["task"]["value"]
    submit = form["card"]["content"]["actions"][0]["data"] | {"field.named": "named"}
    bot.post(teams.invoke("task/submit", {"data": submit}, user=LEAD))
    clock.advance(days=3)
    assert _pass(bot).escalations == 0
    assert not any(_said(connector, conv, "Not yet acknowledged") for conv in (LEADS_CHANNEL, f"a:personal-{BACKUP}"))


def test_a_report_about_a_lead_is_chased_without_ever_reaching_that_lead(bot, connector, teams, clock):
    report = _report(bot, teams, **{"field.subject": LEAD})
    _settled(bot)
    clock.advance(hours=24)
    assert _pass(bot).escalations == 1
    chased = f"Not yet acknowledged: {report.reference}"
    for other in (LEAD_TWO, BACKUP):  # every other lead privately: the channel may hold the lead it is about
        [notice] = _said(connector, f"a:personal-{other}", chased)
        assert "the report names one of the designated leads" in " ".join(_texts(notice))
    assert not _said(connector, LEADS_CHANNEL, report.reference)
    assert not _said(connector, f"a:personal-{LEAD}", report.reference)
    assert not any(conv == f"a:personal-{LEAD}" for conv, _, _ in connector.updated)


def _close(bot, teams, report) -> None:
    opener = {"msteams": {"type": "task/fetch"}, "action": "case.status", "value": report.id}
    form = bot.post(teams.invoke("task/fetch", {"data": opener}, user=LEAD)).json()["task"]["value"]
    submit = form["card"]["content"]["actions"][0]["data"] | {"field.status": "closed"}
    bot.post(teams.invoke("task/submit", {"data": submit}, user=LEAD))
    assert bot.services.store.report(report.id).status is Status.CLOSED


def test_a_retention_warning_reaches_teams_once_and_its_legal_hold_works_from_teams(bot, connector, teams, clock):
    report = _report(bot, teams)
    _close(bot, teams, report)
    _settled(bot)
    warning = f"{report.reference} will be deleted on"
    clock.advance(days=23, seconds=-1)  # a warning is due 7 days before the purge (30 days after closing)
    _pass(bot)
    assert not _said(connector, LEADS_CHANNEL, warning)
    clock.advance(seconds=1)
    _pass(bot)
    _pass(bot)
    [posted] = _said(connector, LEADS_CHANNEL, warning)  # once
    [backup] = _said(connector, f"a:personal-{BACKUP}", warning)
    assert "You are receiving this as a backup lead" in " ".join(_texts(backup))
    hold = posted["attachments"][0]["content"]["actions"][0]
    assert (hold["title"], hold["type"], hold["verb"]) == ("Legal hold", "Action.Execute", "case.hold")
    assert hold["data"] == {"action": "case.hold", "value": report.id}  # ids only

    # Authorised on the server: the reporter (not a lead) pressing it changes nothing.
    refused = bot.post(_execute(teams, "case.hold", report.id, user=STAFF)).json()
    assert refused["value"] == "Only the designated leads can do that."
    assert not bot.services.store.report(report.id).legal_hold
    held = bot.post(_execute(teams, hold["verb"], hold["data"]["value"], user=BACKUP)).json()
    assert "hold" in held["value"].lower()
    assert bot.services.store.report(report.id).legal_hold

    clock.advance(days=30)
    assert _pass(bot).purges == 0  # held: kept
    assert bot.services.store.report(report.id) is not None


def test_an_unheld_closed_report_is_purged_on_the_day_the_warning_gave(bot, connector, teams, clock):
    report = _report(bot, teams)
    _close(bot, teams, report)
    clock.advance(days=23)
    _pass(bot)
    wait_until(lambda: _said(connector, LEADS_CHANNEL, f"{report.reference} will be deleted on"))
    clock.advance(days=7, seconds=-1)
    assert _pass(bot).purges == 0
    clock.advance(seconds=1)
    assert _pass(bot).purges == 1
    assert bot.services.store.report(report.id) is None


def test_without_a_leads_channel_each_lead_is_chased_in_their_personal_chat_once(tmp_path, connector, teams):
    clock = FakeClock()
    bot = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, clock=clock,
                   app_yaml=APP_YAML.replace(f'lead_channel:\n  teams: "{LEADS_CHANNEL}"\n', ""))
    try:
        for person in (STAFF, LEAD, LEAD_TWO, BACKUP):
            bot.post(teams.install(user=person))
        report = _report(bot, teams)
        clock.advance(hours=24)
        assert _pass(bot).escalations == 1
        assert _pass(bot).escalations == 0
        for lead in (LEAD, LEAD_TWO, BACKUP):  # the backup lead once, though both rules name them
            [notice] = _said(connector, f"a:personal-{lead}", f"Not yet acknowledged: {report.reference}")
            said = " ".join(_texts(notice))
            assert "You are receiving this privately because there is no leads' channel on this platform." in said
            assert "as a backup lead" not in said
    finally:
        bot.stop()

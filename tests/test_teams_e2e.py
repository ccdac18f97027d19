"""Teams end to end over the real endpoint, with every real protocol piece: Bot Framework tokens checked
against a local OpenID/JWKS server, the bot's own tokens from a local https Entra (test CA through
REQUESTS_CA_BUNDLE), and a local Bot Connector recording what the bot sends and failing as told.

The words users see are read from the cards the Connector received.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.app import teams_connection
from bot.domain.report import Delivery, OutboxState
from bot.teams.home import WELCOME_SUMMARY
from testkit.fake_botframework import FakeBotFramework
from testkit.fake_connector import FakeConnector
from testkit.fake_entra import FakeEntra
from testkit.fakes import FakeClock
from testkit.teams_harness import APP_YAML, BACKUP, LEAD, STAFF, Activities, TeamsBot
from testkit.waits import wait_until
from tests.test_teams_app import GOOD, WHAT, _buttons, _dialog, _submit_data, _texts

SECRET = "fake-secret"


@pytest.fixture
def connector():
    with FakeConnector() as fake:
        yield fake


@pytest.fixture
def botframework(connector):
    with FakeBotFramework(service_url=connector.service_url) as fake:
        yield fake


@pytest.fixture
def entra(tmp_path, monkeypatch, botframework):
    with FakeEntra(tenant_id=botframework.tenant_id, app_id=botframework.app_id, secret=SECRET,
                   directory=tmp_path / "ca") as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_bundle))
        yield fake


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def bot(tmp_path, botframework, entra, connector, clock):
    connector.token_ok = lambda token: token in entra.issued  # only tokens Entra gave the bot
    settings = botframework.settings(login_host=entra.login_host, client_secret=SECRET)
    connection = teams_connection(settings, allowed_origins=[connector.base_url])
    running = TeamsBot(tmp_path=tmp_path, auth=connection.auth, connector=connection.connector,
                       downloads=connection.downloads, clock=clock, app_yaml=APP_YAML)
    running.token = botframework.token()  # what Bot Framework signs each request with
    yield running
    running.stop()


@pytest.fixture
def teams(botframework) -> Activities:
    return Activities(service_url=botframework.service_url, tenant=botframework.tenant_id)


class Door:
    """Posts activities with a Bot Framework token (as the Connector does)."""

    def __init__(self, bot: TeamsBot) -> None:
        self.bot = bot

    def post(self, activity):
        return self.bot.post(activity, token=self.bot.token)


def sent(connector: FakeConnector, conversation: str = "") -> list[dict]:
    """The activities the bot posted, oldest first (in one conversation, if named), welcome cards aside."""
    return [c.body for c in connector.calls("send") if (not conversation or c.conversation_id == conversation)
            and c.body.get("summary") != WELCOME_SUMMARY]


def said(connector: FakeConnector, conversation: str = "") -> str:
    """Everything a person could read in what the bot posted."""
    return " ".join(t for body in sent(connector, conversation) for t in _texts(body))


def personal(person: str) -> str:
    return f"a:personal-{person}"


def install(door: Door, teams: Activities, connector: FakeConnector, *people: str) -> None:
    for person in people:
        assert door.post(teams.install(user=person)).status == 200
    # Each person is welcomed once (bot/teams/home.py): sent before the test injects failures or counts posts.
    wait_until(lambda: {c.conversation_id for c in connector.calls("send") if c.body.get("summary") == WELCOME_SUMMARY}
               >= {personal(p) for p in people})


def retried_until(clock: FakeClock, check):
    """Wait for `check()`, moving the clock a few seconds each time it is asked (past any backoff)."""
    def moved():
        clock.advance(seconds=3)
        return check()
    return wait_until(moved)


# --- commands -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "words"), [
    ("help", "Report"),
    ("<at>StaffSafe</at> /HOTLINES o2", "nuisance@telefonica.com"),
    ("staysafe", "checklist"),
    ("myreports", "You have not filed any reports."),
    ("takedown", "Takedown"),
    ("what now?", "Report"),  # unknown input: the help card
])
def test_each_command_answers_in_the_personal_chat(bot, connector, teams, typed, words):
    assert Door(bot).post(teams.message(typed)).status == 200
    wait_until(lambda: words.lower() in said(connector, personal(STAFF)).lower())
    assert {call.path for call in connector.calls("send")} == {
        f"/teams/v3/conversations/{personal(STAFF).replace(':', '%3A')}/activities"}


def test_the_report_command_opens_a_dialog_from_its_button_and_errors_keep_the_answers(bot, connector, teams):
    door = Door(bot)
    door.post(teams.message("report"))
    button = _buttons(wait_until(lambda: sent(connector))[0])["Open the form"]
    dialog = door.post(teams.invoke("task/fetch", {"data": button})).json()["task"]["value"]
    assert dialog["title"] == "Report cyberbullying"
    data = _submit_data(dialog["card"]["content"]) | {"field.what_happened": "Posts about me", "field.where": ""}
    again = door.post(teams.invoke("task/submit", {"data": data})).json()["task"]["value"]["card"]["content"]
    inputs = {e.get("id"): e for e in again["body"]}
    assert inputs["field.what_happened"]["value"] == "Posts about me"
    assert _texts(again).count("This is required.") >= 6  # "" (where) and absent (the rest) alike
    assert bot.services.store.all_reports() == []


# --- the lead flow --------------------------------------------------------------------------------------------

def file_report(door: Door, teams: Activities, bot: TeamsBot, **answers: str):
    data = _submit_data(_dialog(door, teams)) | GOOD | answers
    answer = door.post(teams.invoke("task/submit", {"data": data})).json()
    report = bot.services.store.all_reports()[-1]
    assert f"Your report {report.reference} is saved." in " ".join(_texts(answer))
    return report


def test_a_report_from_submission_to_alert_to_acknowledgement_to_the_reporters_update(bot, connector, teams):
    door = Door(bot)
    install(door, teams, connector, STAFF, LEAD, BACKUP)
    report = file_report(door, teams, bot)
    wait_until(lambda: sent(connector, personal(LEAD)) and sent(connector, personal(BACKUP)))
    alert = sent(connector, personal(LEAD))[0]
    assert f"New report {report.reference}" in " ".join(_texts(alert)) and WHAT not in json.dumps(alert)
    receipt = wait_until(lambda: said(connector, personal(STAFF)))
    assert f"Your report {report.reference} is saved" in receipt and "paste them into this chat" in receipt

    view = door.post(teams.invoke("task/fetch", {"data": _buttons(alert)["View details"]}, user=LEAD)).json()
    assert WHAT in " ".join(_texts(view))  # the details, in a private dialog
    ack = door.post(teams.invoke("task/fetch", {"data": _buttons(alert)["Acknowledge"]}, user=LEAD)).json()
    submit = ack["task"]["value"]["card"]["content"]["actions"][0]["data"] | {"field.named": "named"}
    door.post(teams.invoke("task/submit", {"data": submit}, user=LEAD))
    wait_until(lambda: f"Your report {report.reference} has been acknowledged by Lee Harper." in
               said(connector, personal(STAFF)))
    updates = wait_until(lambda: len(connector.calls("update")) >= 2 and connector.calls("update"))
    assert {u.conversation_id for u in updates} == {personal(LEAD), personal(BACKUP)}
    assert all("handled by Lee Harper" in " ".join(_texts(u.body)) for u in updates)
    events = [e.action for e in bot.services.store.audit(report.id)]
    assert "case.view" in events and "case.ack" in events


def test_a_report_about_a_lead_never_reaches_that_lead(bot, connector, teams):
    door = Door(bot)
    install(door, teams, connector, STAFF, LEAD, BACKUP)
    report = file_report(door, teams, bot, **{"field.subject": LEAD})
    wait_until(lambda: sent(connector, personal(BACKUP)))
    wait_until(lambda: all(o.state is OutboxState.SENT for o in bot.services.store.outbox_of(report.id)))
    assert sent(connector, personal(LEAD)) == []
    assert "because the report names one of the designated leads" in said(connector, personal(BACKUP))


# --- proactive delivery through failures ----------------------------------------------------------------------

def test_alerts_get_through_a_connector_outage_and_a_429_storm_exactly_once(bot, connector, teams, clock):
    door = Door(bot)
    install(door, teams, connector, STAFF, LEAD, BACKUP)
    connector.fail_next("send", status=503, times=3)
    connector.fail_next("send", status=429, retry_after="1", times=4)
    connector.fail_next("send", disconnect="before", times=2)
    reports = [file_report(door, teams, bot) for _ in range(3)]
    store = bot.services.store
    retried_until(clock, lambda: all(o.state is OutboxState.SENT for r in reports for o in store.outbox_of(r.id)))
    for report in reports:
        for person in (LEAD, BACKUP):
            alerts = [b for b in sent(connector, personal(person)) if f"New report {report.reference}" in _texts(b)]
            assert len(alerts) == 1
        receipts = [b for b in sent(connector, personal(STAFF)) if f"Your report {report.reference} is saved"
                    in " ".join(_texts(b))]
        assert len(receipts) == 1
    assert len(connector.attempts("send")) > len(connector.calls("send"))  # the failures did happen
    assert all(Counter(o.kind for o in store.outbox_of(r.id))[Delivery.LEAD_ALERT] == 2 for r in reports)


def test_a_blocked_lead_is_refused_once_and_the_admins_are_told(bot, connector, teams, clock):
    door = Door(bot)
    install(door, teams, connector, STAFF, LEAD, BACKUP)
    connector.fail_next("send", status=403, code="MessageWritesBlocked")
    report = file_report(door, teams, bot)
    store = bot.services.store
    refused = retried_until(clock, lambda: [o for o in store.outbox_of(report.id) if o.state is OutboxState.REFUSED])
    assert refused[0].refusal == "MessageWritesBlocked"
    wait_until(lambda: "A message about a report could not be delivered on Teams." in said(connector, personal(LEAD)))


# --- forged requests ----------------------------------------------------------------------------------------

def test_forged_requests_store_nothing_and_get_no_answer(bot, botframework, connector, teams):
    activity = teams.install()
    forged = {
        "no token": "",
        "wrong issuer": botframework.token(iss="https://sts.windows.net/evil/"),
        "wrong audience": botframework.token(aud="someone-else"),
        "expired": botframework.token(exp=1_000_000_000),
        "alg none": botframework.token(alg="none"),
        "HS256 with the public key": botframework.token(alg="HS256"),
        "other service url": botframework.token(serviceurl="https://evil.example.test/"),
    }
    for why, token in forged.items():
        answer = bot.post(activity, token=token)
        assert answer.status in (401, 403), why
        assert "Traceback" not in answer.body and answer.json() in ({"error": "unauthorized"}, {"error": "forbidden"})
    foreign = Activities(service_url=botframework.service_url, tenant="00000000-0000-4000-8000-0000000f0e19")
    assert bot.post(foreign.install(), token=bot.token).status == 403
    assert bot.post(teams.message("help"), token=botframework.token(serviceurl=None)).status == 403
    assert bot.services.store.conversation(f"teams:{STAFF}") is None
    assert connector.attempts() == []
    assert bot.post(None, raw=b"{\"type\":", token=bot.token).json() == {"error": "authenticated, but the body is not JSON"}


def test_an_image_sent_after_a_report_is_downloaded_with_the_bot_token_and_stored_hashed(bot, connector, teams,
                                                                                        entra):
    import hashlib

    door = Door(bot)
    install(door, teams, connector, STAFF, LEAD, BACKUP)
    report = file_report(door, teams, bot)
    png = b"\x89PNG\r\n\x1a\n" + b"screenshot" * 100
    url = connector.add_file("0-abc", "image/png", png)
    door.post(teams.message(f"for {report.reference}", attachments=[{"contentType": "image/png", "contentUrl": url}]))
    [evidence] = wait_until(lambda: bot.services.store.evidence(report.id))
    assert (evidence.sha256, evidence.media_type, evidence.size) == (hashlib.sha256(png).hexdigest(), "image/png",
                                                                    len(png))
    [download] = connector.calls("download")
    assert download.authorization.removeprefix("Bearer ") in entra.issued
    wait_until(lambda: f"I am adding 1 screenshot to your report {report.reference}" in said(connector, personal(STAFF)))

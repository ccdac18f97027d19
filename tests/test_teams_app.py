"""The Teams application over its real HTTP endpoint: commands, dialogs, conversation references, refusals.

Inbound auth is a fake that accepts one token (tests/test_teams_e2e.py runs the real validator against
local Bot Framework and Entra fakes); the Connector is a recording fake.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any

import pytest

from bot.domain.platform import qualified_id
from bot.domain.ports import PermanentFailure
from bot.domain.report import Delivery, OutboxState
from bot.teams.auth import AuthRejected
from bot.teams.cards import CARD
from testkit.adaptive_schema import check_activity, check_card
from testkit.teams_harness import APP_YAML, BACKUP, LEAD, LEADS_CHANNEL, STAFF, Activities, TeamsBot
from testkit.waits import wait_until

SERVICE_URL = "https://smba.example.test/teams/"


class OneTokenAuth:
    """Accepts `Bearer good` only."""

    def verify(self, authorization: str | None) -> dict:
        if authorization != "Bearer good":
            raise AuthRejected(401, "missing or invalid token")
        return {}

    def check_activity(self, verified: Any, activity: Any) -> None:
        if activity.tenant != "72f988bf-0000-4000-8000-000000000001":
            raise AuthRejected(403, "foreign tenant")


class RecordingConnector:
    """Records what the bot sends; every call succeeds."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict]] = []
        self.updated: list[tuple[str, str, dict]] = []
        self.refusing: set[str] = set()  # conversations that answer 403 BotNotInConversationRoster
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, service_url: str, conversation_id: str, activity: dict) -> str:
        if conversation_id in self.refusing:
            raise PermanentFailure("403 BotNotInConversationRoster")
        if activity["attachments"][0]["contentType"] == CARD:
            check_activity(activity)  # every card the bot sends: Adaptive Card 1.5, within Teams' size limit
        with self._lock:
            self.sent.append((service_url, conversation_id, activity))
            return f"msg-{next(self._ids)}"

    def update(self, service_url: str, conversation_id: str, activity_id: str, activity: dict) -> None:
        check_activity(activity)
        with self._lock:
            self.updated.append((conversation_id, activity_id, activity))

    def create_conversation(self, service_url: str, *, tenant: str, member_id: str) -> str:
        return f"a:personal-{member_id}"

    def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        return b"\x89PNG fake", "image/png"

    def texts(self, conversation: str = "") -> list[str]:
        """Every text the bot sent (card text runs and facts), in order."""
        return [text for _, conv, activity in self.sent if not conversation or conv == conversation
                for text in _texts(activity)]


SHOWN = ("text", "title", "value")  # text runs and blocks, fact labels and values, button titles


def _texts(node: Any) -> list[str]:
    """Every string a person may see in a card or activity (TextBlock Markdown's bold shown as the words)."""
    if isinstance(node, dict):
        found = [node[key].replace("**", "") for key in SHOWN if isinstance(node.get(key), str)]
        return found + [t for value in node.values() if not isinstance(value, str) for t in _texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


@pytest.fixture
def connector() -> RecordingConnector:
    return RecordingConnector()


@pytest.fixture
def bot(tmp_path, connector):
    running = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector)
    yield running
    running.stop()


@pytest.fixture
def teams() -> Activities:
    return Activities(service_url=SERVICE_URL)


PERSONAL = f"a:personal-{STAFF}"


def test_help_typed_any_way_answers_with_the_help_card_in_the_personal_chat(bot, connector, teams):
    for text in ("help", "HELP", "/help", "<at>StaffSafe</at> help", "what is this?"):
        assert bot.post(teams.message(text)).status == 200
    wait_until(lambda: len(connector.sent) == 5)
    assert all(conv == PERSONAL for _, conv, _ in connector.sent)
    for _, _, activity in connector.sent:
        assert "help" in " ".join(_texts(activity)).lower()


def test_hotlines_for_a_provider(bot, connector, teams):
    bot.post(teams.message("hotlines o2"))
    wait_until(lambda: connector.sent)
    text = " ".join(connector.texts())
    assert "nuisance@telefonica.com" in text


def test_report_command_answers_with_a_button_that_opens_the_dialog(bot, connector, teams):
    bot.post(teams.message("report"))
    wait_until(lambda: connector.sent)
    card = connector.sent[0][2]["attachments"][0]["content"]
    button = card["actions"][0]
    assert button["title"] == "Open the form"
    assert button["data"]["msteams"] == {"type": "task/fetch"}
    dialog = bot.post(teams.invoke("task/fetch", {"data": button["data"], "context": {"theme": "default"}})).json()
    assert dialog["task"]["type"] == "continue"
    assert dialog["task"]["value"]["title"] == "Report cyberbullying"
    ids = [e.get("id") for e in dialog["task"]["value"]["card"]["content"]["body"]]
    assert "field.what_happened" in ids and "field.screenshots" not in ids
    assert "send them to me in this chat as images" in " ".join(_texts(dialog))


def _dialog(door, teams, *, user: str = STAFF) -> dict:
    data = {"msteams": {"type": "task/fetch"}, "action": "report.open", "value": ""}
    card = door.post(teams.invoke("task/fetch", {"data": data}, user=user)).json()["task"]["value"]["card"]["content"]
    check_card(card)
    return card


def _submit_data(card: dict) -> dict:
    return dict(card["actions"][0]["data"])


GOOD = {f"field.{key}": value for key, value in {
    "what_happened": "Anonymous account posting about me", "where": "facebook", "first_seen": "2026-11-20",
    "occasions": "3", "perpetrator": "unknown", "adult": "unsure", "evidence_saved": "yes", "named": "named"}.items()}
WHAT = GOOD["field.what_happened"]


def test_a_dialog_with_errors_comes_back_with_the_answers_kept_and_errors_beside_fields(bot, teams):
    card = _dialog(bot, teams)
    data = _submit_data(card) | {"field.what_happened": "It keeps happening", "field.where": "",
                                 "field.occasions": "0"}  # the rest absent
    answer = bot.post(teams.invoke("task/submit", {"data": data})).json()
    again = answer["task"]["value"]["card"]["content"]
    body = again["body"]
    by_id = {e.get("id"): e for e in body}
    assert by_id["field.what_happened"]["value"] == "It keeps happening"
    texts = _texts(body)
    assert "This is required." in texts  # where ("") and first_seen (absent) alike
    assert "Please give a number from 1 to 100." in texts or any("Please give a number" in t for t in texts)
    assert again["actions"][0]["data"]["submission"] == data["submission"]  # the same dialog, the same submission
    assert bot.services.store.all_reports() == []


def test_a_report_is_stored_once_however_often_the_dialog_is_submitted(bot, connector, teams):
    data = _submit_data(_dialog(bot, teams)) | GOOD
    first = bot.post(teams.invoke("task/submit", {"data": data})).json()
    second = bot.post(teams.invoke("task/submit", {"data": data})).json()
    reports = bot.services.store.all_reports()
    assert len(reports) == 1
    said = " ".join(_texts(first))
    assert f"Your report {reports[0].reference} is saved." in said
    assert "send them to me in this chat within 30 minutes" in said
    assert _texts(first) == _texts(second)
    assert reports[0].reporter_id == qualified_id("teams", STAFF)


def test_forged_and_unreadable_requests_store_nothing(bot, connector, teams):
    install = teams.install()
    assert bot.post(install, token="").status == 401
    assert bot.post(install, token="forged").status == 401
    assert bot.post(None, raw=b"{not json").status == 400
    assert bot.post({"type": "message"}).json() == {"error": "authenticated, but serviceUrl is missing"}
    foreign = Activities(service_url=SERVICE_URL, tenant="00000000-0000-4000-8000-00000000dead")
    assert bot.post(foreign.install()).status == 403
    assert bot.services.store.conversation(qualified_id("teams", STAFF)) is None


def test_install_and_uninstall_keep_and_forget_the_personal_reference(bot, teams):
    target = qualified_id("teams", STAFF)
    assert bot.post(teams.install()).status == 200
    stored = bot.services.store.conversation(target)
    assert (stored.service_url, stored.conversation, stored.tenant) == (SERVICE_URL, PERSONAL, teams.tenant)
    bot.post(teams.install(action="remove"))
    assert not bot.services.store.conversation(target).conversation


def test_unknown_invokes_and_activity_types_are_acknowledged(bot, teams):
    assert bot.post(teams.base("typing", user=STAFF)).status == 200
    assert bot.post(teams.invoke("composeExtension/query", {})).status == 200


# --- the lead flow, through the outbox ------------------------------------------------------------------

def _install(bot, teams, *people: str) -> None:
    for person in people:
        assert bot.post(teams.install(user=person)).status == 200


def _report(bot, teams, **answers: str) -> str:
    data = _submit_data(_dialog(bot, teams)) | GOOD | answers
    bot.post(teams.invoke("task/submit", {"data": data}))
    return bot.services.store.all_reports()[-1].id


def _buttons(activity: dict) -> dict[str, dict]:
    return {a["title"]: a["data"] for a in activity["attachments"][0]["content"].get("actions", [])}


def test_a_report_reaches_each_lead_privately_and_the_acknowledgement_reaches_the_reporter(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    report_id = _report(bot, teams)
    reference = bot.services.store.report(report_id).reference
    def both_alerts() -> list | None:  # the leads' chats hold their welcome cards too
        found = [s for s in connector.sent if s[1] != PERSONAL and "New report" in " ".join(_texts(s[2]))]
        return found if len(found) >= 2 else None

    alerts = wait_until(both_alerts)
    assert {conv for _, conv, _ in alerts} == {f"a:personal-{LEAD}", f"a:personal-{BACKUP}"}
    for _, _, alert in alerts:
        assert WHAT not in " ".join(_texts(alert))  # content-light
    receipt = wait_until(lambda: [t for t in connector.texts(PERSONAL) if f"Your report {reference} is saved" in t])
    assert receipt

    ack = _buttons(alerts[0][2])["Acknowledge"]
    form = bot.post(teams.invoke("task/fetch", {"data": ack}, user=LEAD)).json()["task"]["value"]
    assert form["title"] == "Acknowledge"
    submit = form["card"]["content"]["actions"][0]["data"] | {"field.named": "named"}
    done = bot.post(teams.invoke("task/submit", {"data": submit}, user=LEAD)).json()
    assert "acknowledged" in " ".join(_texts(done)).lower()
    wait_until(lambda: any(f"Your report {reference} has been acknowledged by Lee Harper." == t
                           for t in connector.texts(PERSONAL)))
    updated = wait_until(lambda: len(connector.updated) >= 2 and connector.updated)
    assert {conv for conv, _, _ in updated} == {f"a:personal-{LEAD}", f"a:personal-{BACKUP}"}
    assert all("handled by Lee Harper" in " ".join(_texts(card)) for _, _, card in updated)


def test_a_report_about_a_lead_never_reaches_that_lead(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    _report(bot, teams, **{"field.subject": LEAD})
    wait_until(lambda: any(conv == f"a:personal-{BACKUP}" and "New report" in " ".join(_texts(a))
                           for _, conv, a in connector.sent))
    wait_until(lambda: bot.services.store.due_outbox(bot.services.clock.now()) == [])
    # The lead's chat holds their welcome (bot/teams/home.py) and nothing else.
    assert [_texts(a)[0] for _, conv, a in connector.sent if conv == f"a:personal-{LEAD}"] == ["Welcome to StaffSafe"]


def test_a_lead_who_is_not_a_lead_of_this_case_is_refused_on_the_server(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    report_id = _report(bot, teams, **{"field.subject": LEAD})
    forged = {"msteams": {"type": "task/fetch"}, "action": "case.view", "value": report_id}
    for person in (LEAD, STAFF):  # the lead it is about; the reporter (not a lead)
        answer = bot.post(teams.invoke("task/fetch", {"data": forged}, user=person)).json()
        assert answer["task"]["type"] == "message"  # the dialog does not open
        assert answer["task"]["value"] in (f"There is no report with reference {report_id[:20]!r}.",
                                           "Only the designated leads can do that.")


def test_a_lead_who_blocked_the_bot_is_not_retried_for_ever_and_the_admins_are_told(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    connector.refusing.add(f"a:personal-{BACKUP}")
    report_id = _report(bot, teams)
    store = bot.services.store
    refused = wait_until(lambda: [o for o in store.outbox_of(report_id)
                                  if o.kind is Delivery.LEAD_ALERT and o.state is OutboxState.REFUSED])
    assert refused[0].refusal == "403 BotNotInConversationRoster"
    notice = wait_until(lambda: [a for _, conv, a in connector.sent if conv == f"a:personal-{LEAD}"
                                 and "A message was refused" in _texts(a)])
    said = " ".join(_texts(notice[0]))
    assert "could not be delivered on Teams" in said and WHAT not in said


# --- more commands, screenshots, in-place buttons, exports ------------------------------------------------

def test_takedown_with_a_platform_opens_its_form_from_a_button(bot, connector, teams):
    bot.post(teams.message("/takedown facebook"))
    activity = wait_until(lambda: connector.sent)[0][2]
    button = _buttons(activity)["Open the form"]
    dialog = bot.post(teams.invoke("task/fetch", {"data": button})).json()
    assert dialog["task"]["value"]["title"] == "Takedown: Facebook"


def test_a_command_that_takes_no_words_says_so(bot, connector, teams):
    bot.post(teams.message("staysafe now please"))
    text = " ".join(wait_until(lambda: connector.texts()))
    assert "This command takes nothing after its name (you typed 'now please'): type it on its own." in text


def test_my_reports_and_staysafe_answer_in_the_chat(bot, connector, teams):
    _report(bot, teams)
    bot.post(teams.message("myreports"))
    reference = bot.services.store.all_reports()[0].reference
    wait_until(lambda: any(reference in t for t in connector.texts(PERSONAL)))
    bot.post(teams.message("StaySafe"))
    wait_until(lambda: any("checklist" in t.lower() for t in connector.texts(PERSONAL)))


def test_images_sent_after_a_report_become_its_screenshots_once(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    report_id = _report(bot, teams)
    reference = bot.services.store.report(report_id).reference
    image = {"contentType": "image/png", "contentUrl": f"{SERVICE_URL}v3/attachments/0-abc/views/original"}
    elsewhere = {"contentType": "image/png", "contentUrl": "https://evil.example.test/steal.png"}
    message = teams.message("", attachments=[image, elsewhere])
    assert bot.post(message).status == 200
    assert bot.post(message).status == 200  # the same message delivered twice
    evidence = wait_until(lambda: bot.services.store.evidence(report_id))
    assert [(e.source_id, e.media_type) for e in evidence] == [(image["contentUrl"], "image/png")]
    said = connector.texts(PERSONAL)
    assert f"Thank you: I am adding 1 screenshot to your report {reference}. They are stored encrypted; only the " \
           "designated leads can see them." in said
    assert f"I have these already, with your report {reference}." in said


def test_images_with_no_recent_report_ask_for_its_reference(bot, connector, teams):
    image = {"contentType": "image/png", "contentUrl": f"{SERVICE_URL}v3/attachments/0-abc/views/original"}
    bot.post(teams.message("", attachments=[image]))
    text = " ".join(wait_until(lambda: connector.texts()))
    assert "send them with its reference in the same message" in text


def _execute(teams, action: str, value: str, *, user: str) -> dict:
    return teams.invoke("adaptiveCard/action", {"action": {"type": "Action.Execute", "verb": action,
                                                           "data": {"action": action, "value": value}},
                                                "trigger": "manual"}, user=user)


def test_a_legal_hold_acts_in_place_and_answers_privately(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    report_id = _report(bot, teams)
    answer = bot.post(_execute(teams, "case.hold", report_id, user=LEAD)).json()
    assert answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.activity.message"
    assert "hold" in answer["value"].lower()
    assert bot.services.store.report(report_id).legal_hold
    refused = bot.post(_execute(teams, "case.hold", report_id, user=STAFF)).json()
    assert refused["value"] == "Only the designated leads can do that."


class UploadRecorder:
    """A requests transport adapter playing OneDrive's upload session: records each PUT."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, bytes, dict]] = []

    def send(self, request, **kwargs):
        import requests

        self.puts.append((request.url, request.body, dict(request.headers)))
        response = requests.Response()
        response.status_code, response.url, response._content = 201, request.url, b"{}"
        return response

    def close(self) -> None:
        pass


def test_an_export_is_offered_as_a_file_and_uploaded_once_the_lead_accepts(tmp_path, connector, teams):
    import requests

    uploads = UploadRecorder()
    session = requests.Session()
    session.mount("https://upload.example.test/", uploads)
    bot = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, http=session)
    try:
        _install(bot, teams, STAFF, LEAD, BACKUP)
        report_id = _report(bot, teams)
        reference = bot.services.store.report(report_id).reference
        answer = bot.post(_execute(teams, "case.export", report_id, user=LEAD)).json()
        assert answer["value"].startswith(f"The export of {reference} will arrive as a file")
        offer = wait_until(lambda: [a for _, conv, a in connector.sent if conv == f"a:personal-{LEAD}"
                                    and a["attachments"][0]["contentType"].endswith("file.consent")])[0]
        consent = offer["attachments"][0]
        assert WHAT not in json.dumps(offer)  # the offer holds ids only
        upload = {"uploadUrl": "https://upload.example.test/session/1", "contentUrl": "https://od.example.test/x",
                  "name": consent["name"], "uniqueId": "u1", "fileType": "txt"}
        accept = {"type": "fileUpload", "action": "accept", "context": consent["content"]["acceptContext"],
                  "uploadInfo": upload}
        assert bot.post(teams.invoke("fileConsent/invoke", accept, user=BACKUP)).status == 200
        assert uploads.puts == []  # not the lead who asked for it
        assert bot.post(teams.invoke("fileConsent/invoke", accept, user=LEAD)).status == 200
        [(url, body, headers)] = uploads.puts
        assert url == upload["uploadUrl"] and f"StaffSafe case export: {reference}".encode() in body
        assert WHAT.encode() in body and headers["Content-Range"] == f"bytes 0-{len(body) - 1}/{len(body)}"
        wait_until(lambda: any(a["attachments"][0]["contentType"].endswith("file.info") for _, _, a in connector.sent))
    finally:
        bot.stop()


def test_a_lead_who_has_not_installed_the_app_gets_the_alert_once_they_do_and_the_admins_are_told_once(
        bot, connector, teams):
    _install(bot, teams, STAFF, LEAD)
    report_id = _report(bot, teams)
    notice = wait_until(lambda: [a for _, conv, a in connector.sent if conv == f"a:personal-{LEAD}"
                                 and "A message is waiting" in _texts(a)])
    said = " ".join(_texts(notice[0]))
    assert "Bea Moss has not installed StaffSafe in Teams, so a message about a report is waiting." in said
    assert WHAT not in said
    _install(bot, teams, BACKUP)
    wait_until(lambda: any(conv == f"a:personal-{BACKUP}" and "New report" in " ".join(_texts(a))
                           for _, conv, a in connector.sent))  # not only the welcome
    wait_until(lambda: all(o.state is OutboxState.SENT for o in bot.services.store.outbox_of(report_id)
                           if o.kind is Delivery.LEAD_ALERT))  # recorded just after the send
    assert len([a for _, _, a in connector.sent if "A message is waiting" in _texts(a)]) == 1


def test_a_command_typed_in_a_channel_is_answered_in_the_persons_own_chat(bot, connector, teams):
    message = teams.base("message", user=STAFF, conversation="19:general@thread.tacv2;messageid=17",
                         conversation_type="channel", text="<at>StaffSafe</at> hotlines ee")
    assert bot.post(message).status == 200
    wait_until(lambda: connector.sent)
    assert {conv for _, conv, _ in connector.sent} == {f"a:personal-29:{STAFF}"}
    # The bot is evidently in that channel's team: its reference is kept (without the thread's message id).
    assert bot.services.store.conversation("teams:19:general@thread.tacv2").conversation == "19:general@thread.tacv2"
    assert bot.services.store.conversation(f"teams:{STAFF}") is None  # their own chat is not that conversation


def test_with_a_leads_channel_alerts_go_there_once_the_app_is_in_its_team(tmp_path, connector, teams):
    yaml = APP_YAML + f"lead_channel: {{teams: '{LEADS_CHANNEL}'}}\n"
    bot = TeamsBot(tmp_path=tmp_path, auth=OneTokenAuth(), connector=connector, app_yaml=yaml)
    try:
        _install(bot, teams, STAFF)
        assert bot.post(teams.channel_install(LEADS_CHANNEL)).status == 200
        report_id = _report(bot, teams)
        reference = bot.services.store.report(report_id).reference
        alert = wait_until(lambda: [a for _, conv, a in connector.sent if conv == LEADS_CHANNEL])
        assert f"New report {reference}" in _texts(alert[0]) and WHAT not in json.dumps(alert[0])
        assert not any(conv in (f"a:personal-{LEAD}", f"a:personal-{BACKUP}") for _, conv, _ in connector.sent)
    finally:
        bot.stop()


def test_an_in_place_button_on_a_client_without_universal_actions_is_answered_in_the_chat(bot, connector, teams):
    _install(bot, teams, STAFF, LEAD, BACKUP)
    report_id = _report(bot, teams)
    reference = bot.services.store.report(report_id).reference
    fallback = teams.message("", user=LEAD, value={"action": "case.hold", "value": report_id})  # Action.Submit
    assert bot.post(fallback).status == 200
    wait_until(lambda: f"Legal hold placed on {reference}: it will not be deleted until a lead lifts it."
               in connector.texts(f"a:personal-{LEAD}"))
    forged = teams.message("", user=LEAD, value={"action": "no.such", "value": "x"})
    bot.post(forged)
    wait_until(lambda: "That button no longer works. Please start again." in connector.texts(f"a:personal-{LEAD}"))

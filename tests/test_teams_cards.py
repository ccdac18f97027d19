"""Teams cards: golden files (UPDATE_GOLDEN=1 rewrites them), every card the bot can send checked against the
Adaptive Card 1.5 schema, user text never markup, buttons carrying ids only and read back, size limits."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, strategies as st

from bot.domain.guidance import GuidanceEngine
from bot.domain.markup import literal, reflow
from bot.domain.errors import StaffSafeError
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import Delivery, Note, NoteKind, Status
from bot.domain.report_form import FORM_ID
from bot.domain.routing import to_reporter
from bot.domain.ui import Button, Card, Document, Fact, Form, Reply, Section, Style
from bot.domain.visible import reveal_hidden
from bot.teams.capabilities import TEAMS_CAPABILITIES
from bot.teams.card_data import BadCardData, CardData, Source, decode
from bot.teams.cards import (
    CONTINUED, CUT, IN_PLACE, MAX_CARD_BYTES, REFRESH, SHORTENED, Refresh, command_buttons, document_card,
    file_consent, opens_dialog, render_button, render_card, render_one, render_reply, reply_dialog_card, with_buttons,
)
from bot.teams.forms import dialog_card
from bot.teams.markup import DEFUSER, escape_markdown, markdown, markup_elements, plain_text
from handlers import home, info
from handlers.actions import Action
from handlers.delivery import render_delivery
from handlers.cards import (
    case_card, chased_card, escalated_by_lead_card, escalation_card, lead_alert_card, lead_buttons,
    lead_message_card, my_reports_card, queue_card, receipt_card, report_waiting_card, reporter_message_card,
    reporter_update_card, retention_warning_card,
)
from handlers.reminder_cards import refused_notice_card, reminder_card, reminder_summary, show_me_how_card
from handlers.routes import ROUTES
from testkit.adaptive_schema import check_activity, check_card
from testkit.builders import a_reminder, a_report, report_answers
from testkit.rendered import golden_json, walk
from tests.conftest import LEAD, STAFF

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
HOSTILE = "Hi <at>Lee</at> [click](https://evil.example) **loud** &lt;b&gt; {{DATE(2026-01-01T00:00:00Z)}} \u202egpj.exe"
REPORT = a_report(id="0" * 32, reference="SS-ABCDE-FGHJK", what_happened=HOSTILE, occasions=3)
REMINDER = a_reminder(id="1" * 32, name=HOSTILE, channels=("teams:19:abc@thread.tacv2",))
COMMANDS = {key: key for key in ("report", "myreports", "hotlines", "takedown", "staysafe", "help", "reminders")}


# --- every card the renderer can produce, from the real handlers -------------------------------------------

def sample_cards(content, services) -> dict[str, Card]:
    note = Note(id="n1", report_id=REPORT.id, kind=NoteKind.INTERNAL, author_id="teams:lee", text=HOSTILE, at=NOW)
    steps = GuidanceEngine(content=content).steps(REPORT)
    tip = content.tips["device-locking"]
    cards = {
        "receipt": receipt_card(REPORT, steps, files_after=TEAMS_CAPABILITIES.files_after_form),
        "lead_alert": lead_alert_card(REPORT, content),
        "case": case_card(REPORT, [note], content, now=NOW, duties=GuidanceEngine(content=content).lead_steps(REPORT)),
        "reminder": reminder_card(tip, "run-1"),
        "show_me_how": show_me_how_card(content, tip),
        "reminder_summary": reminder_summary(REMINDER, content, counts={}, sends=3, labels=["General"],
                                             blocked=[], time_zone="Europe/London"),
        "reminder_notice": refused_notice_card(REMINDER, ["General"], 1),
        "escalation": escalation_card(REPORT, content, now=NOW),
        "chased": chased_card(REPORT),
        "retention_warning": retention_warning_card(REPORT, purge_on=NOW),
        "reporter_message": reporter_message_card(REPORT, note),
        "queue": queue_card([REPORT], content, now=NOW),
        "hotline_orange": info.provider_card(content, content.provider("orange")),
    }
    for n, card in enumerate(info.staysafe(services).cards):
        cards[f"staysafe_{n}"] = card
    for n, card in enumerate(home.home_cards(services, LEAD, COMMANDS)):
        cards[f"home_{n}"] = card
    return cards


def help_reply() -> Reply:
    return with_buttons(info.help_card(COMMANDS, lead=True, admin=True), command_buttons(admin=True))


def outputs(content, services) -> dict[str, Any]:
    cards = sample_cards(content, services)
    return {
        "receipt": render_reply(Reply(cards=(cards["receipt"],))),
        "lead_alert": render_reply(Reply(cards=(cards["lead_alert"],)), refresh=Refresh(value=REPORT.id)),
        "help": render_reply(help_reply()),
    }


@pytest.mark.parametrize("name", ["receipt", "lead_alert", "help"])
def test_teams_rendering_matches_golden(content, services, name):
    data = outputs(content, services)[name]
    assert data == golden_json(f"teams_{name}", data)
    for activity in data:
        check_activity(activity)


def test_every_sample_card_is_valid_as_a_message_and_in_a_dialog(content, services):
    for name, card in sample_cards(content, services).items():
        activities = render_reply(Reply(text="Here it is: [[hotlines o2]].", cards=(card,)))
        assert activities, name
        for activity in activities:
            check_activity(activity)
        check_card(reply_dialog_card(Reply(cards=(card,))))
    check_card(reply_dialog_card(info.staysafe(services)))
    for activity in render_reply(help_reply()) + render_reply(Reply.say("Done: see **[[myreports]]**.")):
        check_activity(activity)


def test_the_validator_is_live():
    with pytest.raises(AssertionError):
        check_card({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]})
    with pytest.raises(AssertionError):  # Teams' FactSet parses Markdown: we never use it, and nor may Input text
        check_card({"type": "AdaptiveCard", "version": "1.5", "body": [
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "x", "markdown": True}]}]})
    with pytest.raises(AssertionError):
        check_card({"type": "AdaptiveCard", "version": "1.5", "body": [
            {"type": "TextBlock", "text": "x" * (MAX_CARD_BYTES + 1)}]})


# --- markup ----------------------------------------------------------------------------------------------

def test_trusted_markup_becomes_teams_markdown():
    markup = ("**Save** [the form](https://x.org/a?b=1&c=2) & [bad](javascript:x) [a]b](https://y.org)\n"
              "- first [[hotlines o2]]\n- second\nThen **bold [[help]]** 1. * _x_ <at>y</at> &amp;")
    assert markdown(markup) == (
        "**Save** [the form](https://x.org/a?b=1&c=2) & \\[bad\\](javascript:x) \\[a\\]b\\](https://y.org)\n\n"
        "- first **hotlines o2**\n- second\n\n"
        "Then **bold help** 1. \\* \\_x\\_ \\<at\\>y\\</at\\> \\&amp;"
    )
    assert markdown("1. first\n# not a heading\n> not a quote\n---") == (
        "1\\. first\n\n\\# not a heading\n\n\\> not a quote\n\n\\---")
    assert markdown("Say ** spaced ** [x](https://a.b/c?d=<e>)") == "Say  **spaced**  [x](https://a.b/c?d=%3Ce%3E)"


SPECIAL = set("\\*_`~[]<>")


def unescape(markdown_text: str) -> str:
    """What a CommonMark reader shows for escaped text: each backslash escape as its character."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown_text)


@given(st.text())
def test_escaped_text_reads_as_written_and_holds_no_formatting(text):
    escaped = escape_markdown(text)
    assert unescape(escaped).replace(DEFUSER, "") == reveal_hidden(text)
    unescaped_special = re.sub(r"\\[!-/:-@\[-`{-~]", "", escaped)
    assert not SPECIAL & set(unescaped_special)
    assert not re.search(r"&#?\w+;", unescaped_special)  # no entity left to decode
    # An escaped character stands in place (as a letter would): removed, it would join what follows to the line's
    # start ("\\<=" reads "<=", not a setext "=" underline).
    for line in re.sub(r"\\[!-/:-@\[-`{-~]", "x", escaped).split("\n"):
        assert not re.match(r"\s*([#>+=-]|\d+[.)])", line)  # no heading, quote, list or rule


def runs(node: Any) -> list[str]:
    return [d["text"].replace(DEFUSER, "") for d in walk(node) if d.get("type") == "TextRun"]


def text_blocks(node: Any) -> list[str]:
    return [d["text"] for d in walk(node) if d.get("type") == "TextBlock"]


BODY = "Trusted **body** with [a link](https://example.org)."


@given(st.text(min_size=1).filter(lambda t: t.strip()))
def test_user_text_never_reaches_markdown_and_always_shows(user):
    card = Card(title=user, summary=user, sections=(
        Section(heading=user, body=BODY, facts=(Fact(user, user), Fact("Links", f"{user}\n{user}")), quote=user),),
        buttons=(Button("View", Action.CASE_VIEW, "r1"),))
    for output in (render_reply(Reply(cards=(card,))), reply_dialog_card(Reply(cards=(card,)))):
        # Only our markup is in TextBlocks; no FactSet (Teams parses Markdown there); no mention entities.
        assert set(text_blocks(output)) <= {markdown(BODY)}
        assert not any(d.get("type") == "FactSet" or "msteams" in d and "entities" in d["msteams"]
                       for d in walk(output))
        shown = "\n".join(runs(output))
        for line in (ln for ln in user.splitlines() if ln.strip()):
            assert reveal_hidden(line) in shown
    activity = render_reply(Reply(cards=(card,)))[0]
    assert activity["summary"].replace(DEFUSER, "").rstrip("…") in reveal_hidden(user)


def test_hostile_user_text_is_inert_and_visible(content, services):
    output = json.dumps(render_reply(Reply(cards=(case_card(REPORT, [], content, now=NOW),))), ensure_ascii=False)
    assert "<U+202E>gpj.exe" in output and "\u202e" not in output
    assert "{\u200b{DATE(2026" in output and "{{DATE" not in output
    assert all("<at>" not in text for text in text_blocks(json.loads(output)))


def test_date_functions_are_defused_however_written():
    assert plain_text("{{DATE(x)}} {{ TIME (x)}} {{date(x)}} {{other}}") == (
        "{\u200b{DATE(x)}} {\u200b{ TIME (x)}} {\u200b{date(x)}} {{other}}")


# --- buttons carry ids only, and come back -----------------------------------------------------------------

def test_buttons_open_dialogs_or_act_in_place():
    fetch = render_button(Button("Add note", Action.CASE_NOTE, "r1"))
    assert fetch == {"type": "Action.Submit", "title": "Add note",
                     "data": {"msteams": {"type": "task/fetch"}, "action": "case.note", "value": "r1"}}
    execute = render_button(Button("Legal hold", Action.CASE_HOLD, "r1", Style.DANGER))
    assert execute["type"] == "Action.Execute" and execute["verb"] == "case.hold" and execute["style"] == "destructive"
    assert execute["data"] == {"action": "case.hold", "value": "r1"}
    assert execute["fallback"] == {"type": "Action.Submit", "title": "Legal hold", "style": "destructive",
                                   "data": {"action": "case.hold", "value": "r1"}}
    inside = render_button(Button("Add note", Action.CASE_NOTE, "r1"), in_dialog=True)
    assert inside == {"type": "Action.Submit", "title": "Add note", "data": {"action": "case.note", "value": "r1"}}
    assert IN_PLACE <= set(ROUTES) and all(ROUTES[a].submit is None for a in IN_PLACE)
    # Every route with a form to fill opens a dialog.
    assert all(opens_dialog(action) for action, route in ROUTES.items() if route.submit is not None)


def test_lead_actions_and_alert_buttons(content):
    card = Card(title="Case", buttons=lead_buttons(REPORT))
    [activity] = render_reply(Reply(cards=(card,)))
    actions = activity["attachments"][0]["content"]["actions"]
    assert [a["title"] for a in actions] == ["View details", "Acknowledge", "Add note", "Set status",
                                             "Message reporter", "Takedown letter", "Export", "Legal hold"]
    assert [a.get("mode") for a in actions][6:] == ["secondary", "secondary"]  # Teams shows six; the rest in "..."
    assert {a["type"] for a in actions if a["data"]["action"] in ("case.export", "case.hold")} == {"Action.Execute"}
    for action in actions:  # ids only: the action, the report id, and Teams' own dialog marker
        assert set(action["data"]) <= {"action", "value", "msteams"} and action["data"]["value"] == REPORT.id
    alert = render_card(lead_alert_card(REPORT, content), refresh=Refresh(value=REPORT.id, user_ids=("29:a",)))[-1]
    assert alert["refresh"] == {"action": {"type": "Action.Execute", "verb": REFRESH,
                                           "data": {"action": REFRESH, "value": REPORT.id}}, "userIds": ["29:a"]}
    check_card(alert)


def invoke_for(action: dict[str, Any]) -> tuple[str, Any]:
    """The invoke name and value Teams sends when this action is pressed (a dialog's or a card's)."""
    data = action["data"]
    if action["type"] == "Action.Execute":
        return "adaptiveCard/action", {"action": {"type": "Action.Execute", "verb": action["verb"], "data": data},
                                       "trigger": "manual"}
    if data.get("msteams", {}).get("type") == "task/fetch":
        return "task/fetch", {"data": data, "context": {"theme": "default"}}
    return "task/submit", {"data": data, "context": {"theme": "default"}}


@pytest.mark.parametrize("action", sorted(ROUTES))
def test_every_button_comes_back_as_its_route_and_value(action):
    button = Button("Go", action, "a" * 32)
    name, value = invoke_for(render_button(button))
    source = Source.DIALOG if opens_dialog(action) else Source.BUTTON
    assert decode(name, value) == CardData(source=source, route=action, value="a" * 32)
    assert decode(*invoke_for(render_button(button, in_dialog=True))) == CardData(
        source=Source.BUTTON, route=action, value="a" * 32)
    fallback = render_button(button).get("fallback")
    if fallback:  # a client without Universal Actions sends the Action.Submit as a message's value
        assert decode("message", fallback["data"]) == CardData(source=Source.BUTTON, route=action, value="a" * 32)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["action", "value", "verb", "data", "form", "context", "msteams", "field.x", "report", "type"])
        | st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)
NAMES = st.sampled_from(["adaptiveCard/action", "task/fetch", "task/submit", "message", "signin/verifyState", ""])


@given(NAMES, JSONISH)
def test_decode_gives_card_data_or_a_clear_error_for_anything(name, value):
    try:
        data = decode(name, value)
    except BadCardData as error:
        assert str(error) and (not isinstance(value, str) or value not in str(error) or len(value) < 3)
        return
    assert isinstance(data, CardData) and isinstance(data.route, str) and isinstance(data.value, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in data.context.items())
    assert all(isinstance(v, str) for v in data.inputs.values())


@given(NAMES, st.dictionaries(st.text(max_size=5), JSONISH, max_size=4))
def test_decode_of_realistic_shapes_with_garbage_inside(name, extra):
    value = {"action": {"type": "Action.Execute", "verb": "case.ack", "data": extra}, "data": extra}
    try:
        decode(name, value)
    except BadCardData:
        pass


def test_decode_refusals_name_the_problem():
    cases = [
        ("task/fetch", {"data": {"action": "case.view", "value": "x" * 500}}, "value is not an id"),
        ("task/fetch", {"data": {"action": "<script>"}}, "action is not an action or form id"),
        ("adaptiveCard/action", {"action": {"verb": "case.ack", "data": {"action": "case.hold"}}}, "disagree"),
        ("task/submit", {"data": {"form": "report.form", "context": {"report": ["x"]}}}, "context value"),
        ("task/submit", {"data": {"form": "report.form", "context": {"Bad Key": "x"}}}, "context key"),
        ("conversationUpdate", {}, "not a card invoke"),
        ("task/submit", [], "value is not an object"),
    ]
    for name, value, words in cases:
        with pytest.raises(BadCardData, match=words):
            decode(name, value)


# --- sizes ---------------------------------------------------------------------------------------------

def test_a_card_too_big_for_one_message_is_split_and_says_so():
    card = Card(title="Case SS-1", summary="S", sections=tuple(
        Section(heading=f"Part {n}", facts=tuple(Fact(f"L{m}", "value " * 40) for m in range(10)))
        for n in range(30)), buttons=(Button("Go", Action.CASE_VIEW, "x"),))
    activities = render_reply(Reply(text="Intro", cards=(card,)))
    assert len(activities) > 2
    for n, activity in enumerate(activities):
        check_activity(activity)
        content = activity["attachments"][0]["content"]
        last = n == len(activities) - 1
        assert ("actions" in content) == last
        assert (runs(content["body"][-1]) == [CONTINUED]) != last
        if n:
            assert runs(content["body"][0]) == ["Case SS-1 (continued)"]
    shown = "".join("".join(runs(a)) for a in activities)
    assert shown.count("value " * 40) == 300  # nothing lost


def test_a_single_element_too_big_is_shortened_and_says_so():
    card = Card(title="Export", sections=(Section(facts=(Fact("Huge", "\u0001" * 30000),)),))
    [activity] = render_reply(Reply(cards=(card,)))
    check_activity(activity)
    assert SHORTENED in runs(activity)
    dialog = reply_dialog_card(Reply(cards=(Card(title="T", sections=tuple(
        Section(quote="q " * 2000) for _ in range(20))),)))
    check_card(dialog)
    assert runs(dialog["body"][-1]) == [CUT]
    one = render_one(Card(title="T", sections=tuple(Section(quote="q " * 2000) for _ in range(20)),
                          buttons=(Button("Go", Action.CASE_HOLD, "x"),)), refresh=Refresh(value="x"))
    check_card(one)
    assert runs(one["body"][-1]) == [CUT] and one["actions"] and one["refresh"]


def test_documents_show_in_a_dialog_or_go_as_a_file_consent_card():
    document = Document(filename="SS-ABCDE-FGHJK.txt", text="Line one **not bold**\n\nLine <at>two</at>")
    card = document_card(document)
    check_card(card)
    assert runs(card["body"])[0] == "SS-ABCDE-FGHJK.txt"
    assert "Line one **not bold**" in runs(card) and "Line <at>two</at>" in runs(card)
    consent = file_consent(document, context={"report": REPORT.id}, description="Case export")
    assert consent["content"]["acceptContext"] == {"report": REPORT.id}
    assert consent["content"]["sizeInBytes"] == len(document.text.encode())
    assert document.text not in json.dumps(consent)


def test_help_has_a_button_per_command(services):
    reply = help_reply()
    buttons = reply.cards[-1].buttons
    assert [b.action for b in buttons] == [Action.REPORT_OPEN, Action.MY_REPORTS, Action.INFO_HOTLINES,
                                           Action.INFO_TAKEDOWN, Action.INFO_STAYSAFE, Action.REMINDERS]
    assert [b.action for b in command_buttons()][-1] == Action.INFO_STAYSAFE
    assert with_buttons(Reply.say("Hi"), command_buttons()).cards[0].buttons == command_buttons()
    [activity] = render_reply(reply)
    text = " ".join(text_blocks(activity))
    assert "**report**" in text and "**hotlines o2**" in text and "/" not in text.replace("https://", "")


def test_reflowed_content_keeps_its_paragraphs_and_bullets():
    assert markdown(reflow("One\nline.\n\n- a\n- b\nAfter.")) == "One line.\n\n- a\n- b\n\nAfter."


def test_the_receipt_on_teams_invites_screenshots_in_the_chat(services):
    teams = dataclasses.replace(services, capabilities={"teams": TEAMS_CAPABILITIES})
    report = a_report(reporter_id=f"teams:{'a' * 8}-aaaa-4aaa-8aaa-{'a' * 12}")
    _, card = render_delivery(teams, to_reporter(report, Delivery.RECEIPT, NOW), report)
    invite = next(s for s in card.sections if s.heading == "Screenshots")
    assert f"with **{report.reference}** in the same message" in invite.body and "paste them" in invite.body
    slack_report = a_report(reporter_id="slack:U0ABC123")
    _, slack_card = render_delivery(teams, to_reporter(slack_report, Delivery.RECEIPT, NOW), slack_report)
    assert all(s.heading != "Screenshots" for s in slack_card.sections)  # Slack's form took them already


# --- every route's outcome, as the handlers produce it, rendered for Teams ------------------------------------

ADMIN = Actor(id="console:ada", name="Ada Admin")


def shown_on_teams(outcome: Form | Reply) -> None:
    """An outcome rendered every way Teams shows it, each card valid."""
    if isinstance(outcome, Form):
        check_card(dialog_card(outcome))
        return
    for activity in render_reply(outcome):
        check_activity(activity)
    check_card(reply_dialog_card(outcome))
    for card in outcome.cards:
        check_card(render_one(card))


@pytest.mark.parametrize("action", sorted(a for a, route in ROUTES.items() if route.open is not None))
def test_what_every_route_shows_is_a_valid_teams_card(services, action):
    filed = ROUTES[FORM_ID].submit(services, STAFF, {}, lambda form: report_answers(what_happened=HOSTILE))
    assert filed.ok
    shown_on_teams(filed.reply)
    report = services.store.reports_by_reporter(STAFF.id)[0]
    services.store.commit(Changes(reminders=(REMINDER,)))
    context = {"report": report.id, "reminder": REMINDER.id, "run": "", "network": "", "target": ""}
    shown = 0
    for actor in (LEAD, ADMIN, STAFF):
        try:
            outcome = ROUTES[action].open(services, actor, context)
        except StaffSafeError:
            continue  # not this actor's to open (authorised on the server): another actor's is shown
        shown_on_teams(outcome)
        shown += 1
    assert shown or action in (Action.REMINDER_DONE, Action.REMINDER_HOW)  # these need a run of a reminder


def test_every_delivery_card_is_a_valid_teams_card(services):
    report = a_report(id="2" * 32, what_happened=HOSTILE, subject_id="teams:x", subject_name=HOSTILE)
    note = Note(id="n2", report_id=report.id, kind=NoteKind.TO_REPORTER, author_id="console:lee", text=HOSTILE, at=NOW)
    for card in (escalated_by_lead_card(report, services.content, handler_name=HOSTILE), lead_message_card(report),
                 reporter_update_card(report, Status.ACKNOWLEDGED, handler_name=HOSTILE), report_waiting_card(),
                 reporter_message_card(report, note), my_reports_card([report], services.org)):
        for activity in render_reply(Reply(cards=(card,))):
            check_activity(activity)
    document = Document(filename="SS-1.txt", text="\n".join(f"Line {n}: {HOSTILE}" for n in range(2000)))
    card = document_card(document)
    check_card(card)
    assert runs(card["body"][-1]) == [CUT]  # 2,000 lines do not fit one dialog: cut, and said


def test_plain_paragraphs_markdown_would_escape_go_in_text_runs():
    typed = literal("[x](https://evil.example) *")
    elements = markup_elements(f"**Bold** line\nYou typed '{typed}' here.\n- a bullet\n- [[help]]")
    assert elements == [
        {"type": "TextBlock", "text": "**Bold** line", "wrap": True},
        {"type": "RichTextBlock", "inlines": [
            {"type": "TextRun", "text": "You typed '[x](https://evil.example) *' here."}]},
        {"type": "TextBlock", "text": "- a bullet\n- **help**", "wrap": True},
    ]
    assert markup_elements("Plain words, nothing to escape.") == [
        {"type": "TextBlock", "text": "Plain words, nothing to escape.", "wrap": True}]

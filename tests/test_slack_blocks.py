"""Block Kit rendering and modal state translation: golden files (UPDATE_GOLDEN=1 rewrites them), Slack's
limits checked by slack_sdk's models and by hand, injection, and forged or long inputs."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import pytest
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.guidance import GuidanceEngine
from bot.domain.report import Note, NoteKind
from bot.domain.report_form import parse_report, report_form
from bot.domain.ui import Button, Card, Fact, Field, FieldKind, Form, Option, Reply, Section, Style
from bot.slack.blocks import card_fallback, escape, mrkdwn, render_card, render_home, render_reply, user_text
from bot.slack.forms import answers_from_state, field_errors, form_context, render_modal
from handlers import info
from handlers.actions import Action
from handlers.cards import case_card, chased_card, escalation_card, lead_alert_card, receipt_card, retention_warning_card
from handlers.reminder_cards import refused_notice_card, reminder_card, reminder_summary, show_me_how_card
from handlers.reminder_form import initial_answers, reminder_form
from handlers.takedown import takedown_form
from testkit.builders import a_reminder, a_report, report_answers
from testkit.rendered import golden_json, walk

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 24)
HOSTILE = "Hi <!channel> and <@U123> see <http://x|y> & more"
REPORT = a_report(id="0" * 32, reference="SS-ABCDE-FGHJK", what_happened=HOSTILE, occasions=3)
REMINDER = a_reminder(id="1" * 32, name=HOSTILE, channels=("slack:C0STAFF01", "slack:C0OFFICE1"),
                      next_run=datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc))


# --- Slack's limits: slack_sdk's models, plus what they leave unchecked ---------------------------------

def check_blocks(blocks: list[dict[str, Any]], limit: int = 50) -> None:
    """Valid by slack_sdk (to_dict validates nested elements too) and by our own counts."""
    assert 1 <= len(blocks) <= limit
    for block in blocks:
        parsed = Block.parse(block)
        parsed.validate_json()
        assert parsed.to_dict() == block  # no attribute the model does not know (it would drop it)
        for field in block.get("fields", []):
            assert 1 <= len(field["text"]) <= 2000
        if block["type"] == "actions":
            ids = [e["action_id"] for e in block["elements"]]
            assert len(ids) == len(set(ids)) <= 25
    for obj in walk(blocks):
        if obj.get("type") in ("mrkdwn", "plain_text"):
            assert 1 <= len(obj["text"]) <= 3000
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(block_ids) == len(set(block_ids))


def check_reply(messages: list[tuple[str, list[dict[str, Any]]]]) -> None:
    assert messages
    for fallback, blocks in messages:
        assert 1 <= len(fallback) <= 3000
        check_blocks(blocks)


def check_modal(view: dict[str, Any]) -> None:
    model = View(**view)
    model.validate_json()
    model.to_dict()
    check_blocks(view["blocks"], limit=100)
    assert len(view.get("private_metadata", "")) <= 3000


def test_the_validators_are_live():
    with pytest.raises(SlackObjectFormationError):
        Block.parse({"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}).validate_json()
    with pytest.raises(SlackObjectFormationError):
        Block.parse({"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}).validate_json()
    with pytest.raises(SlackObjectFormationError):  # nested: only to_dict reaches the button's text
        Block.parse({"type": "actions", "elements": [
            {"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "x" * 76}}]}).to_dict()
    with pytest.raises(SlackObjectFormationError):
        View(type="modal", title={"type": "plain_text", "text": "x" * 25}, blocks=[{"type": "divider"}]).validate_json()
    with pytest.raises(AssertionError):  # slack_sdk misses a field over 2000 characters; we do not
        check_blocks([{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}])
    with pytest.raises(AssertionError):
        check_blocks([{"type": "divider"}] * 51)


# --- Golden files ------------------------------------------------------------------------------------

def outputs(content, services) -> dict[str, Any]:
    note = Note(id="n1", report_id=REPORT.id, kind=NoteKind.INTERNAL, author_id="console:lee",
                text="Rang the parent", at=NOW)
    steps = GuidanceEngine(content=content).steps(REPORT)
    tip = content.tips["device-locking"]
    cards = {
        "receipt": receipt_card(REPORT, steps),
        "lead_alert": lead_alert_card(REPORT, content),
        "case": case_card(REPORT, [note], content, now=NOW),
        "reminder": reminder_card(tip, "run-1"),
        "show_me_how": show_me_how_card(content, tip),
        "reminder_summary": reminder_summary(REMINDER, content, counts={}, sends=3, labels=["#staffroom", "#office"],
                                             blocked=["#office"], time_zone="Europe/London"),
        "reminder_notice": refused_notice_card(REMINDER, ["#office"], 1),
        "escalation": escalation_card(REPORT, content, now=NOW),
        "chased": chased_card(REPORT),
        "retention_warning": retention_warning_card(REPORT, purge_on=NOW),
    }
    messages = {name: render_reply(Reply(cards=(card,))) for name, card in cards.items()}
    messages["staysafe"] = render_reply(info.staysafe(services))
    return {
        **{name: [{"text": text, "blocks": blocks} for text, blocks in m] for name, m in messages.items()},
        "report_modal": render_modal(report_form(content)),
        "takedown_modal": render_modal(takedown_form("facebook", "Takedown: Facebook")),
        "reminder_modal": render_modal(reminder_form(content, REMINDER.id), initial=initial_answers(REMINDER, TODAY)),
    }


NAMES = ["receipt", "lead_alert", "case", "staysafe", "report_modal", "takedown_modal", "reminder", "show_me_how",
         "reminder_summary", "reminder_notice", "escalation", "chased", "retention_warning", "reminder_modal"]


@pytest.mark.parametrize("name", NAMES)
def test_slack_rendering_matches_golden(content, services, name):
    data = outputs(content, services)[name]
    assert data == golden_json(f"slack_{name}", data)


@pytest.mark.parametrize("name", NAMES)
def test_golden_outputs_are_within_slack_limits(content, services, name):
    data = outputs(content, services)[name]
    if name.endswith("_modal"):
        check_modal(data)
    else:
        check_reply([(m["text"], m["blocks"]) for m in data])


# --- Injection ---------------------------------------------------------------------------------------

def assert_inert(data: Any) -> None:
    dumped = json.dumps(data)
    for raw in ("<!", "<@", "<http", "& "):
        assert raw not in dumped
    assert "&lt;!channel&gt;" in dumped and "&lt;@U123&gt;" in dumped and "&amp; more" in dumped


def test_user_text_in_quote_fact_and_heading_is_inert(content):
    card = Card(title="Case", summary=HOSTILE, sections=(
        Section(heading=HOSTILE, quote=HOSTILE, facts=(Fact(HOSTILE, HOSTILE), Fact("Long", HOSTILE * 60))),
    ))
    blocks = render_card(card)
    assert_inert(blocks)
    assert_inert(render_card(case_card(REPORT, [], content, now=NOW)))
    assert_inert(card_fallback(card))
    user_objects = [o for o in walk(blocks) if o.get("type") == "mrkdwn" and "U123" in o["text"]]
    assert user_objects and all(o.get("verbatim") is True for o in user_objects)
    check_blocks(blocks)


def test_escape_and_user_text():
    assert escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"
    assert user_text("<!here>") == {"type": "mrkdwn", "text": "&lt;!here&gt;", "verbatim": True}


def test_trusted_markup_becomes_mrkdwn():
    markup = "**Save** [the form](https://x.org/a?b=1&c=2) & [bad](javascript:x) [a|b>](https://y.org)\n- first"
    assert mrkdwn(markup) == (
        "*Save* <https://x.org/a?b=1&amp;c=2|the form> &amp; [bad](javascript:x) <https://y.org|ab>\n• first"
    )


# --- Modal state back to answers ----------------------------------------------------------------------

def submitted(view: dict[str, Any]) -> dict[str, Any]:
    """The state.values Slack sends when the user submits a modal without changing its initial values."""
    state: dict[str, Any] = {}
    for block in (b for b in view["blocks"] if b["type"] == "input"):
        element = dict(block["element"])
        value: dict[str, Any] = {"type": element["type"]}
        if element["type"] in ("plain_text_input", "number_input"):
            value["value"] = element.get("initial_value")
        elif element["type"] in ("radio_buttons", "static_select"):
            value["selected_option"] = element.get("initial_option")
        elif element["type"] in ("checkboxes", "multi_static_select"):
            value["selected_options"] = element.get("initial_options", [])
        elif element["type"] == "datepicker":
            value["selected_date"] = element.get("initial_date")
        elif element["type"] == "users_select":
            value["selected_user"] = element.get("initial_user")
        elif element["type"] == "file_input":
            value["files"] = []  # file inputs cannot be pre-filled
        state[block["block_id"]] = {"value": value}
    return state


def test_initial_answers_survive_a_round_trip_and_parse(content):
    form = report_form(content)
    initial = report_answers(subject="slack:U0ABC123", urls=["https://a.example/1", "https://b.example/2"])
    view = render_modal(form, initial=initial)
    check_modal(view)
    answers = answers_from_state(form, submitted(view))
    assert {k: v for k, v in answers.items() if k in initial} == initial
    assert all(v in (None, []) for k, v in answers.items() if k not in initial)
    report, errors = parse_report(form, answers, today=TODAY)
    assert errors == {} and report is not None and report.subject_id == "slack:U0ABC123"


def test_a_realistic_submission_parses(content):
    form = report_form(content)
    pick = lambda v: {"text": {"type": "plain_text", "text": v, "emoji": True}, "value": v}  # noqa: E731
    values = {
        "what_happened": {"value": {"type": "plain_text_input", "value": "They posted my photo."}},
        "where": {"value": {"type": "static_select", "selected_option": pick("facebook")}},
        "urls": {"value": {"type": "plain_text_input", "value": " https://facebook.com/p/1 \n\n https://x.com/2\n"}},
        "first_seen": {"value": {"type": "datepicker", "selected_date": "2026-11-20"}},
        "occasions": {"value": {"type": "number_input", "value": "3"}},
        "perpetrator": {"value": {"type": "radio_buttons", "selected_option": pick("linked")}},
        "adult": {"value": {"type": "radio_buttons", "selected_option": pick("yes")}},
        "subject": {"value": {"type": "users_select", "selected_user": None}},
        "natures": {"value": {"type": "checkboxes", "selected_options": [pick("abusive"), pick("sexist")]}},
        "evidence_saved": {"value": {"type": "radio_buttons", "selected_option": pick("no")}},
        "wants": {"value": {"type": "checkboxes", "selected_options": []}},
        "named": {"value": {"type": "radio_buttons", "selected_option": None}},
        "screenshots": {"value": {"type": "file_input", "files": [{"id": "F0ABC123", "name": "shot.png"}]}},
    }
    answers = answers_from_state(form, values)
    assert answers["urls"] == ["https://facebook.com/p/1", "https://x.com/2"]
    assert answers["natures"] == ["abusive", "sexist"] and answers["wants"] == [] and answers["subject"] is None
    assert parse_report(form, answers, today=TODAY)[1] == {"named": "This is required."}
    report, errors = parse_report(form, answers | {"named": "anonymous"}, today=TODAY)
    assert errors == {} and report is not None and report.occasions == 3 and not report.evidence_saved


@pytest.mark.parametrize("values", [
    None, [], "x", {"what_happened": "text"}, {"what_happened": {"value": None}},
    {"what_happened": {"value": {"type": "checkboxes", "selected_options": [{"value": "a"}]}}},
    {"what_happened": {"value": {"type": "plain_text_input", "value": ["a"]}}},
    {"where": {"value": {"type": "static_select", "selected_option": "facebook"}}},
    {"where": {"value": {"type": "static_select", "selected_option": {"value": 7}}}},
    {"natures": {"value": {"type": "checkboxes", "selected_options": "abusive"}}},
    {"first_seen": {"value": {"type": "datepicker", "selected_date": 20261120}}},
    {"subject": {"value": {"type": "users_select", "selected_user": {"id": "U1"}}}},
    {"urls": {"value": {"type": "plain_text_input", "value": 5}}},
])
def test_forged_shapes_give_none_without_raising(content, values):
    answers = answers_from_state(report_form(content), values)
    assert set(answers) == {f.id for f in report_form(content).fields}
    assert all(v in (None, []) for v in answers.values())


def test_files_and_unknown_file_entries():
    form = Form("f", "Files", "Send", (Field("shots", "Screenshots", FieldKind.FILES, required=False),))
    files = [{"id": "F1", "name": "a.png"}, "F2", {"id": 3}, {"id": "F4"}]
    state = {"shots": {"value": {"type": "file_input", "files": files}}}
    assert answers_from_state(form, state) == {"shots": ["F1", "F4"]}
    assert answers_from_state(form, {"shots": {"value": {"type": "file_input", "files": "F1"}}}) == {"shots": None}


# --- Modals ------------------------------------------------------------------------------------------

def test_modal_elements_follow_the_number_of_options():
    few = tuple(Option(str(n), f"Option {n}") for n in range(5))
    many = tuple(Option(str(n), "x" * 100) for n in range(120))
    form = Form("f", "A form with a long title indeed", "Send it now please, thanks", (
        Field("a", "A", FieldKind.SELECT, options=few),
        Field("b", "B", FieldKind.SELECT, options=many, placeholder="Pick"),
        Field("c", "C", FieldKind.MULTI_SELECT, options=few * 2), Field("d", "D", FieldKind.MULTI_SELECT, options=many),
        Field("e", "E", FieldKind.FILES, required=False), Field("f", "F" * 2500, FieldKind.TEXT, max_length=9000),
    ), intro="**Read** this.", context={"target": "facebook"})
    view = render_modal(form, notice="Please fix the errors.")
    check_modal(view)
    types = [b["element"]["type"] for b in view["blocks"] if b["type"] == "input"]
    assert types == ["radio_buttons", "static_select", "checkboxes", "multi_static_select", "file_input",
                     "plain_text_input"]
    assert [b["text"]["text"] for b in view["blocks"][:2]] == ["Please fix the errors.", "*Read* this."]
    assert form_context(view) == {"target": "facebook"} and view["title"]["text"] == "A form with a long title"


def test_invalid_initial_values_are_skipped(content):
    view = render_modal(report_form(content), initial={
        "where": "myspace", "first_seen": "yesterday", "occasions": "5000", "subject": "teams:29:abc",
        "natures": ["nope"], "what_happened": 42, "adult": None,
    })
    check_modal(view)
    initials = [k for b in view["blocks"] if b["type"] == "input" for k in b["element"] if k.startswith("initial")]
    assert initials == []


def test_initial_values_of_other_types_are_converted(content):
    view = render_modal(report_form(content), initial={
        "first_seen": datetime(2026, 11, 20, 23, 0), "occasions": 4, "subject": "U0ABC123", "urls": ("https://a.b",)})
    element = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert element["first_seen"]["initial_date"] == "2026-11-20" and element["occasions"]["initial_value"] == "4"
    assert element["subject"]["initial_user"] == "U0ABC123" and element["urls"]["initial_value"] == "https://a.b"


def test_either_select_style_is_read_back(content):
    form = report_form(content)
    values = {"adult": {"value": {"type": "static_select", "selected_option": {"value": "yes"}}},
              "wants": {"value": {"type": "multi_static_select", "selected_options": [{"value": "police"}]}}}
    answers = answers_from_state(form, values)
    assert answers["adult"] == "yes" and answers["wants"] == ["police"]


def test_modal_limits_raise_rather_than_lose_questions():
    with pytest.raises(ValueError):
        render_modal(Form("f", "T", "S", (), context={"id": "x" * 3000}))
    with pytest.raises(ValueError):
        render_modal(Form("f", "T", "S", tuple(Field(f"q{n}", "Q", FieldKind.TEXT) for n in range(101))))


def test_field_errors_never_lose_a_message(content):
    form = report_form(content)
    response = field_errors({"where": "Please choose one.", "ghost": "Something else " * 20}, form)
    assert response["response_action"] == "errors"
    assert response["errors"]["where"] == "Please choose one."
    moved = response["errors"]["what_happened"]  # the first field's block
    assert moved.startswith("Something else") and len(moved) <= 150


@pytest.mark.parametrize("view", [None, {}, {"private_metadata": "{"}, {"private_metadata": "[1]"},
                                  {"private_metadata": 5}, {"private_metadata": "[" * 100000}])
def test_malformed_private_metadata_gives_empty_context(view):
    assert form_context(view) == {}


def test_context_keeps_only_string_pairs():
    assert form_context({"private_metadata": '{"a":"1","b":2,"c":{"d":"e"}}'}) == {"a": "1"}


# --- Long inputs and splitting -----------------------------------------------------------------------

def test_long_inputs_stay_within_limits():
    card = Card(
        title="T" * 200, summary="S" * 4000,
        sections=(
            Section(heading="H" * 3500, body="\n".join(f"- line {n} " + "w " * 200 for n in range(40))),
            Section(heading="Facts", facts=tuple(Fact(f"Label {n}", f"value {n}") for n in range(20))
                    + (Fact("Long", "&" * 2500), Fact("Links", "\n".join(["https://x.org"] * 30)))),
            Section(heading="Quote", quote="<&>" * 1000),
        ),
        buttons=tuple(Button(f"B{n}", f"act.{n}", "id") for n in range(30)),
    )
    blocks = render_card(card)
    check_blocks(blocks, limit=100)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert [len(b["fields"]) for b in blocks if "fields" in b] == [10, 10]
    quote = "".join(b["text"]["text"] for b in blocks
                    if b.get("text", {}).get("verbatim") and "&lt;" in b["text"]["text"])
    assert quote.count("&lt;") == 1000 and all(line.startswith("> ") for line in quote.splitlines()[1:])
    assert len(card_fallback(card)) == 3000


def test_repeated_actions_go_to_separate_actions_blocks():
    buttons = (Button("View", Action.CASE_VIEW, "a", Style.PRIMARY), Button("View", Action.CASE_VIEW, "b"))
    blocks = render_card(Card(title="Queue", buttons=buttons))
    assert [[e["action_id"] for e in b["elements"]] for b in blocks[1:]] == [["case.view"], ["case.view"]]
    check_blocks(blocks)


def test_reply_splits_at_card_boundaries_and_keeps_block_ids_unique():
    card = Card(title="Card", summary="Summary", sections=tuple(Section(body=f"Part {n}") for n in range(20)),
                buttons=(Button("Go", Action.CASE_VIEW, "x"),))
    messages = render_reply(Reply(text="Here you are: **three** cards.", cards=(card,) * 3))
    assert [len(blocks) for _, blocks in messages] == [1 + (1 + 22) * 2, 22]
    assert [text for text, _ in messages] == ["Summary", "Summary"]
    check_reply(messages)
    huge = render_reply(Reply(cards=(Card(title="Huge", sections=tuple(Section(body=f"{n}") for n in range(120))),)))
    assert [len(blocks) for _, blocks in huge] == [50, 50, 21]
    check_reply(huge)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "Done: see <https://x.org|the guide>."}}
    assert render_reply(Reply.say("Done: see [the guide](https://x.org).")) == [
        ("Done: see the guide (https://x.org).", [section])]
    assert render_reply(Reply()) == []


def test_home_is_cut_at_a_card_with_a_note():
    cards = [Card(title=f"Case {n}", sections=(Section(body="x"), Section(body="y"))) for n in range(40)]
    blocks = render_home(cards)
    assert len(blocks) <= 100 and blocks[-1]["type"] == "context" and blocks[-2]["type"] != "divider"
    check_blocks(blocks, limit=100)
    two = [*render_card(cards[0], key="0"), {"type": "divider"}, *render_card(cards[1], key="1")]
    assert render_home(cards[:2]) == two

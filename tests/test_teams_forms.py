"""Teams dialogs: forms as Adaptive Cards (golden file, 1.5 schema), task/submit data read back as answers
("" and absent alike), answers kept and errors beside their fields, and the invoke response bodies."""

from __future__ import annotations

import json
from datetime import date
from functools import cache
from typing import Any

import pytest
from hypothesis import given, strategies as st

from bot.content import load_content as load
from bot.domain.org import Actor
from bot.domain.report_form import FORM_ID, parse_report, report_form
from bot.domain.ui import Button, Card, Field, FieldKind, Form, Option, Reply, Section
from bot.domain.visible import reveal_hidden
from bot.teams.capabilities import TEAMS_CAPABILITIES
from bot.teams.card_data import CardData, Source, decode
from bot.teams.forms import (
    FIX_THEM, FormReader, card_response, dialog_card, error_response, form_dialog, input_id, message_response,
    read_answers, reply_dialog, task_message,
)
from bot.teams.markup import DEFUSER
from handlers import forms
from handlers.actions import Action
from handlers.reminder_form import initial_answers, reminder_form
from handlers.routes import ROUTES
from handlers.takedown import takedown_form
from testkit.adaptive_schema import check_card
from testkit.builders import a_reminder, a_report, report_answers
from testkit.rendered import golden_json, walk

load_content = cache(load)
TODAY = date(2026, 11, 24)
PERSON = "8f6a2b1c-3d4e-4f5a-9b8c-7d6e5f4a3b2c"
REPORT = a_report(id="0" * 32, reference="SS-ABCDE-FGHJK")


def inputs_of(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in walk(card["body"]) if str(e.get("type", "")).startswith("Input.")]


def submitted(card: dict[str, Any], *, empty_as: str | None = "") -> dict[str, Any]:
    """The task/submit data Teams sends for this card left as it is: its submit action's data, plus each
    input's value; an unanswered input as "" (empty_as="") or left out (empty_as=None)."""
    [submit] = card["actions"]
    data = dict(submit["data"])
    for element in inputs_of(card):
        value = element.get("value", empty_as)
        if value is not None:
            data[element["id"]] = value
    return data


def every_form(content, services) -> dict[str, Form]:
    return {
        "report": report_form(content, TEAMS_CAPABILITIES),
        "takedown": takedown_form("facebook", "Takedown: Facebook"),
        "takedown_person": takedown_form("person", "Ask someone to remove it"),
        "takedown_pick": forms.takedown_pick_form(content),
        "reminder": reminder_form(content, "1" * 32),
        "note": forms.note_form(REPORT), "message": forms.message_form(REPORT), "reply": forms.reply_form(REPORT),
        "withdraw": forms.withdraw_form(REPORT), "status": forms.status_form(REPORT), "ack": forms.ack_form(REPORT),
    }


def test_report_dialog_matches_golden(content):
    data = form_dialog(report_form(content, TEAMS_CAPABILITIES))
    assert data == golden_json("teams_report_dialog", data)
    check_card(data["task"]["value"]["card"]["content"])


def test_every_form_is_a_valid_dialog_with_errors_or_not(content, services):
    for name, form in every_form(content, services).items():
        card = dialog_card(form)
        check_card(card)
        errors = {f.id: f"Wrong <at>{f.id}</at>" for f in form.fields}
        check_card(dialog_card(form, initial={f.id: "x" for f in form.fields}, errors=errors))
        assert card["actions"][0]["data"] == {"form": form.id, "context": form.context}, name
    reminder = a_reminder(channels=("teams:19:abc@thread.tacv2", "slack:C0123"))
    check_card(dialog_card(reminder_form(content, reminder.id), initial=initial_answers(reminder, TODAY)))


def test_the_report_dialog_uses_teams_inputs(content):
    card = dialog_card(report_form(content, TEAMS_CAPABILITIES))
    by_id = {e["id"]: e for e in inputs_of(card)}
    assert by_id["field.what_happened"] | {} == {
        "id": "field.what_happened", "label": "What happened?", "isRequired": True, "errorMessage": "This is required.",
        "type": "Input.Text", "maxLength": 3000, "isMultiline": True}
    assert by_id["field.where"]["type"] == "Input.ChoiceSet" and by_id["field.where"]["style"] == "compact"
    assert by_id["field.natures"]["isMultiSelect"] is True and by_id["field.natures"]["isRequired"] is False
    assert by_id["field.first_seen"]["type"] == "Input.Date"
    assert (by_id["field.occasions"]["min"], by_id["field.occasions"]["max"]) == (1, 999)
    assert by_id["field.subject"]["choices.data"] == {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    assert by_id["field.urls"]["isMultiline"] and by_id["field.urls"]["style"] == "Url"
    assert "field.screenshots" not in by_id  # no file input on Teams: a line says what to do instead
    shown = json.dumps(card)
    assert "send them to me in this chat as images" in shown and "One per line." in shown


# --- reading task/submit data ---------------------------------------------------------------------------

def test_initial_answers_survive_a_round_trip_and_parse(content):
    form = report_form(content, TEAMS_CAPABILITIES)
    initial = report_answers(subject=f"teams:{PERSON}", urls=["https://a.example/1", "https://b.example/2"],
                             natures=["abusive", "sexist"])
    card = dialog_card(form, initial=initial, submission="a1b2c3")
    check_card(card)
    data = decode("task/submit", {"data": submitted(card)})
    assert data.source is Source.FORM and data.route == FORM_ID and data.context == {}
    assert data.submission == "a1b2c3"
    answers = read_answers(form, data.inputs)
    assert {k: v for k, v in answers.items() if k in initial} == initial
    report, errors = parse_report(form, answers, today=TODAY)
    assert errors == {} and report is not None and report.subject_id == f"teams:{PERSON}"


@pytest.mark.parametrize("empty_as", ["", None])
def test_empty_and_absent_inputs_read_alike(content, empty_as):
    form = report_form(content, TEAMS_CAPABILITIES)
    answers = read_answers(form, decode("task/submit", {"data": submitted(dialog_card(form), empty_as=empty_as)}).inputs)
    assert answers == {f.id: [] if f.kind in (FieldKind.MULTI_SELECT, FieldKind.URLS, FieldKind.FILES) else None
                       for f in form.fields}
    assert set(parse_report(form, answers, today=TODAY)[1]) == {f.id for f in form.fields if f.required}


@given(st.sets(st.sampled_from(["what_happened", "where", "urls", "occasions", "subject", "natures", "named"])))
def test_any_mix_of_empty_and_absent_reads_the_same(blank):
    form = report_form(load_content(), TEAMS_CAPABILITIES)
    full = {input_id(k): v for k, v in {"what_happened": "They posted it.", "where": "facebook",
            "urls": "https://x.example/1", "occasions": "2", "subject": PERSON, "natures": "abusive",
            "named": "named"}.items()}
    one = {k: ("" if k[len("field."):] in blank else v) for k, v in full.items()}
    other = {k: v for k, v in full.items() if k[len("field."):] not in blank}
    assert read_answers(form, decode("task/submit", {"data": {"form": FORM_ID, **one}}).inputs) == \
        read_answers(form, decode("task/submit", {"data": {"form": FORM_ID, **other}}).inputs)


def test_teams_shapes_read_as_the_core_expects():
    form = Form("f", "F", "Send", (
        Field("many", "Many", FieldKind.MULTI_SELECT, options=(Option("a", "A"), Option("b", "B"))),
        Field("day", "Day", FieldKind.DATE), Field("links", "Links", FieldKind.URLS),
        Field("who", "Who", FieldKind.USER), Field("when", "When", FieldKind.TIME),
        Field("count", "Count", FieldKind.NUMBER), Field("where", "Where", FieldKind.CHANNELS),
        Field("shots", "Shots", FieldKind.FILES), Field("text", "Text", FieldKind.PARAGRAPH)))
    inputs = {"many": "a,b", "day": "2026-11-20", "links": " https://a.b/1 \r\n\nhttps://c.d/2\n", "who": PERSON.upper(),
              "when": "09:30:00", "count": "3", "where": "19:abc@thread.tacv2\nGeneral\n19:def@thread.skype",
              "shots": "x", "text": "  keep  my  spaces  "}
    assert read_answers(form, inputs) == {
        "many": ["a", "b"], "day": "2026-11-20", "links": ["https://a.b/1", "https://c.d/2"],
        "who": f"teams:{PERSON}", "when": "09:30", "count": "3",
        "where": ["teams:19:abc@thread.tacv2", "teams:19:def@thread.skype"], "shots": [],
        "text": "  keep  my  spaces  "}
    assert read_answers(form, {"who": "Lee Harper", "many": ["a"], "text": {"x": 1}, "count": 3})["who"] is None
    assert decode("task/submit", {"data": {"form": "f", "field.count": 3, "field.many": ["a"], "field.flag": True,
                                           "field.x": 1.5}}).inputs == {"count": "3", "flag": "true", "x": "1.5"}


# --- errors: answers kept, each error beside its field ------------------------------------------------------

def test_a_form_with_errors_keeps_every_other_answer(content, services):
    form = report_form(content, TEAMS_CAPABILITIES)
    answers = report_answers(first_seen="2099-01-01", urls=["not a link <at>x</at>"], subject=f"teams:{PERSON}")
    _, errors = parse_report(form, answers, today=TODAY)
    assert set(errors) == {"first_seen", "urls"}
    card = dialog_card(form, initial=answers, errors=errors, names={f"teams:{PERSON}": "Pat Lee"})
    check_card(card)
    again = read_answers(form, decode("task/submit", {"data": submitted(card)}).inputs)
    assert again == answers | {"screenshots": []}
    body = card["body"]
    assert body[0]["inlines"][0]["text"] == FIX_THEM
    for field_id, message in errors.items():
        at = next(n for n, e in enumerate(body) if e.get("id") == input_id(field_id))
        after = [run["text"].replace(DEFUSER, "") for e in body[at + 1:at + 3] for run in e.get("inlines", [])]
        assert message in after  # right under its input (after the hint, if any)
    picker = next(e for e in inputs_of(card) if e["id"] == "field.subject")
    assert picker["value"] == PERSON and picker["choices"] == [{"title": "Pat Lee", "value": PERSON}]


def test_an_error_for_an_unknown_field_goes_on_the_first(content):
    form = forms.note_form(REPORT)
    card = dialog_card(form, initial={"text": "x"}, errors={"ghost": "Something else.", "text": "Too long."})
    texts = [r["text"] for e in card["body"] for r in e.get("inlines", [])]
    assert "Something else. Too long." in texts


def test_through_a_real_route_the_reader_keeps_the_form_for_the_errors(services):
    actor = Actor(id=f"teams:{PERSON}", name="Sam Jones")
    data = decode("task/submit", {"data": {"form": FORM_ID, "context": {}, "field.what_happened": "They posted it."}})
    assert data == CardData(source=Source.FORM, route=FORM_ID, inputs={"what_happened": "They posted it."})
    reader = FormReader(data.inputs)
    result = ROUTES[data.route].submit(services, actor, data.context, reader)
    assert not result.ok and reader.form is not None and reader.form.id == FORM_ID
    card = dialog_card(reader.form, initial=reader.answers, errors=result.errors)
    kept = next(e for e in inputs_of(card) if e["id"] == "field.what_happened")
    assert kept["value"] == "They posted it."


def test_initial_values_teams_cannot_show_are_skipped(content):
    card = dialog_card(report_form(content, TEAMS_CAPABILITIES), initial={
        "where": "myspace", "first_seen": "yesterday", "occasions": "5000", "subject": "slack:U0ABC123",
        "natures": ["nope"], "what_happened": 42, "adult": None})
    assert [e["id"] for e in inputs_of(card) if "value" in e] == []


def test_a_form_too_big_for_one_card_fails_loudly():
    with pytest.raises(ValueError, match="bytes"):
        dialog_card(Form("f", "F", "S", tuple(Field(f"q{n}", "Question " * 20, FieldKind.TEXT) for n in range(200))))


# --- invoke response bodies ---------------------------------------------------------------------------------

def test_invoke_bodies(content):
    body = form_dialog(forms.note_form(REPORT))
    value = body["task"]["value"]
    assert body["task"]["type"] == "continue" and value["title"] == "Add a note"
    assert value["card"]["contentType"] == "application/vnd.microsoft.card.adaptive"
    long = Form("f", "T" * 100, "Send", (Field("a", "A", FieldKind.TEXT),))
    assert len(form_dialog(long)["task"]["value"]["title"]) == TEAMS_CAPABILITIES.max_title
    assert task_message(Reply.say("Your report **SS-1** is saved. Type [[myreports]].")) == {
        "task": {"type": "message", "value": "Your report SS-1 is saved. Type myreports."}}
    assert task_message("x" * 900)["task"]["value"].endswith("…")
    shown = reply_dialog(Reply(text="Done.", cards=(forms_card(),)))
    check_card(shown["task"]["value"]["card"]["content"])
    assert shown["task"]["value"]["title"] == "Case SS-ABCDE-FGHJK"
    assert card_response({"type": "AdaptiveCard"}) == {
        "statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": {"type": "AdaptiveCard"}}
    assert message_response("Held.") == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                                         "value": "Held."}
    assert error_response(403, "Only designated leads can do that.")["value"]["code"] == "BadRequest"


def forms_card() -> Card:
    return Card(title="Case SS-ABCDE-FGHJK", sections=(Section(body="Details"),),
                buttons=(Button("Add note", Action.CASE_NOTE, REPORT.id),))


@given(st.text(min_size=1).filter(lambda t: t.strip()))
def test_user_text_in_answers_and_errors_stays_out_of_markdown(user):
    form = Form("f", "F", "Send", (Field("text", "Text", FieldKind.PARAGRAPH),
                                  Field("links", "Links", FieldKind.URLS, required=False)), intro="**Intro**")
    card = dialog_card(form, initial={"text": user, "links": [user]}, errors={"links": f"Not a link: {user}"})
    texts = [e["text"] for e in walk(card) if e.get("type") == "TextBlock"]
    assert texts == ["**Intro**"]  # only our markup is Markdown; the answer and the error are not
    shown = [r["text"].replace(DEFUSER, "") for r in walk(card) if r.get("type") == "TextRun"]
    assert f"Not a link: {reveal_hidden(user)}" in shown
    value = next(e for e in inputs_of(card) if e["id"] == "field.text").get("value", "")
    assert value == user[:3000]  # an input gives back exactly what the person typed

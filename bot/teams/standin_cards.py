"""STAND-IN until tcards' bot/teams/cards.py and forms.py land: the thinnest Adaptive Cards that work.

Every text is a plain TextRun (never Markdown), every button opens a dialog (task/fetch), so answers
stay private wherever the card is. Replaced by tcards' renderers on rebase.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from bot.domain.markup import plain
from bot.domain.ui import Answers, Button, Card, Field, FieldErrors, FieldKind, Form, Reply

CARD = "application/vnd.microsoft.card.adaptive"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
Json = dict[str, Any]


def _run(text: str, *, bold: bool = False, color: str = "") -> Json:
    run: Json = {"type": "TextRun", "text": text}
    if bold:
        run["weight"] = "Bolder"
    if color:
        run["color"] = color
    return {"type": "RichTextBlock", "inlines": [run]}


def _card(body: list[Json], actions: list[Json]) -> Json:
    card: Json = {"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                  "version": "1.5", "body": body or [_run(" ")]}
    if actions:
        card["actions"] = actions
    return card


def button_data(action: str, value: str = "") -> Json:
    """What a button carries: ids only."""
    return {"msteams": {"type": "task/fetch"}, "action": action, "value": value}


def _button(button: Button) -> Json:
    return {"type": "Action.Submit", "title": button.label, "data": button_data(button.action, button.value)}


def render_card(card: Card) -> Json:
    """A domain card as an Adaptive Card."""
    body = [_run(card.title, bold=True)]
    for section in card.sections:
        if section.heading:
            body.append(_run(section.heading, bold=True))
        if section.body:
            body.append(_run(plain(section.body)))
        if section.facts:
            body.append({"type": "FactSet", "facts": [{"title": f.label, "value": f.value} for f in section.facts]})
        if section.quote:
            body.append(_run(section.quote))
    return _card(body, [_button(b) for b in card.buttons])


def render_reply(reply: Reply) -> list[Json]:
    """A reply as Adaptive Cards, one per message."""
    cards = [_card([_run(plain(reply.text))], [])] if reply.text else []
    return cards + [render_card(card) for card in reply.cards]


def render_dialog(form: Form, *, answers: Answers | None = None, errors: FieldErrors | None = None,
                  submission: str = "") -> Json:
    """A form as a dialog card, with answers kept and each error under its field."""
    answers = {**form.initial, **(answers or {})}
    errors = errors or {}
    body: list[Json] = [_run(plain(form.intro))] if form.intro else []
    for field in form.fields:
        if field.kind is FieldKind.FILES:
            continue  # Adaptive Cards have no file input: screenshots are sent in the chat afterwards
        body.append(_input(field, answers.get(field.id)))
        if field.id in errors:
            body.append(_run(errors[field.id], color="Attention"))
    data = {"form": form.id, "ctx": dict(form.context), "submission": submission}
    return _card(body, [{"type": "Action.Submit", "title": form.submit_label, "data": data}])


def _input(field: Field, value: object) -> Json:
    label = field.label + ("" if field.required else " (optional)")
    if field.kind in (FieldKind.SELECT, FieldKind.MULTI_SELECT):
        chosen = value if isinstance(value, list) else [value] if value else []
        element: Json = {"type": "Input.ChoiceSet", "choices": [{"title": o.label, "value": o.value}
                                                                 for o in field.options],
                         "isMultiSelect": field.kind is FieldKind.MULTI_SELECT, "style": "expanded",
                         "value": ",".join(str(c) for c in chosen)}
    elif field.kind is FieldKind.DATE:
        element = {"type": "Input.Date", "value": value.isoformat() if isinstance(value, date) else str(value or "")}
    elif field.kind is FieldKind.NUMBER:
        element = {"type": "Input.Number"}
        if value not in (None, ""):
            element["value"] = value
    else:
        text = "\n".join(value) if isinstance(value, list) else str(value or "")
        element = {"type": "Input.Text", "value": text,
                   "isMultiline": field.kind in (FieldKind.PARAGRAPH, FieldKind.URLS)}
    return {**element, "id": field.id, "label": label}


def read_answers(form: Form, data: Json) -> Answers:
    """A dialog's submitted data as answers: "" and absent alike are no answer."""
    answers: Answers = {}
    for field in form.fields:
        raw = data.get(field.id)
        if raw in (None, "") or not isinstance(raw, (str, int, float)):
            answers[field.id] = [] if field.kind in (FieldKind.MULTI_SELECT, FieldKind.URLS, FieldKind.FILES) \
                else None
            continue
        text = str(raw)
        if field.kind is FieldKind.MULTI_SELECT:
            answers[field.id] = [v for v in text.split(",") if v]
        elif field.kind is FieldKind.USER:
            answers[field.id] = f"teams:{text.strip().lower()}" if _GUID.fullmatch(text.strip()) else None
        elif field.kind is FieldKind.URLS:
            answers[field.id] = [line.strip() for line in text.splitlines() if line.strip()]
        else:
            answers[field.id] = text
    return answers


def form_submission(data: Json) -> tuple[str, dict[str, str], str]:
    """(form id, form context, submission id) from a dialog's submitted data."""
    ctx = data.get("ctx") if isinstance(data.get("ctx"), dict) else {}
    context = {str(k): str(v) for k, v in ctx.items() if isinstance(v, str)}
    return str(data.get("form") or ""), context, str(data.get("submission") or "")


def pressed(data: object) -> tuple[str, str]:
    """(action id, button value) from a pressed button's data."""
    if not isinstance(data, dict):
        return "", ""
    return str(data.get("action") or ""), str(data.get("value") or "")


def dialog_of(reply: Reply) -> Json:
    """A reply shown inside a dialog: its cards' bodies and buttons in one card."""
    cards = render_reply(reply) or [_card([_run("Done.")], [])]
    body = [element for card in cards for element in card["body"]]
    actions = [action for card in cards for action in card.get("actions", [])]
    return _card(body, actions)


def task_continue(card: Json, title: str) -> Json:
    """An invoke answer that shows a card in the dialog."""
    return {"task": {"type": "continue", "value": {"title": title, "width": "medium", "height": "medium",
                                                     "card": {"contentType": CARD, "content": card}}}}


def task_message(text: str) -> Json:
    """An invoke answer that closes the dialog's card and shows a short plain message."""
    return {"task": {"type": "message", "value": text}}

"""What a card sends back: the ids its buttons and dialogs carry, and reading them from Teams' invokes.

Every shape comes from the network and may be forged: `decode` gives a `CardData` or raises `BadCardData`
(a ValueError whose message names the problem, never the content), and nothing else.

What we put in a card's `data` (ids only):
- a button: `{"action": <action id>, "value": <button value>}` (plus `msteams` for a dialog-opening button);
- a dialog's submit button: `{"form": <form id>, "context": {<key>: <id>}, "submission": <token>}`, which
  Teams merges with the form's inputs, each under `field.<field id>` so no input can take the place of our
  keys. The token is made when the dialog is shown: a retried or replayed task/submit carries the same one,
  so the core stores it once (Teams gives a submission no identity of its own).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

ACTION = "action"
VALUE = "value"
FORM = "form"
CONTEXT = "context"
SUBMISSION = "submission"
INPUT_PREFIX = "field."

# Where an invoke comes from: its `name` (a message activity's `value` is an Action.Submit fallback).
EXECUTE = "adaptiveCard/action"
TASK_FETCH = "task/fetch"
TASK_SUBMIT = "task/submit"
MESSAGE = "message"

MAX_ID = 100  # an action, form or context id: dotted names, report ids (32 hex), Teams ids
MAX_CONTEXT = 10
MAX_INPUTS = 100
MAX_INPUT = 20_000  # characters of one input as sent; the core's checks give the real limit
_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*")  # action and form ids: "case.ack", "report.form"
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")  # context keys: "report", "target", "reminder"


class BadCardData(ValueError):
    """What Teams sent back is not something our cards send."""


class Source(StrEnum):
    """How the data came: a button acting in place, a button opening a dialog, or a dialog submitted."""

    BUTTON = "button"  # Action.Execute, its Action.Submit fallback, or a button inside a dialog
    DIALOG = "dialog"  # task/fetch: open the dialog for this action
    FORM = "form"  # task/submit of a form's dialog


@dataclass(frozen=True)
class CardData:
    """The ids a card sent back, checked: the route, a button's value, a form's context and its raw inputs."""

    source: Source
    route: str  # an action id (a button) or a form id (a submitted form)
    value: str = ""  # a button's value
    context: Mapping[str, str] = field(default_factory=dict)  # a form's context (ids)
    inputs: Mapping[str, object] = field(default_factory=dict)  # a form's raw inputs by field id
    submission: str = ""  # the dialog's submission token ("" if it had none)


def decode(name: str, value: object) -> CardData:
    """An invoke's (or a fallback message's) `value` as CardData; BadCardData if it is not ours."""
    if name == EXECUTE:
        action = _mapping(value, "value").get("action")
        action = _mapping(action, "value.action")
        verb = _name(action.get("verb"), "verb")
        data = _mapping(action.get("data", {}), "value.action.data")
        if data.get(ACTION, verb) != verb:
            raise BadCardData("the action's verb and data disagree")
        return CardData(source=Source.BUTTON, route=verb, value=_value(data))
    if name == MESSAGE:
        return _button(_mapping(value, "value"), Source.BUTTON)
    if name in (TASK_FETCH, TASK_SUBMIT):
        data = _mapping(_mapping(value, "value").get("data"), "value.data")
        if name == TASK_SUBMIT and FORM in data:
            return CardData(source=Source.FORM, route=_name(data.get(FORM), FORM),
                            context=_context(data.get(CONTEXT, {})), inputs=_inputs(data),
                            submission=_id(data.get(SUBMISSION, ""), SUBMISSION))
        return _button(data, Source.DIALOG if name == TASK_FETCH else Source.BUTTON)
    raise BadCardData("not a card invoke")


def _button(data: Mapping[str, object], source: Source) -> CardData:
    return CardData(source=source, route=_name(data.get(ACTION), ACTION), value=_value(data))


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise BadCardData(f"{what} is not an object")
    return value


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_ID or not _NAME.fullmatch(value):
        raise BadCardData(f"{what} is not an action or form id")
    return value


def _id(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_ID or not value.isprintable():
        raise BadCardData(f"{what} is not an id")
    return value


def _value(data: Mapping[str, object]) -> str:
    return _id(data.get(VALUE, ""), VALUE)


def _context(value: object) -> dict[str, str]:
    context = _mapping(value, CONTEXT)
    if len(context) > MAX_CONTEXT:
        raise BadCardData("the form context is too big")
    checked = {}
    for key, item in context.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise BadCardData("a form context key is not a name")
        checked[key] = _id(item, "a form context value")
    return checked


def _inputs(data: Mapping[str, object]) -> dict[str, object]:
    """The inputs Teams merged into the data, by field id; values of a shape no input sends are dropped."""
    found = {key[len(INPUT_PREFIX):]: item for key, item in data.items()
             if isinstance(key, str) and key.startswith(INPUT_PREFIX)}
    if len(found) > MAX_INPUTS:
        raise BadCardData("too many inputs")
    inputs: dict[str, object] = {}
    for key, item in found.items():
        if isinstance(item, bool):  # a toggle: we render none, but it is a shape Teams sends
            inputs[key] = "true" if item else "false"
        elif isinstance(item, (int, float)):  # some clients send an Input.Number as a number
            inputs[key] = format(item, "g") if isinstance(item, float) else str(item)
        elif isinstance(item, str):
            if len(item) > MAX_INPUT:
                raise BadCardData("an input is too long")
            inputs[key] = item
    return inputs

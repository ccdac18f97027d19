"""Neutral forms <-> Slack modals: the view to open, and `view.state.values` back to answers.

Inbound payloads may be forged, so every reader here checks shapes and gives None rather than raise;
the core's form checks then say what is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from bot.domain.platform import SLACK, local_id, qualified_id
from bot.domain.report_form import MAX_FILES
from bot.domain.ui import Answers, Field, FieldErrors, FieldKind, Form, as_date
from bot.slack.blocks import chunks, mrkdwn

ACTION_ID = "value"  # the one element of each input block; its block_id is the field id
MAX_MODAL_BLOCKS = 100
MAX_TITLE = 24  # modal title, submit and close labels
MAX_METADATA = 3000
MAX_LABEL = 2000
MAX_PLACEHOLDER = 150
MAX_INPUT = 3000  # plain_text_input max_length
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
# Slack documents no limit for inline errors; they show in red under a field, so keep them short.
MAX_ERROR = 150
RADIO_UP_TO = 5  # more choices read better as a menu
CHECKBOXES_UP_TO = 10  # Slack's limit for checkboxes
FILE_TYPES = ["png", "jpg", "jpeg", "gif", "heic", "webp", "pdf"]
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_WHOLE = re.compile(r"-?[0-9]{1,9}")


def _plain(text: str, limit: int) -> dict[str, object]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def element_type(field: Field) -> str:
    """The Slack element a field is rendered as (and expected back in the submission)."""
    if field.kind is FieldKind.SELECT:
        return "radio_buttons" if len(field.options) <= RADIO_UP_TO else "static_select"
    if field.kind is FieldKind.MULTI_SELECT:
        return "checkboxes" if len(field.options) <= CHECKBOXES_UP_TO else "multi_static_select"
    return _ELEMENT_TYPES[field.kind]


_ELEMENT_TYPES = {
    FieldKind.TEXT: "plain_text_input",
    FieldKind.PARAGRAPH: "plain_text_input",
    FieldKind.URLS: "plain_text_input",
    FieldKind.DATE: "datepicker",
    FieldKind.NUMBER: "number_input",
    FieldKind.USER: "users_select",
    FieldKind.FILES: "file_input",
    FieldKind.CHANNELS: "multi_conversations_select",
    FieldKind.TIME: "timepicker",
}
_ACCEPTED = {
    FieldKind.SELECT: ("radio_buttons", "static_select"),
    FieldKind.MULTI_SELECT: ("checkboxes", "multi_static_select"),
}
_NO_PLACEHOLDER = {"radio_buttons", "checkboxes", "file_input"}
_SLACK_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,}")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _options(field: Field) -> list[dict[str, object]]:
    return [{"text": _plain(o.label, MAX_OPTION_TEXT), "value": o.value[:MAX_OPTION_VALUE]}
            for o in field.options[:MAX_OPTIONS]]


def _max_length(field: Field) -> int:
    default = MAX_INPUT if field.kind in (FieldKind.PARAGRAPH, FieldKind.URLS) else 150
    length = MAX_INPUT if field.kind is FieldKind.URLS else field.max_length or default
    return min(length, MAX_INPUT)


def _element(field: Field) -> dict[str, Any]:
    kind = element_type(field)
    element: dict[str, Any] = {"type": kind, "action_id": ACTION_ID}
    if kind == "plain_text_input":
        element["max_length"] = _max_length(field)
        if field.kind is not FieldKind.TEXT:
            element["multiline"] = True
    elif kind in ("radio_buttons", "static_select", "checkboxes", "multi_static_select"):
        element["options"] = _options(field)
    elif kind == "number_input":
        element["is_decimal_allowed"] = False
        element |= {key: str(v) for key, v in (("min_value", field.min_value), ("max_value", field.max_value))
                    if v is not None}
    elif kind == "file_input":
        element |= {"filetypes": FILE_TYPES, "max_files": MAX_FILES}
    elif kind == "multi_conversations_select":
        # Channels only (no DMs): a reminder is for a team, and the bot must be a member to post.
        element["filter"] = {"include": ["public", "private"], "exclude_bot_users": True}
    if field.placeholder and kind not in _NO_PLACEHOLDER:
        element["placeholder"] = _plain(field.placeholder, MAX_PLACEHOLDER)
    return element


def _initial(field: Field, element: dict[str, Any], value: object) -> None:
    """Pre-fill an element in place; a value the element cannot show is skipped."""
    kind = element["type"]
    if kind == "plain_text_input":
        text = "\n".join(map(str, value)) if isinstance(value, (list, tuple)) else value
        if isinstance(text, str) and text:
            element["initial_value"] = text[: element["max_length"]]
    elif kind in ("radio_buttons", "static_select"):
        chosen = [o for o in element["options"] if o["value"] == value]
        element.update({"initial_option": chosen[0]} if chosen else {})
    elif kind in ("checkboxes", "multi_static_select") and isinstance(value, (list, tuple, set, frozenset)):
        chosen = [o for o in element["options"] if o["value"] in value]
        element.update({"initial_options": chosen} if chosen else {})
    elif kind == "datepicker":
        day = value.date() if isinstance(value, datetime) else as_date(value)
        element.update({"initial_date": day.isoformat()} if isinstance(day, date) else {})
    elif kind == "number_input" and not isinstance(value, bool) and _WHOLE.fullmatch(str(value).strip()):
        number, low, high = int(str(value).strip()), field.min_value, field.max_value
        if (low is None or number >= low) and (high is None or number <= high):
            element["initial_value"] = str(number)
    elif kind == "users_select" and isinstance(value, str):
        user = local_id(value)
        element.update({"initial_user": user} if _SLACK_USER.fullmatch(user) else {})
    elif kind == "multi_conversations_select" and isinstance(value, (list, tuple)):
        chosen = [local_id(c) for c in value if isinstance(c, str)]
        chosen = [c for c in chosen if _SLACK_CHANNEL.fullmatch(c)]
        element.update({"initial_conversations": chosen} if chosen else {})
    elif kind == "timepicker" and isinstance(value, str) and _HH_MM.fullmatch(value):
        element["initial_time"] = value


def input_block(field: Field, initial: object = None) -> dict[str, Any]:
    """One field as an input block: block_id is the field id, the element's action_id is 'value'."""
    element = _element(field)
    if initial is not None:
        _initial(field, element, initial)
    block: dict[str, Any] = {"type": "input", "block_id": field.id, "label": _plain(field.label, MAX_LABEL),
                             "optional": not field.required, "element": element}
    # Several links go one per line in Slack's multi-line box; the core hint says nothing of how to separate them.
    hint = " ".join(filter(None, ("One per line." if field.kind is FieldKind.URLS else "", field.hint)))
    if hint:
        block["hint"] = _plain(hint, MAX_LABEL)
    return block


def _sections(markup: str) -> list[dict[str, Any]]:
    texts = chunks(mrkdwn(markup).split("\n"))
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}} for text in texts]


def render_modal(form: Form, *, initial: Answers | None = None, notice: str = "") -> dict[str, Any]:
    """A form as a modal view; raises ValueError if its context or fields overflow Slack's limits."""
    metadata = json.dumps(form.context, sort_keys=True, separators=(",", ":"))
    if len(metadata) > MAX_METADATA:
        raise ValueError(f"form {form.id} context is over {MAX_METADATA} characters")
    answers = initial or form.initial
    blocks = _sections(notice) if notice.strip() else []
    blocks += _sections(form.intro) if form.intro.strip() else []
    blocks += [input_block(field, answers.get(field.id)) for field in form.fields]
    if len(blocks) > MAX_MODAL_BLOCKS:  # dropping questions silently would be worse than failing loudly
        raise ValueError(f"form {form.id} needs {len(blocks)} blocks; a modal holds {MAX_MODAL_BLOCKS}")
    return {
        "type": "modal",
        "callback_id": form.id,
        "title": _plain(form.title, MAX_TITLE),
        "submit": _plain(form.submit_label, MAX_TITLE),
        "close": _plain("Cancel", MAX_TITLE),
        "private_metadata": metadata,
        "blocks": blocks,
    }


def _string(key: str) -> Callable[[Mapping[str, Any]], object]:
    return lambda element: element.get(key) if isinstance(element.get(key), str) else None


def _option(element: Mapping[str, Any]) -> object:
    option = element.get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _options_chosen(element: Mapping[str, Any]) -> object:
    chosen = element.get("selected_options", [])
    if not isinstance(chosen, list):
        return None
    return [o["value"] for o in chosen if isinstance(o, Mapping) and isinstance(o.get("value"), str)]


def _user(element: Mapping[str, Any]) -> object:
    user = element.get("selected_user")
    return qualified_id(SLACK, user) if isinstance(user, str) and user else None


def _channels(element: Mapping[str, Any]) -> object:
    chosen = element.get("selected_conversations", [])
    if not isinstance(chosen, list):
        return None
    return [qualified_id(SLACK, c) for c in chosen if isinstance(c, str) and _SLACK_CHANNEL.fullmatch(c)]


def _files(element: Mapping[str, Any]) -> object:
    files = element.get("files", [])
    if not isinstance(files, list):
        return None
    return [f["id"] for f in files if isinstance(f, Mapping) and isinstance(f.get("id"), str)]


_READERS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "plain_text_input": _string("value"),
    "number_input": _string("value"),
    "radio_buttons": _option,
    "static_select": _option,
    "checkboxes": _options_chosen,
    "multi_static_select": _options_chosen,
    "datepicker": _string("selected_date"),
    "users_select": _user,
    "file_input": _files,
    "multi_conversations_select": _channels,
    "timepicker": _string("selected_time"),
}


def _answer(field: Field, values: Mapping[str, Any]) -> object:
    block = values.get(field.id)
    element = block.get(ACTION_ID) if isinstance(block, Mapping) else None
    kind = element.get("type") if isinstance(element, Mapping) else None
    # Either select style is read, so a modal opened before a content change still submits.
    if not isinstance(element, Mapping) or kind not in _ACCEPTED.get(field.kind, (element_type(field),)):
        return None  # not an element we render for this field: a forged payload
    answer = _READERS[str(kind)](element)
    if field.kind is FieldKind.URLS:
        return [line.strip() for line in answer.splitlines() if line.strip()] if isinstance(answer, str) else []
    return answer


def answers_from_state(form: Form, values: object) -> Answers:
    """Slack's `view.state.values` as answers keyed by field id; anything missing or malformed is None."""
    state = values if isinstance(values, Mapping) else {}
    return {field.id: _answer(field, state) for field in form.fields}


def field_errors(errors: FieldErrors, form: Form) -> dict[str, Any]:
    """The view_submission response that shows each error beside its field.

    An error for an id the form lacks goes on the first field, so it is never silently lost.
    """
    ids = [f.id for f in form.fields]
    shown: dict[str, str] = {}
    for field_id, message in errors.items():
        target = field_id if field_id in ids or not ids else ids[0]
        shown[target] = f"{shown[target]} {message}" if target in shown else message
    return {"response_action": "errors", "errors": {k: _short(v) for k, v in shown.items()}}


def _short(message: str) -> str:
    return message if len(message) <= MAX_ERROR else message[: MAX_ERROR - 1].rstrip() + "…"


def form_context(view: object) -> dict[str, str]:
    """A view's private_metadata back as the form context: {} if malformed, str -> str pairs only."""
    raw = view.get("private_metadata") if isinstance(view, Mapping) else None
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
    except (ValueError, RecursionError):  # RecursionError: absurdly nested JSON
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

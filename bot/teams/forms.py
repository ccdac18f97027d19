"""Neutral forms <-> Teams dialogs: the Adaptive Card a dialog shows, its inputs read back as answers, and
the bodies Teams expects in answer to task/fetch, task/submit and adaptiveCard/action invokes.

Each field is an input whose id is `field.<field id>`; labels, hints and errors are TextRuns (errors may
quote an answer). On errors the same card comes back with the answers kept and each error under its
field. Inputs may arrive as "" or not at all (clients differ): both read as no answer.

People (FieldKind.USER) use Teams' people picker, an `Input.ChoiceSet` searching the organisation's
directory (`choices.data`, a Data.Query of `graph.microsoft.com/users`), which Teams documents for cards in
chats, channels and dialogs on its web and desktop clients. It answers with the person's Entra object id,
the very id app.yaml names leads by, so a report naming a lead is kept from that lead whatever name they go
by; a typed name could only be matched against the few names app.yaml knows. A client without the picker
shows an empty list: the field is optional, so the report still goes. The official 1.5 JSON schema does not
list this Teams extension; tests check the rest of the card against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.domain.markup import plain
from bot.domain.platform import local_id, qualified_id
from bot.domain.ui import Answers, Field, FieldErrors, FieldKind, Form, Option, Reply, as_date
from bot.teams.capabilities import TEAMS, TEAMS_CAPABILITIES
from bot.teams.card_data import CONTEXT, FORM, INPUT_PREFIX, SUBMISSION
from bot.teams.cards import CARD, MAX_CARD_BYTES, adaptive_card, reply_dialog_card, size
from bot.teams.markup import markup_elements, plain_text, rich_text, text_run

PEOPLE = {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
MAX_INPUT = TEAMS_CAPABILITIES.max_text  # Input.Text maxLength for paragraphs and lists of links
MAX_SHORT = 150  # a one-line answer, unless the field says otherwise
MAX_MESSAGE = 500  # a task/message or action message: a short confirmation, shown in a small pop-up
DIALOG_SIZE = "large"
FIX_THEM = "Please check the answers marked below."
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CHANNEL = re.compile(r"19:[^\s@]+@thread\.(tacv2|skype|v2)")
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_WHOLE = re.compile(r"-?[0-9]{1,9}")
_SEPARATOR = "\n"
# A channel of another platform kept on a reminder edited from Teams (its id as the core qualifies it).
_OTHER_CHANNEL = re.compile(r"[a-z]{2,12}:[A-Z0-9]{1,40}")
NO_CHANNELS = ("StaffSafe is not in any team yet, so there is no channel to choose. In Teams, open **Apps**, "
               "find StaffSafe, choose **Add to a team** and pick the team; then open this form again.")


def input_id(field_id: str) -> str:
    """The id of a field's input in the dialog card (what Teams sends its answer under)."""
    return INPUT_PREFIX + field_id


# --- rendering ---------------------------------------------------------------------------------------

def _max_length(field: Field) -> int:
    if field.kind in (FieldKind.URLS, FieldKind.CHANNELS):
        return MAX_INPUT
    default = MAX_INPUT if field.kind is FieldKind.PARAGRAPH else MAX_SHORT
    return min(field.max_length or default, MAX_INPUT)


def _choices(field: Field) -> list[dict[str, str]]:
    return [{"title": option.label, "value": option.value} for option in field.options]


def _input(field: Field) -> dict[str, Any]:
    """The input element for a field, without its initial value."""
    kind = field.kind
    element: dict[str, Any] = {"id": input_id(field.id), "label": field.label, "isRequired": field.required}
    if field.required:
        element["errorMessage"] = "This is required."
    if kind in (FieldKind.TEXT, FieldKind.PARAGRAPH, FieldKind.URLS, FieldKind.CHANNELS):
        element |= {"type": "Input.Text", "maxLength": _max_length(field)}
        if kind is not FieldKind.TEXT:
            element["isMultiline"] = True
        if kind is FieldKind.URLS:
            element["style"] = "Url"
    elif kind in (FieldKind.SELECT, FieldKind.MULTI_SELECT):
        element |= {"type": "Input.ChoiceSet", "style": "compact", "choices": _choices(field)}
        if kind is FieldKind.MULTI_SELECT:
            element["isMultiSelect"] = True
    elif kind is FieldKind.DATE:
        element["type"] = "Input.Date"
    elif kind is FieldKind.TIME:
        element["type"] = "Input.Time"
    elif kind is FieldKind.NUMBER:
        element["type"] = "Input.Number"
        element |= {key: v for key, v in (("min", field.min_value), ("max", field.max_value)) if v is not None}
    elif kind is FieldKind.USER:
        element |= {"type": "Input.ChoiceSet", "choices": [], "choices.data": dict(PEOPLE)}
    if field.placeholder and element.get("type") in ("Input.Text", "Input.ChoiceSet", "Input.Number"):
        element["placeholder"] = field.placeholder
    return element


def _channel_picker(field: Field, channels: Sequence[Option], value: object) -> list[dict[str, Any]]:
    """Teams has no channel picker: a multi-select of the channels offered (and those already chosen)."""
    chosen = [str(v) for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []
    offered = {o.value for o in channels}
    # A channel chosen earlier stays a choice (another platform's, or one of a team the app has left).
    kept = [Option(choice_value(c), c) for c in chosen if choice_value(c) not in offered]
    choices = [*channels, *kept]
    if not choices:
        return markup_elements(NO_CHANNELS)
    element: dict[str, Any] = {"id": input_id(field.id), "label": field.label, "isRequired": field.required,
                               "type": "Input.ChoiceSet", "style": "compact", "isMultiSelect": True,
                               "choices": [{"title": o.label, "value": o.value} for o in choices]}
    if field.required:
        element["errorMessage"] = "This is required."
    picked = [v for v in map(choice_value, chosen) if v in {o.value for o in choices}]
    return [element | ({"value": ",".join(picked)} if picked else {})]  # Teams joins choices with commas


def choice_value(channel: str) -> str:
    """A channel as a choice's value: a Teams channel's own id, another platform's qualified id."""
    return local_id(channel) if channel.startswith(f"{TEAMS}:") else channel


def _initial(field: Field, element: dict[str, Any], value: object, names: Mapping[str, str]) -> None:
    """Pre-fill an input in place; a value the input cannot show is skipped (as on Slack)."""
    kind = field.kind
    if kind in (FieldKind.TEXT, FieldKind.PARAGRAPH, FieldKind.URLS, FieldKind.CHANNELS):
        items = value if isinstance(value, (list, tuple)) else [value]
        if kind is FieldKind.CHANNELS:
            items = [local_id(str(v)) for v in items]
        text = _SEPARATOR.join(str(v) for v in items if isinstance(v, str) and v)
        if text:
            element["value"] = text[: element["maxLength"]]
    elif kind is FieldKind.SELECT and value in {o.value for o in field.options}:
        element["value"] = value
    elif kind is FieldKind.MULTI_SELECT and isinstance(value, (list, tuple, set, frozenset)):
        chosen = [o.value for o in field.options if o.value in value]  # Teams joins them with commas
        element.update({"value": ",".join(chosen)} if chosen else {})
    elif kind is FieldKind.DATE:
        day = value.date() if isinstance(value, datetime) else as_date(value)
        element.update({"value": day.isoformat()} if isinstance(day, date) else {})
    elif kind is FieldKind.TIME and isinstance(value, str) and _HH_MM.fullmatch(value):
        element["value"] = value
    elif kind is FieldKind.NUMBER and not isinstance(value, bool) and _WHOLE.fullmatch(str(value).strip()):
        number, low, high = int(str(value).strip()), field.min_value, field.max_value
        if (low is None or number >= low) and (high is None or number <= high):
            element["value"] = number  # the schema wants a number here, not a string
    elif kind is FieldKind.USER and isinstance(value, str) and _GUID.fullmatch(local_id(value)):
        person = local_id(value)
        # The picker shows a chosen person by the title of a choice with their id.
        element["choices"] = [{"title": names.get(value) or "The colleague you chose", "value": person}]
        element["value"] = person


def _hint(field: Field) -> str:
    hints = {FieldKind.URLS: "One per line.", FieldKind.CHANNELS: "Channel ids, one per line."}
    return " ".join(filter(None, (hints.get(field.kind, ""), field.hint)))


def _files_line(field: Field, form: Form) -> dict[str, Any]:
    """Teams cards have no file input: the reporter sends files in the chat after submitting."""
    text = (f"{field.label}: after you press \"{form.submit_label}\", send them to me in this chat as "
            f"images. {field.hint}").strip()
    return rich_text(text_run(text))


def field_elements(field: Field, form: Form, *, initial: object = None, error: str = "",
                   names: Mapping[str, str] | None = None,
                   channels: Sequence[Option] | None = None) -> list[dict[str, Any]]:
    """A field's elements: its input (label included), its hint, and its error, if any, right under it.

    `channels`: the channels to offer for a channel field (else it asks for channel ids).
    """
    if field.kind is FieldKind.FILES:
        elements = [_files_line(field, form)]
    elif field.kind is FieldKind.CHANNELS and channels is not None:
        elements = _channel_picker(field, channels, initial)
    else:
        element = _input(field)
        if initial is not None:
            _initial(field, element, initial, names or {})
        elements = [element]
        if _hint(field):
            elements.append(rich_text(text_run(_hint(field), isSubtle=True), spacing="Small"))
    if error:
        elements.append(rich_text(text_run(error, color="Attention"), spacing="Small"))
    return elements


def _placed(errors: FieldErrors, form: Form) -> dict[str, str]:
    """Errors by field; one for an id the form lacks goes on the first field, so it is never lost."""
    ids = [f.id for f in form.fields]
    shown: dict[str, str] = {}
    for field_id, text in errors.items():
        target = field_id if field_id in ids or not ids else ids[0]
        shown[target] = f"{shown[target]} {text}" if target in shown else text
    return shown


def submit_data(form: Form, submission: str = "") -> dict[str, Any]:
    """What the dialog's submit button carries back (ids only): the form, its context, the submission token."""
    return {FORM: form.id, CONTEXT: dict(form.context), **({SUBMISSION: submission} if submission else {})}


def dialog_card(form: Form, *, initial: Answers | None = None, errors: FieldErrors | None = None,
                notice: str = "", names: Mapping[str, str] | None = None, submission: str = "",
                channels: Sequence[Option] | None = None) -> dict[str, Any]:
    """A form as a dialog's Adaptive Card; answers kept and each error under its field when shown again.

    `notice` (trusted markup) goes above the form; `names` gives people's names for a picked person;
    `submission`: a token made when the dialog is first shown (kept when it is shown again with errors),
    read back as CardData.submission; `channels`: those a channel field offers. Raises ValueError if the form cannot fit one Teams card (dropping
    questions would be worse).
    """
    answers = form.initial if initial is None else initial
    placed = _placed(errors or {}, form)
    body: list[dict[str, Any]] = []
    if placed:
        body.append(rich_text(text_run(FIX_THEM, color="Attention", weight="Bolder")))
    if notice.strip():
        body += markup_elements(notice)
    if form.intro.strip():
        body += markup_elements(form.intro)
    for field in form.fields:
        body += field_elements(field, form, initial=answers.get(field.id), error=placed.get(field.id, ""),
                               names=names, channels=channels)
    submit = {"type": "Action.Submit", "title": form.submit_label, "style": "positive",
              "data": submit_data(form, submission)}
    card = adaptive_card(body, [submit])
    if size(card) > MAX_CARD_BYTES:
        raise ValueError(f"form {form.id} needs {size(card)} bytes; a Teams card holds {MAX_CARD_BYTES}")
    return card


# --- reading answers ----------------------------------------------------------------------------------

def _text(raw: object) -> str | None:
    return raw if isinstance(raw, str) and raw.strip() else None


def _lines(raw: object) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()] if isinstance(raw, str) else []


def _answer(field: Field, raw: object) -> object:
    """One input as the core's answer: absent and "" alike (None, or [] for lists)."""
    kind = field.kind
    if kind is FieldKind.MULTI_SELECT:
        return [v.strip() for v in raw.split(",") if v.strip()] if isinstance(raw, str) else []
    if kind is FieldKind.URLS:
        return _lines(raw)
    if kind is FieldKind.CHANNELS:  # typed one a line, or chosen (joined with commas)
        items = [c.strip() for c in raw.replace(",", _SEPARATOR).splitlines()] if isinstance(raw, str) else []
        return [qualified_id(TEAMS, c) if _CHANNEL.fullmatch(c) else c for c in items
                if _CHANNEL.fullmatch(c) or _OTHER_CHANNEL.fullmatch(c) and not c.startswith(f"{TEAMS}:")]
    if kind is FieldKind.FILES:
        return []  # no file input on Teams: files come in the chat afterwards
    text = _text(raw)
    if text is None:
        return None
    if kind is FieldKind.USER:
        return qualified_id(TEAMS, text.strip().lower()) if _GUID.fullmatch(text.strip()) else None
    if kind is FieldKind.TIME:
        return text.strip()[:5] if re.fullmatch(r"\d\d:\d\d(:\d\d)?", text.strip()) else text
    if kind in (FieldKind.DATE, FieldKind.NUMBER, FieldKind.SELECT):
        return text.strip()
    return text


def read_answers(form: Form, inputs: Mapping[str, object]) -> Answers:
    """A dialog's inputs (by field id, as CardData.inputs holds them) as answers to `form`."""
    return {field.id: _answer(field, inputs.get(field.id)) for field in form.fields}


@dataclass
class FormReader:
    """Reads a submission's inputs against whichever form the use case builds, and remembers that form,
    so the dialog can be shown again with the answers and errors (a route's `read` argument)."""

    inputs: Mapping[str, object]
    form: Form | None = None
    answers: Answers = field(default_factory=dict)

    def __call__(self, form: Form) -> Answers:
        """The answers to `form` (remembered with it)."""
        self.form, self.answers = form, read_answers(form, self.inputs)
        return self.answers


# --- invoke response bodies ---------------------------------------------------------------------------

def _title(title: str) -> str:
    return plain_text(title)[: TEAMS_CAPABILITIES.max_title] or "StaffSafe"


def task_continue(card: dict[str, Any], title: str) -> dict[str, Any]:
    """The body answering task/fetch or task/submit with a dialog showing `card`."""
    return {"task": {"type": "continue", "value": {
        "title": _title(title), "width": DIALOG_SIZE, "height": DIALOG_SIZE,
        "card": {"contentType": CARD, "content": card},
    }}}


def form_dialog(form: Form, *, initial: Answers | None = None, errors: FieldErrors | None = None,
                names: Mapping[str, str] | None = None, submission: str = "",
                channels: Sequence[Option] | None = None) -> dict[str, Any]:
    """task/continue with a form (again with answers and errors, if given); see dialog_card."""
    return task_continue(dialog_card(form, initial=initial, errors=errors, names=names, submission=submission,
                                     channels=channels), form.title)


def reply_dialog(reply: Reply, title: str = "") -> dict[str, Any]:
    """task/continue showing a reply (a case, a letter, a receipt) in the dialog."""
    return task_continue(reply_dialog_card(reply), title or (reply.cards[0].title if reply.cards else ""))


def short_text(reply: Reply) -> str:
    """A reply as one short plain line (commands as typed in the chat), for Teams' small pop-ups."""
    parts = [plain(reply.text, command_prefix="")] if reply.text.strip() else []
    parts += [plain_text(card.summary or card.title) for card in reply.cards]
    text = " ".join(" ".join(parts).split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def task_message(reply: Reply | str) -> dict[str, Any]:
    """The body closing a dialog with a short message."""
    text = short_text(reply if isinstance(reply, Reply) else Reply.say(reply))
    return {"task": {"type": "message", "value": text or "Done."}}


def card_response(card: dict[str, Any]) -> dict[str, Any]:
    """The adaptiveCard/action body replacing the card that was pressed with `card`."""
    return {"statusCode": 200, "type": CARD, "value": card}


def message_response(reply: Reply | str) -> dict[str, Any]:
    """The adaptiveCard/action body leaving the card as it is and showing a short message."""
    text = short_text(reply if isinstance(reply, Reply) else Reply.say(reply))
    return {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": text or "Done."}


def error_response(status: int, message: str) -> dict[str, Any]:
    """The adaptiveCard/action body for a refused action (`message`: ours, never an exception's text)."""
    code = "BadRequest" if status < 500 else "InternalServerError"
    return {"statusCode": status, "type": "application/vnd.microsoft.error",
            "value": {"code": code, "message": message}}

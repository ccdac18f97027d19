"""The neutral UI model: forms to show and cards to send. Adapters render these natively.

Trust rule: `Section.body` is trusted markup written by us or taken from content/ (the grammar of
bot/domain/markup.py: **bold**, [label](https://...), "- " bullets, [[command]]). Everything else that
can hold user text (`Fact.value`, `Section.quote`, field initial values) is plain text, and every
renderer escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class FieldKind(StrEnum):
    """The kinds of input a form can ask for."""

    TEXT = "text"
    PARAGRAPH = "paragraph"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    DATE = "date"
    URLS = "urls"  # one or more URLs, one per line
    NUMBER = "number"
    USER = "user"  # a person in the workspace
    FILES = "files"  # screenshots (Slack file_input); optional everywhere
    CHANNELS = "channels"  # one or more channels, as platform-qualified ids
    TIME = "time"  # a time of day, "HH:MM"


@dataclass(frozen=True)
class Option:
    """One choice in a select or multi-select."""

    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """One question on a form."""

    id: str
    label: str
    kind: FieldKind
    required: bool = True
    options: tuple[Option, ...] = ()
    hint: str = ""
    placeholder: str = ""
    max_length: int = 0  # 0: the kind's default
    min_value: int | None = None
    max_value: int | None = None
    # Asked only when another field's answer is one of these (field id, values); platforms that show
    # every field at once (a Slack modal) say so in the hint instead.
    only_if: tuple[str, tuple[str, ...]] = ()

    def applies(self, answers: Answers) -> bool:
        """Whether this field means anything given the answers so far."""
        if not self.only_if:
            return True
        other, values = self.only_if
        return str(answers.get(other) or "") in values

    def option_label(self, value: str) -> str:
        """The label shown for an option value."""
        return next((o.label for o in self.options if o.value == value), value)


@dataclass(frozen=True)
class Form:
    """A form (Slack modal, Teams dialog, console questionnaire).

    `context` carries ids only (e.g. a report id): never content, since platforms echo it back.
    """

    id: str
    title: str
    submit_label: str
    fields: tuple[Field, ...]
    intro: str = ""  # trusted markup shown above the fields
    context: dict[str, str] = field(default_factory=dict)
    initial: Answers = field(default_factory=dict)  # what the fields start with (editing a reminder)

    def field(self, field_id: str) -> Field:
        """The field with this id."""
        return next(f for f in self.fields if f.id == field_id)


FieldErrors = dict[str, str]
"""Inline errors keyed by field id: the platform shows each beside its field."""


Answers = dict[str, object]
"""Raw answers keyed by field id: str, list[str] (multi-select, urls, files), date, or None."""


class Style(StrEnum):
    """Button emphasis."""

    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """A button; `value` is an opaque id, never content."""

    label: str
    action: str  # a dotted action id from handlers.actions.Action
    value: str = ""
    style: Style = Style.DEFAULT


@dataclass(frozen=True)
class Fact:
    """A label and a plain-text value (may be user text)."""

    label: str
    value: str


@dataclass(frozen=True)
class Section:
    """A block of a card."""

    heading: str = ""
    body: str = ""  # trusted markup
    facts: tuple[Fact, ...] = ()
    quote: str = ""  # untrusted plain text, e.g. what the reporter wrote


@dataclass(frozen=True)
class Card:
    """A message: title, sections and buttons."""

    title: str
    sections: tuple[Section, ...] = ()
    buttons: tuple[Button, ...] = ()
    summary: str = ""  # plain fallback text for notifications


@dataclass(frozen=True)
class Reply:
    """What a handler answers to the person who asked. Always private to them."""

    cards: tuple[Card, ...] = ()
    text: str = ""  # trusted markup

    @staticmethod
    def say(text: str) -> Reply:
        """A reply of one line of text."""
        return Reply(text=text)


@dataclass(frozen=True)
class FormResult:
    """The outcome of submitting a form: errors to show beside fields, or a reply."""

    errors: FieldErrors = field(default_factory=dict)
    reply: Reply | None = None
    next: Form | None = None  # a form to show next, in place of this one (a platform picked, then its form)

    @property
    def ok(self) -> bool:
        """True when the form was accepted."""
        return not self.errors


def as_date(value: object) -> date | None:
    """A date answer, whether the adapter gave a date or an ISO string."""
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


@dataclass(frozen=True)
class Document:
    """A file for the asker to keep (a case export): plain text, never rendered as markup."""

    filename: str
    text: str


def counted(count: int, noun: str) -> str:
    """A count and its noun as people write it: "1 reminder", "3 reminders" (nouns that take an s)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"

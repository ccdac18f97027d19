"""The report form: its fields, and turning raw answers into checked values or field errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from datetime import date
from urllib.parse import urlsplit

from bot.domain.platform import STRICTEST, Capabilities
from bot.domain.content import Content
from bot.domain.dates import read_date
from bot.domain.report import Adult, Nature, Perpetrator, Want
from bot.domain.ui import Answers, Field, FieldErrors, FieldKind, Form, Option

FORM_ID = "report.form"
MAX_TEXT = STRICTEST.max_text  # the longest answer every platform accepts; a form takes its platform's
MAX_URLS = 10
MAX_URL_LENGTH = 2000
MAX_OCCASIONS = 999
MAX_FILES = 5
OLDEST_YEARS = 10  # a first-seen date further back than this is almost certainly a mistyped year
MAX_FILE_REF = 2048  # characters of a platform's reference to an uploaded file

NATURE_LABELS = {
    Nature.THREATENING: "Threatening",
    Nature.ABUSIVE: "Abusive or insulting",
    Nature.SEXIST: "Sexist",
    Nature.SEXUAL: "Sexual",
    Nature.HATE_CRIME: "Hate (race, religion, disability, sexuality, gender identity)",
    Nature.IMPERSONATION: "Impersonation or identity theft",
    Nature.PRIVATE_INFO: "Private information or images shared",
    Nature.FALSE_CLAIMS: "False claims or rumours about me",
    Nature.CHILD_SEXUAL: "Sexual content or images of a child or young person",
}
PERPETRATOR_LABELS = {
    Perpetrator.SERVICE_USER: "A service user (pupil, client, resident...)",
    Perpetrator.LINKED: "Someone linked to a service user (parent, carer, partner...)",
    Perpetrator.COLLEAGUE: "A colleague",
    Perpetrator.UNKNOWN: "I don't know",
}
ADULT_LABELS = {Adult.YES: "Yes", Adult.NO: "No", Adult.UNSURE: "Not sure"}
WANT_LABELS = {
    Want.REMOVED: "The content taken down",
    Want.STOPPED: "The behaviour to stop",
    Want.MEETING: "The organisation to speak to the person",
    Want.POLICE: "Help to contact the police",
    Want.SUPPORT: "Someone to talk to",
    Want.RECORD: "Just to have it on record",
}
OTHER_CHANNELS = {"phone": "Phone calls", "sms": "Text messages", "email": "Email", "other": "Somewhere else"}
YES_NO = (Option("yes", "Yes"), Option("no", "No"))
NAMED = (
    Option("named", "Yes, the leads may know it is me"),
    Option("anonymous", "No, keep me anonymous to the leads"),
)


def _options(labels: Mapping[Any, str]) -> tuple[Option, ...]:
    return tuple(Option(str(value), label) for value, label in labels.items())


def report_form(content: Content, limits: Capabilities = STRICTEST) -> Form:
    """The confidential report form, with platforms from content, within the platform's limits."""
    places = {p.id: p.name for p in content.platforms.values()} | OTHER_CHANNELS
    return Form(
        id=FORM_ID,
        title="Report cyberbullying",
        submit_label="Send report",
        intro=(
            "Only the designated leads see this report. "
            "**Never reply to or retaliate against** the person responsible."
        ),
        fields=(
            Field("what_happened", "What happened?", FieldKind.PARAGRAPH, max_length=limits.max_text,
                  hint="In your own words. Do not paste passwords."),
            Field("where", "Where did it happen?", FieldKind.SELECT, options=_options(places)),
            Field("urls", "Links to the content", FieldKind.URLS, required=False,
                  hint=f"Up to {MAX_URLS}.", placeholder="https://..."),
            Field("first_seen", "When did you first see it?", FieldKind.DATE),
            Field("occasions", "On how many occasions?", FieldKind.NUMBER, min_value=1,
                  max_value=MAX_OCCASIONS, hint="Two or more can be a course of conduct."),
            Field("perpetrator", "Who do you think is responsible?", FieldKind.SELECT,
                  options=_options(PERPETRATOR_LABELS)),
            Field("adult", "Is that person an adult?", FieldKind.SELECT, options=_options(ADULT_LABELS)),
            Field("subject", "If a colleague, who?", FieldKind.USER, required=False,
                  hint="Keeps this report from ever reaching them."),
            Field("natures", "What is it like? (choose any)", FieldKind.MULTI_SELECT, required=False,
                  options=_options(NATURE_LABELS)),
            Field("evidence_saved", "Have you saved screenshots with the web address, date and time?",
                  FieldKind.SELECT, options=YES_NO),
            Field("wants", "What would you like to happen?", FieldKind.MULTI_SELECT, required=False,
                  options=_options(WANT_LABELS)),
            Field("screenshots", "Screenshots (optional)", FieldKind.FILES, required=False,
                  hint=f"Up to {MAX_FILES}. Stored encrypted; only the designated leads can see them."),
            Field("named", "May the leads know who you are?", FieldKind.SELECT, options=NAMED),
        ),
    )


@dataclass(frozen=True)
class ReportAnswers:
    """The report form's answers, checked and typed."""

    what_happened: str
    where: str
    urls: tuple[str, ...]
    first_seen: date
    occasions: int
    perpetrator: Perpetrator
    adult: Adult
    subject_id: str | None
    natures: frozenset[Nature]
    evidence_saved: bool
    wants: frozenset[Want]
    named_to_leads: bool
    files: tuple[str, ...] = ()  # opaque references to uploaded screenshots, fetched after the report is stored


def check_field(field: Field, raw: object, *, today: date) -> tuple[object, str]:
    """One answer, checked: (value, "") or (None, error message)."""
    empty = raw is None or raw == "" or raw == [] or (isinstance(raw, str) and not raw.strip())
    if empty:
        return (None, "This is required.") if field.required else (_empty_value(field), "")
    checker = _CHECKERS.get(field.kind, _check_text)
    return checker(field, raw, today)


def _empty_value(field: Field) -> object:
    return () if field.kind in (FieldKind.MULTI_SELECT, FieldKind.URLS, FieldKind.FILES) else None


def _check_text(field: Field, raw: object, today: date) -> tuple[object, str]:
    text = str(raw).strip()
    limit = field.max_length or (MAX_TEXT if field.kind is FieldKind.PARAGRAPH else 150)
    if len(text) > limit:
        return None, f"Please keep this under {limit} characters (it has {len(text)})."
    return text, ""


def _check_select(field: Field, raw: object, today: date) -> tuple[object, str]:
    values = {o.value for o in field.options}
    # Options are strings: anything else (a list, a dict from a forged payload) is simply not one of them.
    return (raw, "") if isinstance(raw, str) and raw in values else (None, "Please choose one of the options.")


def _check_multi(field: Field, raw: object, today: date) -> tuple[object, str]:
    chosen = raw if isinstance(raw, (list, tuple, set, frozenset)) else [raw]
    values = {o.value for o in field.options}
    if any(not isinstance(c, str) or c not in values for c in chosen):
        return None, "Please choose from the options."
    return tuple(dict.fromkeys(chosen)), ""


def _check_date(field: Field, raw: object, today: date) -> tuple[object, str]:
    day, problem = (raw, "") if isinstance(raw, date) else read_date(str(raw), today=today)
    if day is None:
        return None, problem
    if day > today:
        return None, "This date is in the future."
    if day < date(today.year - OLDEST_YEARS, 1, 1):
        return None, f"That is more than {OLDEST_YEARS} years ago: please check the year."
    return day, ""


def _check_number(field: Field, raw: object, today: date) -> tuple[object, str]:
    try:
        number = int(str(raw).strip())
    except ValueError:
        return None, "Please give a whole number."
    low, high = field.min_value or 0, field.max_value or 10**6
    if not low <= number <= high:
        return None, f"Please give a number from {low} to {high}."
    return number, ""


def _check_urls(field: Field, raw: object, today: date) -> tuple[object, str]:
    lines = raw if isinstance(raw, (list, tuple)) else str(raw).replace(",", "\n").split()
    urls = [str(line).strip() for line in lines if str(line).strip()]
    if len(urls) > MAX_URLS:
        return None, f"Please give at most {MAX_URLS} links."
    for url in urls:
        if not is_web_url(url):
            return None, f"This is not a web address: {url[:60]}. Links start with https://"
    return tuple(urls), ""


def _check_files(field: Field, raw: object, today: date) -> tuple[object, str]:
    ids = raw if isinstance(raw, (list, tuple)) else [raw]
    if len(ids) > MAX_FILES:
        return None, f"Please attach at most {MAX_FILES} files."
    if not all(_file_ref(i) for i in ids):
        return None, "These files could not be read. Please attach them again."
    return tuple(dict.fromkeys(ids)), ""


def _file_ref(ref: object) -> bool:
    # Opaque to the core: a Slack file id ("F0123"), a Teams attachment URL (with ":", "/", "-"...).
    # Only its shape is checked: printable, no spaces, of a sane length.
    return isinstance(ref, str) and 0 < len(ref) <= MAX_FILE_REF and ref.isprintable() and not any(
        ch.isspace() for ch in ref)


def _check_user(field: Field, raw: object, today: date) -> tuple[object, str]:
    text = str(raw).strip()
    return (text, "") if len(text) <= 200 else (None, "That is not a person in this workspace.")


_CHECKERS = {
    FieldKind.SELECT: _check_select,
    FieldKind.MULTI_SELECT: _check_multi,
    FieldKind.DATE: _check_date,
    FieldKind.NUMBER: _check_number,
    FieldKind.URLS: _check_urls,
    FieldKind.USER: _check_user,
    FieldKind.FILES: _check_files,
}


def is_web_url(url: str) -> bool:
    """Whether text is an http(s) URL with a host, of sane length."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(url) <= MAX_URL_LENGTH


def check_form(form: Form, answers: Answers, *, today: date) -> tuple[dict[str, Any], FieldErrors]:
    """Every field checked: the typed values and the errors, keyed by field id."""
    values: dict[str, Any] = {}
    errors: FieldErrors = {}
    for field in form.fields:
        value, error = check_field(field, answers.get(field.id), today=today)
        if error:
            errors[field.id] = error
        else:
            values[field.id] = value
    return values, errors


def parse_report(form: Form, answers: Answers, *, today: date) -> tuple[ReportAnswers | None, FieldErrors]:
    """The report form's answers as ReportAnswers, or the errors to show beside each field."""
    values, errors = check_form(form, answers, today=today)
    if errors:
        return None, errors
    return (
        ReportAnswers(
            what_happened=values["what_happened"],
            where=values["where"],
            urls=values["urls"],
            first_seen=values["first_seen"],
            occasions=values["occasions"],
            perpetrator=Perpetrator(values["perpetrator"]),
            adult=Adult(values["adult"]),
            subject_id=values["subject"] or None,
            natures=frozenset(Nature(v) for v in values["natures"]),
            evidence_saved=values["evidence_saved"] == "yes",
            wants=frozenset(Want(v) for v in values["wants"]),
            named_to_leads=values["named"] == "named",
            files=values["screenshots"],
        ),
        {},
    )

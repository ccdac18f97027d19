"""Load content/ into the typed `Content`, validating every file and entry once, at start."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

from bot.domain.content import (
    ORGANISATION,
    SELF,
    TEMPLATE_PLACEHOLDERS,
    Advice,
    ChecklistItem,
    Contact,
    Content,
    Helpline,
    Platform,
    Provider,
    Source,
    Template,
    Tip,
)
from bot.domain.errors import ContentError
from bot.domain.markup import bad_links, reflow

# Ids the code cites by name; loading fails if content/ drops one.
REQUIRED_ADVICE = frozenset(
    {
        "never-retaliate",
        "save-evidence",
        "tell-manager",
        "organisation-procedures",
        "colleague",
        "meet-adult",
        "if-refused",
        "report-to-platform",
        "police",
        "course-of-conduct",
        "phone-provider",
        "helpline-mediation",
        "report-harmful-content",
        "impersonation",
        "private-info",
        "support",
        "organisation-takedown",
        "safeguarding",
    }
)
REQUIRED_TIPS = frozenset(
    {
        "device-locking",
        "pin-passcode",
        "passwords",
        "privacy-settings",
        "online-presence",
        "friend-requests",
        "work-contact-details",
        "work-vs-personal-email",
        "family-and-friends",
    }
)
REQUIRED_LAW = frozenset(
    {
        "harassment-act-1997",
        "police-information-notice",
        "online-safety-act-offences",
        "online-safety-act-duties",
        "uk-gdpr",
    }
)
REQUIRED_HELPLINES = frozenset({"posh", "report-harmful-content", "police", "ceop"})

Known = Mapping[str, frozenset[str]]  # table name -> the ids it defines, for cross-references
Check = Callable[[object, Known], object]  # returns the cleaned value or raises _Invalid


class _Invalid(ValueError):
    """A value failed its check; the caller prefixes where it was."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (safe_load keeps the last) and leaves dates as text."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


# Dates stay text so a bad one is reported against its entry (YAML would fail the whole file).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


# --- value checks ------------------------------------------------------------------------------

_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"\+?[0-9][0-9 ]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _is_url(text: str) -> bool:
    return text.startswith(("https://", "http://")) and not any(ch.isspace() for ch in text)


def _text(value: object, known: Known) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("must be non-empty text")
    return value.strip()


def _optional_text(value: object, known: Known) -> str:
    if not isinstance(value, str):
        raise _Invalid('must be text (use "" for none)')
    return value.strip()


def _markup(value: object, known: Known) -> str:
    text = reflow(_text(value, known))
    bad = bad_links(text)
    if bad:
        raise _Invalid(f"links to {bad[0]!r}; links must start with https:// or http://")
    return text


def _url(value: object, known: Known) -> str:
    text = _text(value, known)
    if not _is_url(text):
        raise _Invalid(f"must start with https:// or http://, not {text!r}")
    return text


def _optional(check: Check) -> Check:
    """`check`, or "" where the file says "" for none."""

    def check_optional(value: object, known: Known) -> object:
        return "" if value == "" else check(value, known)

    return check_optional


def _iso_date(value: object, known: Known) -> date:
    try:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise _Invalid(f"must be an ISO date (YYYY-MM-DD), not {value!r}")


def _flag(value: object, known: Known) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {value!r}")
    return value


def _template_text(value: object, known: Known) -> str:
    text = _text(value, known)
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as error:  # unbalanced braces
        raise _Invalid(f"is not a valid template: {error}") from None
    unknown = sorted(names - TEMPLATE_PLACEHOLDERS)
    if unknown:
        allowed = ", ".join(sorted(TEMPLATE_PLACEHOLDERS))
        raise _Invalid(f"uses unknown placeholder {{{unknown[0]}}}; allowed: {allowed}")
    return text


def _one_of(*choices: str) -> Check:
    def check(value: object, known: Known) -> str:
        if value not in choices:
            raise _Invalid(f"must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    return check


def _ref(table: str) -> Check:
    """An id that must exist in another table (checked against every file's ids)."""

    def check(value: object, known: Known) -> str:
        text = _text(value, known)
        if text not in known[table]:
            raise _Invalid(f"{text!r} is not an entry in {_TABLES[table].file}")
        return text

    return check


def _items(check: Check, *, least: int = 0, most: int | None = None) -> Check:
    """A list whose items all pass `check`, returned as a tuple."""

    def check_list(value: object, known: Known) -> tuple:
        if not isinstance(value, list):
            raise _Invalid("must be a list")
        if len(value) < least or (most is not None and len(value) > most):
            span = f"{least} to {most}" if most is not None else f"at least {least}"
            raise _Invalid(f"must have {span} items, not {len(value)}")
        return tuple(_at(f"[{i}]", check, item, known) for i, item in enumerate(value))

    return check_list


def _at(label: str, check: Check, value: object, known: Known) -> object:
    try:
        return check(value, known)
    except _Invalid as error:
        raise _Invalid(f"{label} {error}") from None


def _record(value: object, fields: Mapping[str, Check], known: Known) -> dict[str, object]:
    """Check a mapping has exactly `fields` and clean each value."""
    if not isinstance(value, dict):
        raise _Invalid("must be a mapping of field to value")
    missing = [name for name in fields if name not in value]
    if missing:
        raise _Invalid(f"missing {missing[0]!r}")
    extra = sorted(str(name) for name in value if name not in fields)
    if extra:
        raise _Invalid(f"unexpected {extra[0]!r} (expected: {', '.join(fields)})")
    return {name: _at(repr(name), check, value[name], known) for name, check in fields.items()}


_CONTACT_VALUE: dict[str, Callable[[str], bool]] = {
    "phone": lambda v: bool(_PHONE.fullmatch(v)),
    "sms": lambda v: bool(_PHONE.fullmatch(v)),
    "email": lambda v: bool(_EMAIL.fullmatch(v)),
    "url": _is_url,
}
_CONTACT_FIELDS: dict[str, Check] = {
    "label": _text,
    "value": _text,
    "kind": _one_of(*_CONTACT_VALUE),
}


def _contact(value: object, known: Known) -> Contact:
    fields = _record(value, _CONTACT_FIELDS, known)
    kind, text = str(fields["kind"]), str(fields["value"])
    if not _CONTACT_VALUE[kind](text):
        raise _Invalid(f"'value' {text!r} is not a valid {kind}")
    return Contact(label=str(fields["label"]), value=text, kind=kind)


_contacts = _items(_contact)


# --- the schema: one row per file --------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """A file of entries keyed by id, each built into `build(id=..., **fields)`."""

    file: str
    build: Callable[..., object]
    fields: Mapping[str, Check]
    section: str = ""  # the key inside the file that holds the entries, if not the whole file


_FACT: dict[str, Check] = {"source": _ref("sources"), "verified": _iso_date}
_ADVICE: dict[str, Check] = {"title": _text, "text": _markup, **_FACT}

_TABLES: dict[str, _Table] = {
    "sources": _Table("sources.yaml", Source, {"title": _text, "url": _optional(_url)}),
    "advice": _Table("advice.yaml", Advice, _ADVICE),
    "law": _Table("law.yaml", Advice, _ADVICE),
    "checklist": _Table(
        "checklist.yaml",
        ChecklistItem,
        {
            "title": _text,
            "text": _markup,
            "do": _flag,
            "steps": _items(_text, least=2, most=5),
            **_FACT,
        },
    ),
    "tips": _Table(
        "tips.yaml",
        Tip,
        {"topic": _text, "tip": _text, "why": _text, "checklist": _ref("checklist"), **_FACT},
    ),
    "providers": _Table(
        "providers.yaml",
        Provider,
        {
            "name": _text,
            "aliases": _items(_text),
            "route": _markup,
            "contacts": _contacts,
            "history_2016": _contacts,
            "merged_into": _optional(_ref("providers")),
            **_FACT,
        },
        section="networks",
    ),
    "helplines": _Table(
        "helplines.yaml",
        Helpline,
        {"name": _text, "text": _markup, "contacts": _contacts, "hours": _optional_text, **_FACT},
    ),
    "platforms": _Table(
        "platforms.yaml",
        Platform,
        {
            "name": _text,
            "aliases": _items(_text),
            "how_to_report": _markup,
            "report_url": _url,
            "include": _items(_text, least=1),
            "notes": _optional(_markup),
            "policy": _text,
            "template": _ref("templates"),
            "identify_by": _optional_text,
            **_FACT,
        },
    ),
    "templates": _Table(
        "templates.yaml",
        Template,
        {
            "title": _text,
            "voice": _one_of(SELF, ORGANISATION),
            "organisation_version": _optional(_ref("templates")),
            "text": _template_text,
            **_FACT,
        },
    ),
}
# providers.yaml also holds the routes that work on every network, beside `networks`.
_SECTIONS = {"providers.yaml": ("networks", "any_network")}
_ANY_NETWORK: dict[str, Check] = {"contacts": _contacts, **_FACT}
_REQUIRED = {
    "advice": REQUIRED_ADVICE,
    "law": REQUIRED_LAW,
    "tips": REQUIRED_TIPS,
    "helplines": REQUIRED_HELPLINES,
}


# --- loading -----------------------------------------------------------------------------------


def load_content(directory: Path | None = None) -> Content:
    """Validated content from `directory` (default: the installed content package)."""
    root: Traversable = directory if directory is not None else files("content")
    where = {t.file: f"{root.name}/{t.file}" for t in _TABLES.values()}
    docs = {file: _read(root.joinpath(file), label) for file, label in where.items()}
    for file, sections in _SECTIONS.items():
        _check_sections(docs[file], sections, where[file])

    raw = {name: _entries(docs[t.file], t, where[t.file]) for name, t in _TABLES.items()}
    known = {name: frozenset(k for k in ids if isinstance(k, str)) for name, ids in raw.items()}
    for name, required in _REQUIRED.items():
        missing = ", ".join(repr(m) for m in sorted(required - known[name]))
        if missing:
            label = where[_TABLES[name].file]
            raise ContentError(f"{label}: entry {missing} missing (the bot cites it)")

    built = {name: _build(raw[name], t, known, where[t.file]) for name, t in _TABLES.items()}
    _check_voices(built["templates"], built["platforms"], where)
    file = "providers.yaml"
    any_network = _entry("any_network", docs[file]["any_network"], _ANY_NETWORK, known, where[file])
    return Content(**built, any_network=any_network["contacts"])  # type: ignore[arg-type]


def _check_voices(templates: dict, platforms: dict, where: Mapping[str, str]) -> None:
    """Platforms start from the person affected's letter; its organisation version is the organisation's."""
    for template in templates.values():
        version = templates.get(template.organisation_version)
        if version is not None and (template.voice != SELF or version.voice != ORGANISATION):
            raise ContentError(f"{where['templates.yaml']}: entry {template.id!r}: 'organisation_version' must lead "
                               "from a self letter to an organisation letter")
    for platform in platforms.values():
        if templates[platform.template].voice != SELF:
            raise ContentError(f"{where['platforms.yaml']}: entry {platform.id!r}: 'template' must be a letter in "
                               "the person affected's voice (voice: self)")


def _read(path: Traversable, where: str) -> dict:
    if not path.is_file():
        raise ContentError(f"{where}: file missing")
    try:
        # _Loader is a SafeLoader: no arbitrary objects, only stricter about keys and dates.
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ContentError(f"{where}: not valid YAML: {' '.join(str(error).split())}") from error
    if not isinstance(doc, dict):
        raise ContentError(f"{where}: must be a mapping at the top level")
    return doc


def _check_sections(doc: dict, sections: tuple[str, ...], where: str) -> None:
    missing = [s for s in sections if s not in doc]
    extra = sorted(str(k) for k in doc if k not in sections)
    if missing or extra:
        problem = f"missing {missing[0]!r}" if missing else f"unexpected {extra[0]!r}"
        raise ContentError(f"{where}: {problem} (expected top-level keys: {', '.join(sections)})")


def _entries(doc: dict, table: _Table, where: str) -> dict:
    entries = doc[table.section] if table.section else doc
    if not isinstance(entries, dict) or not entries:
        part = repr(table.section) if table.section else "the file"
        raise ContentError(f"{where}: {part} must be a non-empty mapping of id to entry")
    return entries


def _build(entries: dict, table: _Table, known: Known, where: str) -> dict[str, object]:
    built: dict[str, object] = {}
    for entry_id, value in entries.items():
        if not isinstance(entry_id, str) or not _ID.fullmatch(entry_id):
            problem = "id must be lower-case letters and digits joined by hyphens"
            raise ContentError(f"{where}: entry {entry_id!r}: {problem}")
        fields = _entry(entry_id, value, table.fields, known, where)
        built[entry_id] = table.build(id=entry_id, **fields)
    return built


def _entry(
    entry_id: str, value: object, fields: Mapping[str, Check], known: Known, where: str
) -> dict[str, object]:
    try:
        return _record(value, fields, known)
    except _Invalid as error:
        raise ContentError(f"{where}: entry {entry_id!r}: {error}") from None

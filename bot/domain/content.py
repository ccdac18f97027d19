"""Typed content: the leaflet's advice and today's facts, loaded from content/ by bot.content."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from datetime import date

from bot.domain.errors import NotFound
from bot.domain.markup import quoted

# Placeholders a takedown template may use; the takedown handler fills every one of them.
TEMPLATE_PLACEHOLDERS = frozenset(
    {
        "sender_name",  # who is writing: the person affected, or someone for the organisation
        "sender_role",  # the organisation writer's role, e.g. "Headteacher" (optional)
        "organisation",
        "affected_name",  # the staff member affected, in organisation letters (optional)
        "consent",  # a sentence saying the person affected agreed (optional)
        "platform",
        "urls",  # one link (or, where there are none, one identifier) per line
        "dates",  # when it was posted or first seen
        "description",  # what the content is, in the sender's words
        "policy",  # the platform rule it breaks
        "reference",  # the StaffSafe reference, if any (optional)
    }
)
# A line holding one of these is left out when it is empty, so a letter never shows a gap.
OPTIONAL_PLACEHOLDERS = frozenset({"sender_role", "affected_name", "consent", "reference"})
SELF = "self"  # a template's voice: written by the person affected, in the first person
ORGANISATION = "organisation"  # written by someone for the organisation, on the person's behalf


@dataclass(frozen=True)
class Source:
    """Where a fact comes from."""

    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Advice:
    """One piece of advice or law; `text` is trusted markup."""

    id: str
    title: str
    text: str
    source: str  # a Source id
    verified: date


@dataclass(frozen=True)
class ChecklistItem:
    """One item of the staff and volunteer safety checklist."""

    id: str
    title: str
    text: str
    do: bool  # True: a thing to do; False: a thing not to do
    steps: tuple[str, ...]  # "show me how"
    source: str
    verified: date


@dataclass(frozen=True)
class Tip:
    """A short, actionable reminder tip for one awareness topic."""

    id: str  # the topic id, e.g. "device-locking"
    topic: str  # the topic's label
    tip: str
    why: str
    checklist: str  # the ChecklistItem id it points to
    source: str
    verified: date


@dataclass(frozen=True)
class Contact:
    """A way to reach someone: phone, sms, email or url."""

    label: str
    value: str
    kind: str  # phone | sms | email | url


@dataclass(frozen=True)
class Provider:
    """A mobile network: today's route for nuisance and malicious calls, and the leaflet's 2016 lines."""

    id: str
    name: str
    aliases: tuple[str, ...]
    route: str  # trusted markup: what to do today
    contacts: tuple[Contact, ...]
    history_2016: tuple[Contact, ...]  # the leaflet's table, for history only
    merged_into: str  # a Provider id, or "" (Orange and T-Mobile are now EE)
    source: str
    verified: date


@dataclass(frozen=True)
class Helpline:
    """A helpline or service that supports staff."""

    id: str
    name: str
    text: str  # trusted markup: who it is for and when to use it
    contacts: tuple[Contact, ...]
    hours: str
    source: str
    verified: date


@dataclass(frozen=True)
class Platform:
    """A platform: how to report there, what to include, and its takedown template."""

    id: str
    name: str
    aliases: tuple[str, ...]
    how_to_report: str  # trusted markup
    report_url: str
    include: tuple[str, ...]  # what a report should include
    notes: str  # trusted markup: e.g. "impersonation reports need photo ID"
    policy: str  # the usual rule to name after "your", e.g. "Bullying and Harassment policy"
    template: str  # a Template id, in the person affected's voice
    identify_by: str  # "": content there has web addresses; else what identifies it ("the phone number")
    source: str
    verified: date


@dataclass(frozen=True)
class Template:
    """A letter with {placeholders} from TEMPLATE_PLACEHOLDERS, in one voice."""

    id: str
    title: str
    voice: str  # SELF or ORGANISATION
    organisation_version: str  # for a SELF letter: the Template id the organisation sends instead, or ""
    text: str
    source: str
    verified: date


@dataclass(frozen=True)
class Content:
    """All content, validated. Look-ups by citation ("advice/save-evidence") or by name."""

    sources: dict[str, Source]
    advice: dict[str, Advice]  # what to do if you are bullied online, and the organisation's steps
    law: dict[str, Advice]
    checklist: dict[str, ChecklistItem]
    tips: dict[str, Tip]
    providers: dict[str, Provider]
    any_network: tuple[Contact, ...]  # routes that work on every network (7726, TPS)
    helplines: dict[str, Helpline]
    platforms: dict[str, Platform]
    templates: dict[str, Template]

    def cite(self, ref: str) -> Advice | ChecklistItem | Tip | Provider | Helpline | Platform | Template:
        """The entry a citation names, e.g. "advice/save-evidence"; NotFound if there is none."""
        kind, _, entry_id = ref.partition("/")
        tables: dict[str, Mapping[str, Any]] = {
            "advice": self.advice,
            "law": self.law,
            "checklist": self.checklist,
            "tips": self.tips,
            "providers": self.providers,
            "helplines": self.helplines,
            "platforms": self.platforms,
            "templates": self.templates,
        }
        table = tables.get(kind, {})
        if entry_id not in table:
            raise NotFound(f"No content entry {quoted(ref)}.")
        return table[entry_id]

    def advice_entry(self, ref: str) -> Advice:
        """An advice or law entry by citation ("advice/police", "law/uk-gdpr"); NotFound otherwise."""
        entry = self.cite(ref)
        if not isinstance(entry, Advice):
            raise NotFound(f"{quoted(ref)} is not an advice or law entry.")
        return entry

    def provider(self, name: str) -> Provider:
        """A provider by id, name or alias, case-insensitively; NotFound lists the known ones."""
        return _by_name(self.providers, name, "mobile network")

    def platform(self, name: str) -> Platform:
        """A platform by id, name or alias, case-insensitively; NotFound lists the known ones."""
        return _by_name(self.platforms, name, "platform")


def _key(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _by_name(entries: Mapping[str, Any], name: str, what: str) -> Any:
    wanted = _key(name)
    for entry in entries.values():
        if wanted and wanted in {_key(entry.id), _key(entry.name), *map(_key, entry.aliases)}:
            return entry
    known = ", ".join(e.name for e in entries.values())
    raise NotFound(f"I don't know the {what} {quoted(name.strip())}. Try one of: {known}.")

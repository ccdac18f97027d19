"""Takedown requests: a form per platform, and letters filled from the user's details or a report."""

from __future__ import annotations

import re

from bot.domain.content import (
    OPTIONAL_PLACEHOLDERS,
    ORGANISATION,
    TEMPLATE_PLACEHOLDERS,
    Content,
    Platform,
    Template,
)
from bot.domain.guidance import SAFEGUARDING, is_safeguarding
from bot.domain.org import Actor
from bot.domain.platform import STRICTEST
from bot.domain.report import PHONE_CHANNELS, Nature, Report, Want
from bot.domain.report_form import OTHER_CHANNELS, check_form
from bot.domain.ui import Answers, Card, Field, FieldErrors, FieldKind, Form, FormResult, Option, Reply, Section
from handlers.actions import Action
from handlers.services import Services

KNOWN_PERSON = "person"  # /takedown person: a letter asking someone you know to remove content
KNOWN_PERSON_TEMPLATE = "known-person-removal"
KNOWN_PERSON_PLACE = "social media"
IMPERSONATION_TEMPLATE = "impersonation-report"
PRIVACY_TEMPLATE = "privacy-complaint"
FORM_TITLE_LIMIT = STRICTEST.max_title  # a title every platform shows whole; a form takes its platform's
SELF = "self"
SENDERS = (
    Option(SELF, "Me: I am the person affected"),
    Option(ORGANISATION, "Someone writing for the organisation, on the person's behalf"),
)
KINDS = (
    Option("content", "Posts, comments or messages about the person affected"),
    Option("impersonation", "An account pretending to be the person affected"),
    Option("private", "Personal information or images of the person affected"),
)
CONSENT = (
    Option("yes", "Yes, they asked for it or agreed to it"),
    Option("no", "Not yet"),
)
AGREED = "They have agreed to this request."
ASKED_FOR_REMOVAL = "They have asked us to have it removed."
UNNAMED_NOTE = ("The letter does not name the person affected. Add their name only if they agree: some "
                "platforms act only for the person named.")


def takedown(services: Services, name: str, *, chat_platform: str = "") -> Form | Reply:
    """The takedown command: the list of platforms, or the form for one (its title fits the asker's chat platform)."""
    if not name.strip():
        return Reply(cards=(platforms_card(services),))
    if name.strip().casefold() == KNOWN_PERSON:
        return takedown_form(KNOWN_PERSON, "Ask someone to remove it")
    platform = services.content.platform(name)
    limit = services.capabilities_on(chat_platform).max_title
    return takedown_form(platform.id, form_title(f"Takedown: {platform.name}", platform.name, limit),
                         identify_by=platform.identify_by, platform_name=platform.name)


def form_title(title: str, fallback: str, limit: int = FORM_TITLE_LIMIT) -> str:
    """The title if it fits `limit` characters, else the fallback, else the fallback cut at a word."""
    for text in (title, fallback):
        if len(text) <= limit:
            return text
    words, kept = fallback.split(), ""
    for word in words:
        if len(f"{kept} {word}".strip()) > limit:
            break
        kept = f"{kept} {word}".strip()
    return kept or fallback[:limit]


def platforms_card(services: Services) -> Card:
    """Which platforms have takedown routes and templates."""
    names = ", ".join(p.id for p in services.content.platforms.values())
    return Card(
        title="Takedown requests",
        sections=(
            Section(body=f"Say which platform after {services.command('takedown')}: {names}."),
            Section(body=f"Or {services.command('takedown', KNOWN_PERSON)} for a letter asking someone you know "
                         "to remove what they posted."),
        ),
    )


def _where_field(target: str, identify_by: str, platform_name: str) -> Field:
    """Links where content has web addresses; otherwise what identifies it there."""
    if target == KNOWN_PERSON:
        return Field("urls", "Where is it?", FieldKind.PARAGRAPH, max_length=1500,
                     hint="Links, one per line; or, where it has no web address, the phone number, "
                          "group or account name.")
    if identify_by:
        return Field("urls", f"What identifies it on {platform_name}?", FieldKind.PARAGRAPH, max_length=1500,
                     hint=f"For example {identify_by}. One per line.")
    return Field("urls", "Links to the content", FieldKind.URLS)


def takedown_form(target: str, title: str, *, identify_by: str = "", platform_name: str = "") -> Form:
    """The details a takedown letter needs; the context holds the platform id only."""
    kind = () if target == KNOWN_PERSON else (Field("kind", "What is it?", FieldKind.SELECT, options=KINDS),)
    return Form(
        id=Action.TAKEDOWN_SUBMIT.value,
        title=title,
        submit_label="Make letter",
        intro="Take screenshots that show where it is, the date and the time **before** you report.",
        fields=(
            *kind,
            _where_field(target, identify_by, platform_name),
            Field("dates", "When was it posted or first seen?", FieldKind.TEXT, max_length=100,
                  placeholder="e.g. 3 and 5 November 2026, around 21:00"),
            Field("description", "What is the content? (brief and factual)", FieldKind.PARAGRAPH, max_length=1500),
            Field("sender", "Who is writing?", FieldKind.SELECT, options=SENDERS),
            Field("sender_name", "Your name", FieldKind.TEXT, max_length=100),
            Field("sender_role", "Your role, if writing for the organisation (e.g. Headteacher)", FieldKind.TEXT,
                  required=False, max_length=100),
            Field("affected_name", "Name of the person affected, if writing for the organisation", FieldKind.TEXT,
                  required=False, max_length=100, only_if=("sender", (ORGANISATION,))),
            Field("consent", "Has the person affected agreed to this request? (if writing for the organisation)",
                  FieldKind.SELECT, required=False, options=CONSENT, only_if=("sender", (ORGANISATION,))),
        ),
        context={"target": target},
    )


def _writer_errors(values: dict[str, object]) -> FieldErrors:
    """The answers that only make sense for one kind of writer."""
    if values.get("sender") == ORGANISATION:
        errors = {}
        if not values.get("affected_name"):
            errors["affected_name"] = "Name the person affected, or choose \"Me\" if it is you."
        if not values.get("consent"):
            errors["consent"] = "Say whether the person affected has agreed."
        return errors
    affected = str(values.get("affected_name") or "")
    if affected and affected.casefold() != str(values.get("sender_name") or "").casefold():
        return {"affected_name": "You chose \"Me\": leave this empty, or choose the organisation to write "
                                 "for someone else."}
    return {}


def submit_takedown(services: Services, actor: Actor, form: Form, answers: Answers) -> FormResult:
    """Check the details and return the filled letter with the platform's reporting route."""
    values, errors = check_form(form, answers, today=services.clock.now().date())
    errors |= _writer_errors({**answers, **values})
    if errors:
        return FormResult(errors=errors)
    target = form.context.get("target", "")
    on_behalf = values["sender"] == ORGANISATION
    where = values["urls"]
    fields = {
        "sender_name": values["sender_name"],
        "sender_role": values["sender_role"] or "" if on_behalf else "",
        "organisation": services.org.name,
        "affected_name": values["affected_name"] if on_behalf else "",
        "consent": AGREED if on_behalf and values["consent"] == "yes" else "",
        "urls": "\n".join(where) if isinstance(where, tuple) else _lines(str(where)),
        "dates": values["dates"],
        "description": values["description"],
    }
    content = services.content
    if target == KNOWN_PERSON:
        template, note = letter_template(content, KNOWN_PERSON_TEMPLATE, on_behalf)
        card = letter_card("Letter asking for removal", template, fields | {"platform": KNOWN_PERSON_PLACE},
                           _notes(note, on_behalf, values))
        return FormResult(reply=Reply(cards=(card,)))
    platform = content.platform(target)
    base = {"impersonation": IMPERSONATION_TEMPLATE, "private": PRIVACY_TEMPLATE}.get(values["kind"], platform.template)
    template, note = letter_template(content, base, on_behalf)
    if template.voice != ORGANISATION:
        fields["sender_name"] = values["affected_name"] if on_behalf else values["sender_name"]
    return FormResult(reply=Reply(cards=(platform_letter(content, platform, template, fields,
                                                         _notes(note, on_behalf, values)),)))


def _lines(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def _notes(note: str, on_behalf: bool, values: dict[str, object]) -> tuple[Section, ...]:
    sections = [Section(heading="Before you send it", body=note)] if note else []
    if on_behalf and values.get("consent") != "yes":
        sections.append(Section(heading="Ask first", body=(
            "The person affected has not agreed yet. Ask them before you send this: it is about them, and some "
            "platforms act only for the person affected.")))
    return tuple(sections)


def letter_template(content: Content, template_id: str, on_behalf: bool) -> tuple[Template, str]:
    """The letter in the writer's voice, and a note when only the person affected may send it."""
    template = content.templates[template_id]
    if not on_behalf:
        return template, ""
    if template.organisation_version:
        return content.templates[template.organisation_version], ""
    return template, ("Only the person affected can send this complaint, so it is written in their name for "
                      "them to send, with the organisation's support.")


def fill(template: Template, values: dict[str, str]) -> str:
    """The template filled; a line whose optional value is empty is left out, other gaps left as [brackets]."""
    lines = template.text.splitlines()
    for name in OPTIONAL_PLACEHOLDERS:
        if not values.get(name):
            lines = [line for line in lines if f"{{{name}}}" not in line]
    filled = {key: values.get(key) or f"[{key.replace('_', ' ')}]" for key in TEMPLATE_PLACEHOLDERS}
    text = "\n".join(lines).format_map(filled).strip()
    return re.sub(r"\n{3,}", "\n\n", text)  # a left-out line between paragraphs leaves one gap, not two


def letter_card(title: str, template: Template, values: dict[str, str], sections: tuple[Section, ...] = ()) -> Card:
    """A filled letter as plain text to copy, after any guidance sections."""
    return Card(
        title=title,
        summary=title,
        sections=(*sections, Section(heading="Your letter (check it, then copy it)", quote=fill(template, values))),
    )


def platform_letter(content: Content, platform: Platform, template: Template, values: dict[str, str],
                    notes: tuple[Section, ...] = ()) -> Card:
    """A platform's reporting route, what to include, its duties, and the filled letter."""
    values = {"platform": platform.name, "policy": platform.policy} | values
    include = "\n".join(f"- {item}" for item in platform.include)
    route = [
        Section(heading=f"How to report on {platform.name}", body=platform.how_to_report),
        Section(heading="Include", body=include),
    ]
    if platform.notes:
        route.append(Section(heading="Good to know", body=platform.notes))
    duties = content.law[PLATFORM_DUTIES]
    route.append(Section(heading=duties.title, body=duties.text))
    route.append(Section(body=f"[Report form or help page]({platform.report_url})"))
    return letter_card(f"Takedown request: {platform.name}", template, values, (*route, *notes))


PLATFORM_DUTIES = "online-safety-act-duties"


def letter_for_report(services: Services, report: Report, *, sender: Actor) -> Card:
    """A lead's letter for a report, written for the organisation, without the reporter's words or name."""
    content = services.content
    platform = content.platforms.get(report.where)
    if platform is None:
        return no_platform_card(services, report)
    base = IMPERSONATION_TEMPLATE if Nature.IMPERSONATION in report.natures else platform.template
    template, note = letter_template(content, base, on_behalf=True)
    if template.voice != ORGANISATION:
        return Card(title=f"Letter for {report.reference}", sections=(
            Section(heading=f"How to report on {platform.name}", body=platform.how_to_report),
            Section(heading="Only the person affected can send this", body=(
                f"{platform.name} takes this kind of complaint only from the person affected. Offer to help them "
                f"make the letter in their own name with {services.command('takedown', platform.id)}.")),
        ))
    asked = Want.REMOVED in report.wants
    values = {
        "sender_name": services.org.names.get(sender.id) or sender.name or "[your name]",
        "organisation": services.org.name,
        "consent": ASKED_FOR_REMOVAL if asked else "",
        "urls": "\n".join(report.urls) or "[the links to the content]",
        "dates": f"first seen {report.first_seen:%d %B %Y}; {_occasions(report.occasions)}",
        "description": _description(report),
        "reference": report.reference,
    }
    notes = [Section(heading="Before you send it", body=UNNAMED_NOTE)]
    if is_safeguarding(report):
        safeguarding = content.advice_entry(SAFEGUARDING)
        notes.insert(0, Section(heading="⚠️ " + safeguarding.title, body=safeguarding.text))
    if not asked:
        notes.append(Section(heading="Ask first", body=(
            "The reporter did not ask for the content to be taken down. Check with them before you send this.")))
    return platform_letter(content, platform, template, values, tuple(notes))


def _occasions(count: int) -> str:
    return "on one occasion" if count == 1 else f"on {count} occasions"


def _description(report: Report) -> str:
    natures = [label for nature, label in NATURE_WORDS.items() if nature in report.natures]
    if not natures:
        return "Content about a member of our staff that they find abusive."
    listed = natures[0] if len(natures) == 1 else ", ".join(natures[:-1]) + " and " + natures[-1]
    return f"Content about a member of our staff that is {listed}."


# How each nature reads in "content ... that is ___".
NATURE_WORDS = {
    Nature.THREATENING: "threatening",
    Nature.ABUSIVE: "abusive or insulting",
    Nature.SEXIST: "sexist",
    Nature.SEXUAL: "sexual",
    Nature.HATE_CRIME: "hateful (targeting who they are)",
    Nature.IMPERSONATION: "impersonating them",
    Nature.PRIVATE_INFO: "sharing their private information or images",
    Nature.FALSE_CLAIMS: "making false claims about them",
    Nature.CHILD_SEXUAL: "sexual and involves a child or young person",
}


def no_platform_card(services: Services, report: Report) -> Card:
    """What to do instead when a report is not about a platform (phone, text, email, elsewhere)."""
    content = services.content
    place = OTHER_CHANNELS.get(report.where, report.where)
    if report.where in PHONE_CHANNELS:
        advice = content.advice["phone-provider"]
        return Card(title=f"No letter for {report.reference}", sections=(
            Section(body=f"{place} are not a platform to write to: the account holder contacts the mobile network "
                     f"(see {services.command('hotlines')})."),
            Section(heading=advice.title, body=advice.text),
        ))
    advice = content.advice["organisation-takedown"]
    return Card(title=f"No letter for {report.reference}", sections=(
        Section(body=f"{place} has no takedown route here. If it is on a platform after all, make a letter with "
                     f"{services.command('takedown')} and the platform's name; if you know who posted it, "
                     f"{services.command('takedown', KNOWN_PERSON)} makes a letter asking them to remove it."),
        Section(heading=advice.title, body=advice.text),
    ))

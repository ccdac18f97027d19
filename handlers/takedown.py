"""Takedown requests: a form per platform, and letters filled from the user's details or a report."""

from __future__ import annotations

from bot.domain.content import TEMPLATE_PLACEHOLDERS, Platform, Template
from bot.domain.org import Actor
from bot.domain.report import Report
from bot.domain.report_form import NATURE_LABELS, check_form
from bot.domain.ui import Answers, Card, Field, FieldKind, Form, FormResult, Option, Reply, Section
from handlers.actions import Action
from handlers.services import Services

KNOWN_PERSON = "person"  # /takedown person: a letter asking someone you know to remove content
ON_BEHALF_TEMPLATE = "organisation-on-behalf"
KNOWN_PERSON_TEMPLATE = "known-person-removal"
SENDERS = (
    Option("self", "Me: I am the person affected"),
    Option("organisation", "The organisation, on behalf of the person affected"),
)


def takedown(services: Services, name: str) -> Form | Reply:
    """`/takedown [platform]`: the list of platforms, or the form for one of them."""
    if not name.strip():
        return Reply(cards=(platforms_card(services),))
    if name.strip().casefold() == KNOWN_PERSON:
        return takedown_form(KNOWN_PERSON, "Ask someone to remove content")
    platform = services.content.platform(name)
    # Form titles are kept to 24 characters: Slack's limit for a modal title, the tightest of the platforms.
    return takedown_form(platform.id, f"Takedown: {platform.name}"[:24])


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


def takedown_form(target: str, title: str) -> Form:
    """The details a takedown letter needs; the context holds the platform id only."""
    return Form(
        id=Action.TAKEDOWN_SUBMIT.value,
        title=title,
        submit_label="Make letter",
        intro="Take screenshots that show the web address, date and time **before** you report.",
        fields=(
            Field("urls", "Links to the content", FieldKind.URLS, hint="One per line."),
            Field("dates", "When was it posted or first seen?", FieldKind.TEXT, max_length=100,
                  placeholder="e.g. 3 and 5 November 2026, around 21:00"),
            Field("description", "What is the content? (brief and factual)", FieldKind.PARAGRAPH, max_length=1500),
            Field("sender", "Who is writing?", FieldKind.SELECT, options=SENDERS),
            Field("sender_name", "Your name", FieldKind.TEXT, max_length=100),
            Field("affected_name", "Name of the person affected, if not you", FieldKind.TEXT,
                  required=False, max_length=100),
        ),
        context={"target": target},
    )


def submit_takedown(services: Services, actor: Actor, form: Form, answers: Answers) -> FormResult:
    """Check the details and return the filled letter with the platform's reporting route."""
    values, errors = check_form(form, answers, today=services.clock.now().date())
    if errors:
        return FormResult(errors=errors)
    target = form.context.get("target", "")
    on_behalf = values["sender"] == "organisation"
    fields = {
        "sender_name": values["sender_name"],
        "sender_role": "writing on behalf of the organisation" if on_behalf else "the person affected",
        "organisation": services.org.name,
        "affected_name": values["affected_name"] or values["sender_name"],
        "urls": "\n".join(values["urls"]),
        "dates": values["dates"],
        "description": values["description"],
    }
    if target == KNOWN_PERSON:
        template = services.content.templates[KNOWN_PERSON_TEMPLATE]
        fields["platform"] = "social media"
        return FormResult(reply=Reply(cards=(letter_card("Letter asking for removal", template, fields),)))
    platform = services.content.platform(target)
    template_id = ON_BEHALF_TEMPLATE if on_behalf else platform.template
    return FormResult(reply=Reply(cards=(platform_letter(platform, services.content.templates[template_id], fields),)))


def fill(template: Template, values: dict[str, str]) -> str:
    """The template filled; a line naming an absent reference is dropped, other gaps left as [brackets]."""
    lines = template.text.splitlines()
    if not values.get("reference"):
        lines = [line for line in lines if "{reference}" not in line]
    filled = {key: values.get(key) or f"[{key.replace('_', ' ')}]" for key in TEMPLATE_PLACEHOLDERS}
    return "\n".join(lines).format_map(filled).strip()


def letter_card(title: str, template: Template, values: dict[str, str], sections: tuple[Section, ...] = ()) -> Card:
    """A filled letter as plain text to copy, after any guidance sections."""
    return Card(
        title=title,
        summary=title,
        sections=(*sections, Section(heading="Your letter (check it, then copy it)", quote=fill(template, values))),
    )


def platform_letter(platform: Platform, template: Template, values: dict[str, str]) -> Card:
    """A platform's reporting route, what to include, and the filled letter."""
    values = {"platform": platform.name, "policy": platform.policy} | values
    include = "\n".join(f"- {item}" for item in platform.include)
    route = [
        Section(heading=f"How to report on {platform.name}", body=platform.how_to_report),
        Section(heading="Include", body=include),
    ]
    if platform.notes:
        route.append(Section(heading="Good to know", body=platform.notes))
    if not platform.active:
        route.append(Section(body="**Check this service still operates before relying on this route.**"))
    if platform.report_url:
        route.append(Section(body=f"[Report form or help page]({platform.report_url})"))
    return letter_card(f"Takedown request: {platform.name}", template, values, tuple(route))


def letter_for_report(services: Services, report: Report, *, sender: Actor) -> Card:
    """A lead's letter for a report, prefilled without the reporter's own words."""
    content = services.content
    platform = content.platforms.get(report.where)
    natures = ", ".join(NATURE_LABELS[n].lower() for n in sorted(report.natures)) or "abusive"
    values = {
        "sender_name": sender.name or "[your name]",
        "sender_role": "writing on behalf of the organisation",
        "organisation": services.org.name,
        "affected_name": report.reporter_name if report.named_to_leads else "",
        "urls": "\n".join(report.urls),
        "dates": f"first seen {report.first_seen:%d %B %Y}; {report.occasions} occasion(s)",
        "description": f"content about a member of our staff that is {natures}",
        "reference": report.reference,
    }
    template = content.templates[ON_BEHALF_TEMPLATE]
    if platform is None:
        return letter_card(f"Letter for {report.reference}", template, values)
    return platform_letter(platform, template, values)


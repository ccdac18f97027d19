"""On-demand information: mobile-provider lines, the advice and checklist, helplines, help."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.content import Contact, Content, Provider
from bot.domain.markup import command
from bot.domain.ui import Button, Card, Fact, Reply, Section, Style
from handlers.actions import Action
from handlers.services import Services

# The leaflet's "if you are bullied online" advice, in the order staff need it.
BULLIED_ONLINE = ("never-retaliate", "save-evidence", "tell-manager", "report-to-platform", "police", "support")
HELPLINES = ("posh", "report-harmful-content", "police", "ceop")  # who can help, in the order to try them
FURTHER_READING = ("gov-uk-workplace-bullying", "childnet", "getsafeonline", "saferinternet")


def _facts(contacts: tuple[Contact, ...]) -> tuple[Fact, ...]:
    return tuple(Fact(c.label, c.value) for c in contacts)


def hotlines(services: Services, name: str = "") -> Reply:
    """The hotlines command: one network's nuisance-call route, or every network's."""
    content = services.content
    if not name.strip():
        return Reply(cards=(all_networks_card(content, example=services.command("hotlines", "o2")),))
    provider = content.provider(name)  # NotFound lists the known networks
    return Reply(cards=(provider_card(content, provider),))


def provider_card(content: Content, provider: Provider) -> Card:
    """Today's route for one network, with the leaflet's 2016 lines as history."""
    sections = []
    current = provider
    if provider.merged_into:
        current = content.providers[provider.merged_into]
        sections.append(Section(body=f"{provider.name} is now part of **{current.name}**. Use {current.name}'s route:"))
    sections += [
        Section(heading=f"{current.name}: nuisance and malicious calls", body=current.route, facts=_facts(current.contacts)),
        Section(heading="On any network", facts=_facts(content.any_network)),
    ]
    current_numbers = {c.value for c in current.contacts}
    history = tuple(c for c in provider.history_2016 if c.value not in current_numbers)
    if history:
        sections.append(
            Section(
                heading="History: the 2016 leaflet's other numbers",
                body="For reference only: they reached customer services, not abuse teams, and may no longer work.",
                facts=_facts(history),
            )
        )
    sections.append(Section(body="If calls or messages are threatening, call the police: **999** in an emergency, otherwise **101**."))
    return Card(title=f"{provider.name}: nuisance call lines", summary=f"{provider.name} nuisance call lines", sections=tuple(sections))


def all_networks_card(content: Content, *, example: str) -> Card:
    """Every current network's route in brief, and how to ask for one (`example`: the command, as markup)."""
    networks = [p for p in content.providers.values() if not p.merged_into]
    facts = tuple(Fact(p.name, "; ".join(f"{c.label}: {c.value}" for c in p.contacts)) for p in networks)
    return Card(
        title="Mobile networks: nuisance and malicious calls",
        sections=(
            Section(facts=facts),
            Section(heading="On any network", facts=_facts(content.any_network)),
            Section(body=f"Ask for one network for its full route, e.g. {example}. "
                         "The account holder has to contact the provider."),
        ),
    )


def staysafe(services: Services) -> Reply:
    """The staysafe command: what to do if you are bullied online, the safety checklist, and helplines."""
    content = services.content
    advice = tuple(Section(heading=content.advice[i].title, body=content.advice[i].text) for i in BULLIED_ONLINE)
    return Reply(
        cards=(
            Card(title="If you are bullied online", sections=advice,
                 buttons=(Button("Report it", Action.REPORT_OPEN, style=Style.PRIMARY),)),
            checklist_card(content),
            Card(title="Who can help", sections=_helpline_sections(content, HELPLINES)),
            Card(title="Further reading", sections=_helpline_sections(content, FURTHER_READING)),
        )
    )


def _helpline_sections(content: Content, ids: tuple[str, ...]) -> tuple[Section, ...]:
    return tuple(
        Section(heading=h.name, body=h.text, facts=_facts(h.contacts) + ((Fact("Hours", h.hours),) if h.hours else ()))
        for h in (content.helplines[i] for i in ids)
    )


def checklist_card(content: Content) -> Card:
    """The staff and volunteer safety checklist: what to do and what not to do."""
    return Card(
        title="Staff and volunteer safety checklist",
        sections=tuple(
            Section(heading=("✅ " if item.do else "❌ ") + item.title, body=item.text)
            for item in content.checklist.values()
        ),
    )


COMMAND_HELP = {  # command key -> what it does; {example} is the command with an argument
    "report": "file a confidential report (only the designated leads see it)",
    "myreports": "see your reports and their status",
    "hotlines": "mobile networks' nuisance-call lines, e.g. {example}",
    "takedown": "a takedown request for a platform, e.g. {example}",
    "staysafe": "what to do if you are bullied online, and the safety checklist",
    "help": "this list",
}
EXAMPLES = {"hotlines": "o2", "takedown": "facebook"}


def help_card(commands: Mapping[str, str], *, lead: bool = False, admin: bool = False) -> Reply:
    """The commands, under the names this organisation configured (command key -> name)."""
    def name(key: str, args: str = "") -> str:
        return command(commands.get(key, key), args)
    lines = [f"- {name(key)}: " + text.format(example=name(key, EXAMPLES.get(key, "")))
             for key, text in COMMAND_HELP.items()]
    sections = [Section(body="Everything you do here is private to you.\n" + "\n".join(lines))]
    if lead:
        sections.append(Section(heading="For designated leads", body=(
            "Open a case from its alert, or use the queue. Acknowledge, add internal notes, set the status, "
            "message the reporter and produce a takedown letter from the case. Place a legal hold to keep a "
            "closed case past the retention period.")))
    if admin:
        sections.append(Section(heading="For admins", body=(
            f"{name('reminders')} schedules awareness reminders to channels, with "
            "counts of who found them useful (never names).")))
    return Reply(cards=(Card(title="StaffSafe", sections=tuple(sections)),))

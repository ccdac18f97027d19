"""The home screen (Slack App Home, Teams personal tab): what each person can do, and for leads the queue."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.markup import command
from bot.domain.org import Actor
from bot.domain.platform import platform_of
from bot.domain.ui import Button, Card, Fact, Section, Style
from handlers.actions import Action
from handlers.cards import age, flags, my_reports_card, place_name, status_words
from handlers.info import checklist_card
from handlers.reminders import is_admin
from handlers.services import Services

def home_cards(services: Services, actor: Actor, commands: Mapping[str, str]) -> list[Card]:
    """Everything on a person's home screen, leads' queue first for leads."""
    cards = [_actions_card(commands)]
    if services.org.is_lead(actor.id):
        cards += lead_queue_cards(services, actor)
    if is_admin(services, actor):
        cards.append(Card(title="For admins", sections=(Section(body=(
            f"Schedule awareness reminders to channels with {command(commands['reminders'])}.")),),
            buttons=(Button("Awareness reminders", Action.REMINDERS),)))
    cards += [my_reports_card(services.store.reports_by_reporter(actor.id), services.org), checklist_card(services.content)]
    return cards


def _actions_card(commands: Mapping[str, str]) -> Card:
    return Card(
        title="StaffSafe",
        sections=(Section(body=(
            "Report online abuse in confidence, get help to have content taken down, and find the right "
            "numbers. Everything here is private to you. Commands: " +
            ", ".join(command(commands[key]) for key in ("report", "myreports", "hotlines", "takedown", "staysafe"))
        )),),
        buttons=(
            Button("Report cyberbullying", Action.REPORT_OPEN, style=Style.PRIMARY),
            Button("Takedown request", Action.INFO_TAKEDOWN),
            Button("Nuisance call lines", Action.INFO_HOTLINES),
            Button("Stay safe", Action.INFO_STAYSAFE),
            Button("Help", Action.INFO_HELP),
        ),
    )


def lead_queue_cards(services: Services, actor: Actor) -> list[Card]:
    """Open cases this lead may handle, oldest first, each with its buttons."""
    now = services.clock.now()
    # A lead may handle every open report but those about them (Organisation.may_handle).
    count = services.store.open_report_count(not_about=actor.id)
    cards = [Card(title=f"Open reports ({count})", sections=(
        Section(body="Oldest first. Details open privately and every view is recorded."
                if count else "No open reports."),))]
    shown = services.capabilities_on(platform_of(actor.id)).home_cases  # the rest are counted
    for report in services.store.open_reports(shown, not_about=actor.id):
        cards.append(Card(
            title=report.reference,
            sections=(Section(facts=(
                Fact("Status", status_words(report)),
                Fact("Age", age(report.created_at, now)),
                Fact("Where", place_name(services.content, report.where)),
                Fact("Flags", flags(report)),
            )),),
            buttons=(Button("View details", Action.CASE_VIEW, report.id, Style.PRIMARY),),
        ))
    if count > shown:
        hidden = count - shown
        cards.append(Card(title="More", sections=(Section(body=f"{hidden} more open reports, newer than these."),)))
    return cards

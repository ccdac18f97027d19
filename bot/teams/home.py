"""A home on Teams: a welcome card when a person installs the app, and `home` typed in the personal chat.

Teams has no App Home. The core's home screen (handlers/home.py: a person's reports and statuses, and
for leads the open queue oldest first with age and flags) comes as one Adaptive Card in the personal
chat, each part's buttons beside it. The card carries a Universal Actions `refresh`: whenever the person
looks at it, Teams asks the bot again (`adaptiveCard/action`, verb REFRESH, value HOME) and the bot
answers with the home as it is now, built on the server for whoever asked, so a lead's queue follows
cases as they move and a forwarded card shows nobody else's. Its Refresh button does the same by hand,
and typing `home` again sends a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.markup import command
from bot.domain.org import Actor, Organisation
from bot.domain.ui import Card, Section
from bot.teams.cards import (REFRESH, Element, Refresh, button_data, card_elements, command_buttons, message,
                             one_card, render_actions)
from bot.teams.commands import typed_command
from handlers.home import home_cards
from handlers.services import Services

HOME = "home"  # the command typed in the personal chat, and the value its card's refresh sends back
HOME_SUMMARY = "Your StaffSafe home"
WELCOME_SUMMARY = "Welcome to StaffSafe: report online abuse in confidence."


def is_home(text: str, commands: Mapping[str, str]) -> bool:
    """Whether the text typed is the `home` command on its own (a configured command of that name wins)."""
    return typed_command(text, {HOME: HOME, **commands}) == (HOME, "")


# --- the welcome ------------------------------------------------------------------------------------

def who_reads(org: Organisation) -> str:
    """Where a report goes and who sees it, in true words from app.yaml (how many leads, never who)."""
    people = len({org.names.get(lead) or lead for lead in org.leads | org.backup_leads})
    if not people:
        return ("No designated leads are set up yet, so nobody here could read a report. Please tell your line "
                "manager or HR, and ask an admin to name the leads.")
    counted = "1 person" if people == 1 else f"{people} people"
    return (f"A report goes privately to the designated leads ({counted}), and to no one else. They get a short "
            "alert without what you wrote; the details open only for them, and every view is recorded. A report "
            "about one of the leads never reaches that lead. You get its reference at once, and I tell you here "
            "as it moves.")


def welcome_card(services: Services, actor: Actor) -> Card:
    """The card sent once when a person installs the app: what it does, who sees a report, a button per command."""
    org, commands = services.org, services.commands
    lead = org.is_lead(actor.id)
    return Card(
        title="Welcome to StaffSafe",
        summary=WELCOME_SUMMARY,
        sections=(
            Section(body=f"I help staff at {org.name} deal with online abuse: report it in confidence, get help to "
                         "have content taken down, find mobile networks' nuisance-call lines and stay safe online. "
                         "What you do in this chat is private to you."),
            Section(heading="Where a report goes", body=who_reads(org)),
            Section(heading="Find your way", body=(
                f"Type {command(HOME)} to see your reports and where each one stands"
                + (", and the open reports waiting for the leads" if lead else "")
                + f", or {command(commands.get('help', 'help'))} for everything I can do.")),
        ),
        buttons=command_buttons(admin=org.is_admin(actor.id)),
    )


# --- the home card ----------------------------------------------------------------------------------

def home_card(services: Services, actor: Actor, *, viewer: str) -> Element:
    """The person's home as one Adaptive Card that refreshes for `viewer` (their Teams user id, "29:...")."""
    elements: list[Element] = []
    for card in home_cards(services, actor, services.commands):
        part = card_elements(card)
        if card.buttons:
            part.append({"type": "ActionSet", "actions": render_actions(card.buttons)})
        if elements and part:  # a line between the parts
            part[0] = {**part[0], "separator": True, "spacing": "Large"}
        elements += part
    again = {"type": "Action.Execute", "title": "Refresh", "verb": REFRESH, "data": button_data(REFRESH, HOME)}
    return one_card(elements, [again], refresh=Refresh(value=HOME, user_ids=(viewer,) if viewer else ()),
                    fallback_text=HOME_SUMMARY)


def home_message(services: Services, actor: Actor, *, viewer: str) -> dict[str, Any]:
    """The home as a message for the personal chat."""
    return message(home_card(services, actor, viewer=viewer), summary_text=HOME_SUMMARY)

"""Buttons that open forms: Teams opens a dialog only from a card button, never from a typed command."""

from __future__ import annotations

from bot.domain.ui import Button, Card, Form, Section
from handlers.routes import COMMANDS, ROUTES, button_context


def opener_card(form: Form, action: str, value: str = "") -> Card:
    """A card whose button opens `form` as a dialog (Teams opens dialogs from card buttons only).

    `value` is the button's value, or a command's words (`pressed_context` reads either back).
    """
    return Card(title=form.title, summary=form.title,
                sections=(Section(body=form.intro),) if form.intro else (),
                buttons=(Button("Open the form", action, value),))


def pressed_context(action: str, value: str) -> dict[str, str]:
    """The context a pressed button gives its route; for a command's form, its words (the value)."""
    route = ROUTES[action]
    if route.key or not value:
        return button_context(route, value)
    command = next((c for c in COMMANDS.values() if c.route == action and c.words), None)
    return {command.words: value} if command else {}

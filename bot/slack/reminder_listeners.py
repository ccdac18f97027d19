"""How awareness reminders' answers show on Slack: the admins' list as one modal, refreshed in place.

The routes themselves are the core's (handlers/routes.py). Admin checks ask Slack (users.info), so the
reminders command acks at once and its list follows in a lazy listener; forms are saved in their ack,
as every form is, with the admin and channels checked there from the directory's cache.
"""

from __future__ import annotations

from typing import Any

from bot.domain.ui import Reply
from bot.slack.payloads import Body, actor_of
from bot.slack.transport import Present, SlackTransport
from bot.slack.views import done_modal, open_or_push
from handlers import reminders
from handlers.actions import Action
from handlers.services import Services

LIST_VIEW = "reminder.list_view"  # the list modal's callback id, so a button in it refreshes it in place


def reminder_presenters(services: Services, transport: SlackTransport) -> dict[str, Present]:
    """How each reminder route's answer is shown, where it differs from a plain modal."""

    def show_list(body: Body, client: Any, respond: Any, reply: Reply) -> None:
        modal = done_modal("Reminders", reply) | {"callback_id": LIST_VIEW}
        view = body.get("view") or {}
        if view.get("id") and view.get("callback_id") == LIST_VIEW:
            client.views_update(view_id=view["id"], view=modal)  # refresh the list in place
        else:
            open_or_push(client, body, modal)

    def then_list(body: Body, client: Any, respond: Any, reply: Reply) -> None:
        """An admin's action on a reminder: the outbox woken, then the list with what was done above it."""
        transport.wake_outbox()
        listed = reminders.list_reminders(services, actor_of(body))
        show_list(body, client, respond, Reply(text=reply.text, cards=listed.cards))

    def preview(body: Body, client: Any, respond: Any, reply: Reply) -> None:
        open_or_push(client, body, done_modal("Preview", reply))

    return {
        Action.REMINDERS: show_list,
        Action.REMINDER_SEND_NOW: then_list,
        Action.REMINDER_PAUSE: then_list,
        Action.REMINDER_RESUME: then_list,
        Action.REMINDER_PREVIEW: preview,
    }

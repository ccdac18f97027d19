"""Bolt listeners for awareness reminders: the admins' command, list and form, and the staff's buttons.

Admin checks ask Slack (users.info), so the command acks at once and everything runs in lazy
listeners; the form is saved in its ack, as every form is, with the admin and channels checked
there from the directory's cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from bot.domain.reminder import PressKind
from bot.domain.ui import Reply
from bot.slack.forms import render_modal
from bot.slack.payloads import Body, ack_only, actor_of, button_value
from bot.slack.views import done_modal, open_or_push
from handlers import reminders
from handlers.actions import Action

if TYPE_CHECKING:
    from bot.slack.listeners import SlackListeners

LIST_VIEW = "reminder.list_view"  # the list modal's callback id, so a button in it refreshes it in place


def configure_reminders(app: App, listeners: SlackListeners, command: str) -> None:
    """Attach the reminder command, buttons and forms."""
    s = listeners.services

    def show_list(body: Body, client: Any, respond: Any = None, note: str = "", **_: Any) -> None:
        reply = reminders.list_reminders(s, actor_of(body))
        modal = done_modal("Reminders", Reply(text=note, cards=reply.cards)) | {"callback_id": LIST_VIEW}
        view = body.get("view") or {}
        if view.get("id") and view.get("callback_id") == LIST_VIEW:
            client.views_update(view_id=view["id"], view=modal)  # refresh the list in place
        else:
            open_or_push(client, body, modal)

    def open_editor(body: Body, client: Any, **_: Any) -> None:
        form, initial = reminders.reminder_editor(s, actor_of(body), button_value(body))
        open_or_push(client, body, render_modal(form, initial=initial))

    def act(run: Callable[..., Reply]) -> Callable[..., None]:
        def on_press(body: Body, client: Any, respond: Any = None, **_: Any) -> None:
            reply = run(s, actor_of(body), button_value(body))
            listeners.wake_outbox()
            show_list(body, client, respond, note=reply.text)
        return on_press

    def preview(body: Body, client: Any, **_: Any) -> None:
        open_or_push(client, body, done_modal("Preview", reminders.preview(s, actor_of(body), button_value(body))))

    def confirm_delete(body: Body, client: Any, **_: Any) -> None:
        open_or_push(client, body, render_modal(reminders.delete_form(s, actor_of(body), button_value(body))))

    def pressed(kind: PressKind) -> Callable[..., None]:
        def on_press(body: Body, client: Any, respond: Any = None, **_: Any) -> None:
            listeners.tell(body, client, respond, reminders.press(s, actor_of(body), button_value(body), kind))
        return on_press

    app.command(f"/{command}")(ack=ack_only, lazy=[listeners.lazy(show_list)])
    for action, run in {
        Action.REMINDERS: show_list,
        Action.REMINDER_NEW: open_editor,
        Action.REMINDER_EDIT: open_editor,
        Action.REMINDER_PREVIEW: preview,
        Action.REMINDER_SEND_NOW: act(reminders.send_reminder_now),
        Action.REMINDER_PAUSE: act(reminders.pause),
        Action.REMINDER_RESUME: act(reminders.resume),
        Action.REMINDER_DELETE: confirm_delete,
        Action.REMINDER_DONE: pressed(PressKind.DONE),
        Action.REMINDER_HOW: pressed(PressKind.HOW),
    }.items():
        app.action(action.value)(ack=ack_only, lazy=[listeners.lazy(run)])


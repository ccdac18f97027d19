"""Bolt listeners, registered from the core's route table: Slack payloads in, answers in time.

The app runs with `process_before_response=True`: each ack function runs in the request thread and
its answer is the HTTP response, so a report is committed before Slack hears back. Anything that
calls Slack (opening modals, ephemeral answers, App Home) runs afterwards in a lazy listener, and
posts about reports go through the outbox worker only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext

from bot.domain.platform import local_id
from bot.domain.report_form import FORM_ID
from bot.domain.ui import Field, FieldKind, Form, FormResult, Reply
from bot.slack.blocks import escape, render_home, render_reply
from bot.slack.forms import answers_from_state, field_errors, form_context, render_modal
from bot.slack.payloads import Body, ack_only, actor_of, button_value, submission_key
from bot.slack.reminder_listeners import reminder_presenters
from bot.slack.submissions import view_state
from bot.slack.transport import LETTER, Present, SlackTransport, friendly
from bot.slack.views import card_modal, done_modal, open_or_push
from handlers import home
from handlers.actions import Action
from handlers.routes import COMMANDS, FORMS_ONLY, ROUTES, SUBMISSION, Command, Route, button_context, command_context
from handlers.services import Services

# Buttons whose answer is told where the button was (ephemerally) rather than shown in a modal.
TOLD = frozenset({Action.MY_REPORTS, Action.CASE_HOLD, Action.CASE_HOLD_LIFT, Action.CASE_EXPORT,
                  Action.REMINDER_DONE, Action.REMINDER_HOW})
# Commands whose route may ask Slack (is this an admin?): they ack at once and answer after.
AFTER_ACK = frozenset({"reminders"})


@dataclass(kw_only=True)
class SlackListeners:
    """Registers every route (buttons, forms, commands) and the App Home event on a Bolt app."""

    services: Services
    commands: dict[str, str]
    transport: SlackTransport

    def configure(self, app: App) -> None:
        """Attach the listeners."""
        t = self.transport
        # Form submissions first: Bolt tries listeners in order, and the report form is the hot path.
        forms = sorted((str(i) for i, r in ROUTES.items() if r.submit), key=lambda i: i != FORM_ID)
        for form_id in forms:
            if form_id != Action.TAKEDOWN_SUBMIT:
                app.view(form_id)(self._submit(form_id, ROUTES[form_id]))
        app.view(Action.TAKEDOWN_SUBMIT.value)(ack=self._takedown_submit, lazy=[t.lazy(t.send_letter)])
        for key, command in COMMANDS.items():
            if key in AFTER_ACK:
                app.command(f"/{self.commands[key]}")(ack=ack_only, lazy=[t.lazy(self._after_ack(command))])
            else:
                app.command(f"/{self.commands[key]}")(ack=self._command_ack(key), lazy=[t.lazy(t.after_ack)])
        for action in (str(i) for i in ROUTES if i not in FORMS_ONLY):
            app.action(action)(ack=ack_only, lazy=[t.lazy(self._press(action))])
        app.event("app_home_opened")(ack=ack_only, lazy=[t.lazy(self._publish_home)])

    # --- commands: answered inside the ack where they can be ---------------------------------

    def _command_ack(self, key: str) -> Callable[..., None]:
        command = COMMANDS[key]
        route = ROUTES[command.route]

        def ack_command(ack: Callable[..., None], body: Body, context: BoltContext) -> None:
            try:
                outcome = route.open(self.services, actor_of(body), command_context(command, body.get("text", "")))
                if isinstance(outcome, Form):
                    self.transport.prepare_view(context, render_modal(outcome))
                    ack()  # the modal opens right after, within the trigger's 3 seconds
                else:
                    self.transport.ack_reply(ack, outcome, context)
            except Exception as error:  # noqa: BLE001 - one place turns errors into friendly text
                # Escaped: the message may quote what was typed after the command.
                ack(text=escape(friendly(error, f"{key} command")), response_type="ephemeral")
        ack_command.__name__ = f"ack_{key}"
        return ack_command

    # --- buttons ----------------------------------------------------------------------------

    def _after_ack(self, command: Command) -> Callable[..., None]:
        """A command answered after its ack; words it does not take are refused (the lazy wrapper says so)."""
        press = self._press(command.route, "")

        def run_command(body: Body, **rest: Any) -> None:
            command_context(command, str(body.get("text") or ""))
            press(body=body, **rest)
        run_command.__name__ = press.__name__
        return run_command

    def _press(self, action: str, value: str | None = None) -> Callable[..., None]:
        """A button's (or a command's) route, opened after the ack, its outcome shown the Slack way."""
        route = ROUTES[action]
        present = reminder_presenters(self.services, self.transport).get(action, self._show(action))

        def on_press(body: Body, client: Any, respond: Any = None, **_: Any) -> None:
            context = button_context(route, button_value(body) if value is None else value)
            present(body, client, respond, route.open(self.services, actor_of(body), context))
        on_press.__name__ = action
        return on_press

    def _show(self, action: str) -> Present:
        def show(body: Body, client: Any, respond: Any, outcome: Form | Reply) -> None:
            if isinstance(outcome, Form):
                open_or_push(client, body, render_modal(outcome))
            elif action in TOLD:
                self.transport.tell(body, client, respond, outcome, wake=True)
            else:
                open_or_push(client, body, card_modal(*outcome.cards))
        return show

    # --- forms ------------------------------------------------------------------------------

    def _submit(self, form_id: str, route: Route) -> Callable[..., None]:
        def on_submit(ack: Callable[..., None], body: Body) -> None:
            view = body.get("view") or {}
            try:
                result = self._submitted(route, body)
            except Exception as error:  # noqa: BLE001 - nothing was saved; say so, without details
                ack(response_action="update", view=done_modal("StaffSafe", Reply.say(friendly(error, form_id))))
                return
            if result.next is not None:
                ack(response_action="update", view=render_modal(result.next))
            elif not result.ok:
                ack(**field_errors(result.errors, _form_for_errors(view)))
            else:
                ack(response_action="update", view=done_modal("Done", result.reply or Reply.say("Done.")))
                self.transport.wake_outbox()  # stored already: the worker delivers what it queued
        return on_submit

    def _submitted(self, route: Route, body: Body) -> FormResult:
        view = body.get("view") or {}
        assert route.submit is not None
        # The submission's identity comes from Slack (view id and hash), never from the form's own context.
        context = form_context(view) | {SUBMISSION: submission_key(view)}
        return route.submit(self.services, actor_of(body), context,
                            lambda form: answers_from_state(form, view_state(view)))

    def _takedown_submit(self, ack: Callable[..., None], body: Body, context: BoltContext) -> None:
        try:
            result = self._submitted(ROUTES[Action.TAKEDOWN_SUBMIT], body)
        except Exception as error:  # noqa: BLE001
            ack(response_action="update", view=done_modal("StaffSafe", Reply.say(friendly(error, "takedown form"))))
            return
        if not result.ok:
            ack(**field_errors(result.errors, _form_for_errors(body.get("view") or {})))
            return
        # The letter shows at once in the modal; the DM after the ack is a copy to keep.
        letter = result.reply or Reply()
        context[LETTER] = self.transport.handoff.put(render_reply(letter))
        ack(response_action="update", view=done_modal("Letter ready", Reply(
            text="A copy is in your messages from StaffSafe.", cards=letter.cards)))

    # --- App Home ---------------------------------------------------------------------------

    def _publish_home(self, body: Body, client: Any, **_: Any) -> None:
        event = body.get("event") or {}
        if event.get("tab", "home") != "home":
            return
        actor = actor_of(body)
        cards = home.home_cards(self.services, actor, self.commands)
        client.views_publish(user_id=local_id(actor.id), view={"type": "home", "blocks": render_home(cards)})


def _form_for_errors(view: Body) -> Form:
    """A stand-in form naming the submitted blocks, so field errors land beside the right inputs."""
    blocks = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input" and b.get("block_id")]
    return Form(id=str(view.get("callback_id", "")), title="", submit_label="",
                fields=tuple(Field(str(b), "", FieldKind.TEXT) for b in blocks))

"""Bolt listeners: translate Slack payloads into handler calls and answer in time.

The app runs with `process_before_response=True`: each ack function runs in the request thread and
its answer is the HTTP response, so a report is committed before Slack hears back. Anything that
calls Slack (opening modals, ephemeral answers, App Home) runs afterwards in a lazy listener, and
posts about reports go through the outbox worker only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltContext

from bot.domain.errors import StaffSafeError, user_message
from bot.domain.org import Actor
from bot.domain.ui import Field, FieldKind, Form, FormResult, Reply
from bot.incidents import log_incident
from bot.slack.blocks import render_home, render_reply
from bot.slack.forms import answers_from_state, field_errors, form_context, render_modal
from bot.slack.handoff import Handoff
from bot.slack.payloads import ack_only, actor_of, button_value
from bot.slack.reminder_listeners import configure_reminders
from bot.slack.submissions import Body, form_submitters, view_state
from bot.slack.views import card_modal, done_modal, open_or_push
from handlers import export, forms, home, info, leads, reports, takedown
from handlers.actions import Action
from handlers.services import Services

log = logging.getLogger(__name__)


def friendly(error: Exception, where: str) -> str:
    """What the user sees for an error: our own message, or an incident id (never exception text)."""
    if isinstance(error, StaffSafeError):
        return user_message(error)
    return f"Sorry, something went wrong. Please try again; if it keeps happening, quote incident {log_incident(log, where, error)}."


@dataclass(kw_only=True)
class SlackListeners:
    """Registers every command, button, form and event on a Bolt app."""

    services: Services
    commands: dict[str, str]
    wake_outbox: Callable[[], None]
    handoff: Handoff = field(default_factory=Handoff)

    def configure(self, app: App) -> None:
        """Attach the listeners."""
        c = self.commands
        # Form submissions first: Bolt tries listeners in order, and the report form is the hot path.
        for form_id, submit in form_submitters(self.services).items():
            app.view(form_id)(self._submit(form_id, submit))
        after_ack = [self.lazy(_after_ack(self.handoff))]
        app.command(f"/{c['report']}")(ack=self._report_ack, lazy=after_ack)
        for key, answer in {
            "hotlines": lambda body: info.hotlines(self.services, body.get("text", "")),
            "staysafe": lambda body: info.staysafe(self.services),
            "myreports": lambda body: reports.my_reports(self.services, actor_of(body)),
            "help": lambda body: self._help(actor_of(body)),
        }.items():
            app.command(f"/{c[key]}")(ack=self._reply_ack(answer), lazy=after_ack)
        app.command(f"/{c['takedown']}")(ack=self._takedown_ack, lazy=after_ack)
        for action, run in self._button_table().items():
            app.action(action.value)(ack=ack_only, lazy=[self.lazy(run)])
        app.view(Action.TAKEDOWN_SUBMIT.value)(ack=self._takedown_submit, lazy=[self.lazy(_send_letter(self.handoff))])
        app.view(Action.INFO_TAKEDOWN.value)(self._takedown_pick)
        app.event("app_home_opened")(ack=ack_only, lazy=[self.lazy(self._publish_home)])
        configure_reminders(app, self, c["reminders"])

    # --- commands -------------------------------------------------------------------------

    def _reply_ack(self, answer: Callable[[Body], Reply]) -> Callable[..., None]:
        def ack_reply(ack: Callable[..., None], body: Body, context: BoltContext) -> None:
            try:
                _ack_reply(ack, answer(body), context, self.handoff)
            except Exception as error:  # noqa: BLE001 - one place turns errors into friendly text
                ack(text=friendly(error, "slash command"), response_type="ephemeral")
        return ack_reply

    def _help(self, actor: Actor) -> Reply:
        # app.yaml's admins only: /help answers inside its ack, with no time to ask Slack about the person.
        return info.help_card(self.commands, lead=self.services.org.is_lead(actor.id),
                              admin=self.services.org.is_admin(actor.id))

    def _open_report(self, body: Body, client: Any, **_: Any) -> None:
        open_or_push(client, body, render_modal(reports.open_report_form(self.services)))

    def _report_ack(self, ack: Callable[..., None], context: BoltContext) -> None:
        context[PREPARED_VIEW] = self.handoff.put(render_modal(reports.open_report_form(self.services)))
        ack()  # the modal opens right after, within the trigger's 3 seconds

    def _takedown_ack(self, ack: Callable[..., None], body: Body, context: BoltContext) -> None:
        try:
            outcome = takedown.takedown(self.services, body.get("text", ""))
        except Exception as error:  # noqa: BLE001
            ack(text=friendly(error, "takedown command"), response_type="ephemeral")
            return
        if isinstance(outcome, Form):
            context[PREPARED_VIEW] = self.handoff.put(render_modal(outcome))
            ack()
            return
        _ack_reply(ack, outcome, context, self.handoff)

    # --- buttons ----------------------------------------------------------------------------

    def _button_table(self) -> dict[Action, Callable[..., None]]:
        s = self.services

        def case_form(action: Action, build: Callable[..., Form]) -> Callable[..., None]:
            def open_form(body: Body, client: Any, **_: Any) -> None:
                report = leads.find_case(s, actor_of(body), button_value(body), action.value)  # refusals audited
                open_or_push(client, body, render_modal(build(report)))
            return open_form

        return {
            Action.REPORT_OPEN: self._open_report,
            Action.MY_REPORTS: lambda body, client, respond, **_: self.tell(
                body, client, respond, reports.my_reports(s, actor_of(body))),
            Action.REPORTER_REPLY: lambda body, client, **_: open_or_push(
                client, body, render_modal(forms.reply_form(reports.own_report(s, actor_of(body), button_value(body))))),
            Action.REPORT_WITHDRAW: lambda body, client, **_: open_or_push(
                client, body, render_modal(forms.withdraw_form(reports.own_report(s, actor_of(body), button_value(body))))),
            Action.CASE_VIEW: lambda body, client, **_: open_or_push(
                client, body, card_modal(leads.view_case(s, actor_of(body), button_value(body)))),
            Action.CASE_ACK: case_form(Action.CASE_ACK, forms.ack_form),
            Action.CASE_NOTE: case_form(Action.CASE_NOTE, forms.note_form),
            Action.CASE_STATUS: case_form(Action.CASE_STATUS, forms.status_form),
            Action.CASE_MESSAGE: case_form(Action.CASE_MESSAGE, forms.message_form),
            Action.CASE_LETTER: lambda body, client, **_: open_or_push(
                client, body, card_modal(*leads.takedown_letter(s, actor_of(body), button_value(body)).cards)),
            Action.CASE_HOLD: lambda body, client, respond, **_: self.tell(
                body, client, respond, leads.set_legal_hold(s, actor_of(body), button_value(body))),
            Action.CASE_HOLD_LIFT: lambda body, client, respond, **_: self.tell(
                body, client, respond, leads.set_legal_hold(s, actor_of(body), button_value(body), held=False)),
            Action.CASE_EXPORT: lambda body, client, respond, **_: self.tell(
                body, client, respond, export.request_export(s, actor_of(body), button_value(body)), wake=True),
            Action.INFO_HOTLINES: lambda body, client, **_: open_or_push(
                client, body, card_modal(*info.hotlines(s).cards)),
            Action.INFO_STAYSAFE: lambda body, client, **_: open_or_push(
                client, body, card_modal(*info.staysafe(s).cards)),
            Action.INFO_HELP: lambda body, client, **_: open_or_push(
                client, body, card_modal(*self._help(actor_of(body)).cards)),
            Action.INFO_TAKEDOWN: lambda body, client, **_: open_or_push(
                client, body, render_modal(forms.takedown_pick_form(s.content))),
        }

    def tell(self, body: Body, client: Any, respond: Any, reply: Reply, *, wake: bool = False) -> None:
        """Answer privately: ephemerally where the button was, else in a modal."""
        if wake:
            self.wake_outbox()
        if body.get("response_url") and respond is not None:
            for text, blocks in render_reply(reply):
                respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        elif body.get("trigger_id"):
            open_or_push(client, body, done_modal("StaffSafe", reply))

    # --- forms ------------------------------------------------------------------------------

    def _submit(self, form_id: str, submit: Callable[[Actor, Body], FormResult]) -> Callable[..., None]:
        def on_submit(ack: Callable[..., None], body: Body) -> None:
            view = body.get("view") or {}
            try:
                result = submit(actor_of(body), view)
            except Exception as error:  # noqa: BLE001 - nothing was saved; say so, without details
                ack(response_action="update", view=done_modal("StaffSafe", Reply.say(friendly(error, form_id))))
                return
            if not result.ok:
                ack(**field_errors(result.errors, _form_for_errors(view)))
                return
            ack(response_action="update", view=done_modal("Done", result.reply or Reply.say("Done.")))
            self.wake_outbox()  # stored already: the worker delivers what it queued
        return on_submit

    def _takedown_form(self, view: Body) -> Form:
        outcome = takedown.takedown(self.services, form_context(view).get("target", ""))
        if not isinstance(outcome, Form):
            raise StaffSafeError("Please start again with the takedown command.")
        return outcome

    def _takedown_submit(self, ack: Callable[..., None], body: Body, context: BoltContext) -> None:
        try:
            form = self._takedown_form(body.get("view") or {})
            result = takedown.submit_takedown(self.services, actor_of(body), form, answers_from_state(form, view_state(body["view"])))
        except Exception as error:  # noqa: BLE001
            ack(response_action="update", view=done_modal("StaffSafe", Reply.say(friendly(error, "takedown form"))))
            return
        if not result.ok:
            ack(**field_errors(result.errors, form))
            return
        # The letter shows at once in the modal; the DM after the ack is a copy to keep.
        letter = result.reply or Reply()
        context[LETTER] = self.handoff.put(render_reply(letter))
        ack(response_action="update", view=done_modal("Letter ready", Reply(
            text="A copy is in your messages from StaffSafe.", cards=letter.cards)))

    def _takedown_pick(self, ack: Callable[..., None], body: Body) -> None:
        form = forms.takedown_pick_form(self.services.content)
        target = answers_from_state(form, view_state(body.get("view") or {})).get("target")
        try:
            outcome = takedown.takedown(self.services, str(target or ""))
        except StaffSafeError as error:
            ack(response_action="errors", errors={"target": user_message(error)[:150]})
            return
        if isinstance(outcome, Form):
            ack(response_action="update", view=render_modal(outcome))
        else:
            ack(response_action="errors", errors={"target": "Please choose where the content is."})

    # --- App Home ---------------------------------------------------------------------------

    def _publish_home(self, body: Body, client: Any, **_: Any) -> None:
        event = body.get("event") or {}
        if event.get("tab", "home") != "home":
            return
        actor = actor_of(body)
        cards = home.home_cards(self.services, actor, self.commands)
        client.views_publish(user_id=actor.id.removeprefix("slack:"), view={"type": "home", "blocks": render_home(cards)})

    def lazy(self, run: Callable[..., None]) -> Callable[..., None]:
        """A lazy listener that never lets an error escape to Bolt (whose logs could carry payloads)."""
        def lazy(body: Body, client: Any, context: BoltContext, respond: Any = None, **_: Any) -> None:
            try:
                run(body=body, client=client, respond=respond, context=context)
            except Exception as error:  # noqa: BLE001 - one place for errors after the ack
                try:
                    self.tell(body, client, respond, Reply.say(friendly(error, getattr(run, "__name__", "action"))))
                except Exception as second:  # noqa: BLE001 - Slack itself may be down; the log has the id
                    log_incident(log, "telling the user about an error", second)
        lazy.__name__ = getattr(run, "__name__", "lazy")
        return lazy


def _ack_reply(ack: Callable[..., None], reply: Reply, context: BoltContext, handoff: Handoff) -> None:
    """Answer a command in its ack, privately; what does not fit one message follows by response URL."""
    messages = render_reply(reply) or [("Done.", [])]
    text, blocks = messages[0]
    ack(text=text, blocks=blocks, response_type="ephemeral")
    if messages[1:]:
        context[FOLLOW_UPS] = handoff.put(messages[1:])


# What an ack prepared for the lazy listener that follows it: tokens in Bolt's context (copied into the
# lazy listener's request after the ack has run) for values in the Handoff, so nothing is worked out twice.
PREPARED_VIEW = "staffsafe_view"  # a modal to open
FOLLOW_UPS = "staffsafe_follow_ups"  # messages that did not fit in the ack
LETTER = "staffsafe_letter"  # a takedown letter: the user's own words, DMed to them and never stored


def _after_ack(handoff: Handoff) -> Callable[..., None]:
    def after_ack(body: Body, client: Any, respond: Any, context: BoltContext, **_: Any) -> None:
        """Open the modal the ack prepared, and send what did not fit in it."""
        view = handoff.take(context.get(PREPARED_VIEW))
        if view:
            open_or_push(client, body, view)
        for text, blocks in handoff.take(context.get(FOLLOW_UPS)) or ():
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
    return after_ack


def _send_letter(handoff: Handoff) -> Callable[..., None]:
    def send_letter(body: Body, client: Any, context: BoltContext, **_: Any) -> None:
        """DM the user a copy of the letter the modal already shows."""
        user = actor_of(body).id.removeprefix("slack:")
        for text, blocks in handoff.take(context.get(LETTER)) or ():
            client.chat_postMessage(channel=user, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
    return send_letter


def _form_for_errors(view: Body) -> Form:
    """A stand-in form naming the submitted blocks, so field errors land beside the right inputs."""
    blocks = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input" and b.get("block_id")]
    return Form(id=str(view.get("callback_id", "")), title="", submit_label="",
                fields=tuple(Field(str(b), "", FieldKind.TEXT) for b in blocks))


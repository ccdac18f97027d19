"""Invokes: dialogs (task/fetch, task/submit) and Universal Actions (adaptiveCard/action), answered in time.

Every invoke runs its route from handlers/routes.py in the request thread (the core's work is a few
store reads and at most one commit, well inside Teams' few seconds) and answers in the HTTP body; what
must reach other people is queued in the outbox, which is woken once the answer is ready. Forms open
as dialogs; a form's answers are checked on the server, and on errors the same dialog comes back with
the answers kept and each error under its field.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.markup import plain
from bot.domain.org import Actor
from bot.domain.report_form import FORM_ID
from bot.domain.ui import Form, Reply
from bot.teams import standin_cards as cards
from bot.teams.activity import Activity
from bot.teams.exports import ExportOffers
from bot.teams.outbound import ChatReplies, card_activity
from bot.teams.openers import opener_card, pressed_context
from bot.teams.transport import friendly, no_person
from handlers.routes import ROUTES, SUBMISSION, Route
from handlers.services import Services

log = logging.getLogger(__name__)

Json = dict[str, Any]
MESSAGE = "application/vnd.microsoft.activity.message"
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
# Said in the dialog that confirms a report: Adaptive Cards have no file input, so screenshots come after.
SCREENSHOTS_AFTER = ("Screenshots: send them to me in this chat within {minutes} minutes (or later, with "
                     "{reference} in the message) and I will add them to your report. Only the designated "
                     "leads can see them.")


@dataclass(kw_only=True)
class Invokes:
    """Answers task/fetch, task/submit and adaptiveCard/action invokes."""

    services: Services
    replies: ChatReplies
    wake_outbox: Callable[[], None]
    exports: ExportOffers
    screenshot_minutes: int

    def handle(self, activity: Activity) -> tuple[int, Json]:
        """The HTTP answer to one invoke."""
        if activity.name == "adaptiveCard/action":
            return 200, self._execute(activity)
        if activity.name in ("task/fetch", "task/submit"):
            return 200, self._dialog(activity)
        if activity.name == "fileConsent/invoke" and activity.from_aad:
            return 200, self.exports.answer(activity, self.replies)
        return 200, {}  # other invokes (sign-in, message extensions) are not used by this app

    def failed(self, activity: Activity, text: str) -> Json:
        """An invoke's answer when it could not be done: the text, where the person is looking."""
        if activity.name == "adaptiveCard/action":
            return {"statusCode": 200, "type": MESSAGE, "value": text}
        return cards.task_message(text)

    # --- dialogs ----------------------------------------------------------------------------------

    def _dialog(self, activity: Activity) -> Json:
        if not activity.from_aad:
            return cards.task_message(no_person())
        data = _data(activity.value)
        actor = activity.actor()
        try:
            form_id, context, submission = cards.form_submission(data)
            if form_id:
                return self._submitted(activity, actor, form_id, context, submission, data)
            action, value = cards.pressed(data)
            route = ROUTES.get(action)
            if route is None or route.open is None:
                return cards.task_message("That button no longer works. Please start again.")
            return self._show(route.open(self.services, actor, pressed_context(action, value)))
        except Exception as error:  # noqa: BLE001 - one place turns errors into friendly text
            return cards.task_message(plain(friendly(error, f"teams {activity.name}")))

    def _show(self, outcome: Form | Reply) -> Json:
        if isinstance(outcome, Form):
            return cards.task_continue(cards.render_dialog(outcome, submission=secrets.token_hex(12)), outcome.title)
        self.wake_outbox()  # a button may have queued something (a legal hold's alert update, an export)
        return cards.task_continue(cards.dialog_of(outcome), "StaffSafe")

    def _submitted(self, activity: Activity, actor: Actor, form_id: str, context: dict[str, str],
                   submission: str, data: Json) -> Json:
        route = ROUTES.get(form_id)
        if route is None or route.submit is None:
            return cards.task_message("That form no longer works. Please start again.")
        forms: list[Form] = []

        def read(form: Form) -> dict[str, object]:
            forms.append(form)
            return cards.read_answers(form, data)
        # The submission's identity is the dialog's own (made when it opened): a retried invoke stores once.
        result = route.submit(self.services, actor, {**context, SUBMISSION: submission} if submission else context,
                              read)
        if result.next is not None:
            return cards.task_continue(cards.render_dialog(result.next, submission=secrets.token_hex(12)),
                                       result.next.title)
        if not result.ok:
            form = forms[-1] if forms else _blank(form_id, route)
            return cards.task_continue(cards.render_dialog(form, answers=read_again(form, data),
                                                           errors=result.errors, submission=submission), form.title)
        self.wake_outbox()  # stored already: the worker delivers what it queued
        reply = result.reply or Reply.say("Done.")
        if form_id == FORM_ID:
            reply = self._with_screenshots(reply, actor)
        return cards.task_continue(cards.dialog_of(reply), "Done")

    def _with_screenshots(self, reply: Reply, actor: Actor) -> Reply:
        latest = self.services.store.reports_by_reporter(actor.id)[:1]
        if not latest:
            return reply
        invite = SCREENSHOTS_AFTER.format(minutes=self.screenshot_minutes, reference=latest[0].reference)
        return Reply(text=f"{reply.text}\n\n{invite}", cards=reply.cards)

    # --- Universal Actions --------------------------------------------------------------------------

    def _execute(self, activity: Activity) -> Json:
        """A card button pressed (Action.Execute): the answer is told privately, never shown on a shared card."""
        if not activity.from_aad:
            return self.failed(activity, no_person())
        value = activity.value if isinstance(activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = _data({"data": action.get("data")})
        verb = str(action.get("verb") or data.get("action") or "")
        route = ROUTES.get(verb)
        if route is None or route.open is None:
            return self.failed(activity, "That button no longer works. Please start again.")
        value = cards.pressed({**data, "action": verb})[1]
        try:
            outcome = route.open(self.services, activity.actor(), pressed_context(verb, value))
        except Exception as error:  # noqa: BLE001
            return self.failed(activity, plain(friendly(error, "teams adaptiveCard/action")))
        self.wake_outbox()
        if isinstance(outcome, Form):
            # A universal action cannot open a dialog: send a card whose button opens it, privately.
            messages = [card_activity(cards.render_card(opener_card(outcome, verb, value)))]
            self.replies.later(lambda: self.replies.privately(activity, messages), "teams form opener")
            return self.failed(activity, "I have sent you the form in your chat with StaffSafe.")
        if outcome.cards or not activity.personal:
            messages = [card_activity(card) for card in cards.render_reply(outcome)]
            self.replies.later(lambda: self.replies.privately(activity, messages), "teams private answer")
            return self.failed(activity, plain(outcome.text) or "I have answered you in your chat with StaffSafe.")
        return self.failed(activity, plain(outcome.text) or "Done.")


def read_again(form: Form, data: Json) -> dict[str, object]:
    """The answers as submitted, to show again beside the errors."""
    return cards.read_answers(form, data)


def _blank(form_id: str, route: Route) -> Form:
    return Form(id=form_id, title="StaffSafe", submit_label="Send", fields=())


def _data(value: object) -> Json:
    """An invoke's submitted data ({} if it has none or it is not an object)."""
    if not isinstance(value, dict):
        return {}
    data = value.get("data")
    return data if isinstance(data, dict) else {}

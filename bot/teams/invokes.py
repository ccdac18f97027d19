"""Invokes: dialogs (task/fetch, task/submit), Universal Actions (adaptiveCard/action), file consent.

Every invoke runs its route from handlers/routes.py in the request thread (the core's work is a few
store reads and at most one commit, well inside Teams' few seconds) and answers in the HTTP body; what
must reach other people is queued in the outbox, which is woken once the answer is ready. Forms open
as dialogs; a form's answers are checked on the server, and on errors the same dialog comes back with
the answers kept and each error under its field. A dialog's submission token (made when it is shown)
is the submission's identity: a retried or replayed task/submit stores once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.org import Actor
from bot.domain.platform import platform_of
from bot.domain.report_form import FORM_ID
from bot.domain.ui import FieldKind, Form, Option, Reply
from bot.teams import forms
from bot.teams.activity import Activity
from bot.teams.capabilities import TEAMS
from bot.teams.card_data import EXECUTE, TASK_FETCH, TASK_SUBMIT, BadCardData, CardData, Source, decode
from bot.teams.channels import TeamsChannels
from bot.teams.cards import REFRESH, render_reply
from bot.teams.exports import ExportOffers
from bot.teams.home import HOME, home_card
from bot.teams.openers import opener_card, pressed_context
from bot.teams.outbound import ChatReplies
from bot.teams.transport import friendly, no_person
from handlers.routes import ROUTES, SUBMISSION
from handlers.services import Services

Json = dict[str, Any]
GONE = "That button no longer works. Please start again."
FILE_CONSENT = "fileConsent/invoke"
# Said in the dialog that confirms a report: Adaptive Cards have no file input, so screenshots come after.
SCREENSHOTS_AFTER = ("Screenshots: send them to me in this chat within {minutes} minutes (or later, with "
                     "**{reference}** in the message) and I will add them to your report. Only the designated "
                     "leads can see them.")


@dataclass(kw_only=True)
class Invokes:
    """Answers task/fetch, task/submit, adaptiveCard/action and fileConsent/invoke."""

    services: Services
    replies: ChatReplies
    wake_outbox: Callable[[], None]
    exports: ExportOffers
    screenshot_minutes: int
    channels: TeamsChannels | None = None  # what a channel field offers (else it asks for channel ids)

    def handle(self, activity: Activity) -> tuple[int, Json]:
        """The HTTP answer to one invoke."""
        if activity.name not in (EXECUTE, TASK_FETCH, TASK_SUBMIT, FILE_CONSENT):
            return 200, {}  # other invokes (sign-in, message extensions) are not used by this app
        if not activity.from_aad:
            return 200, self.failed(activity, no_person())
        if activity.name == FILE_CONSENT:
            return 200, self.exports.answer(activity, self.replies)
        try:
            data = decode(activity.name, activity.value)
        except BadCardData:
            return 200, self.failed(activity, GONE)
        route = ROUTES.get(data.route)
        refresh = activity.name == EXECUTE and (data.route, data.value) == (REFRESH, HOME)
        if route is None and not refresh:
            return 200, self.failed(activity, GONE)
        try:
            if refresh:  # the home card's: the home of whoever is looking, as it is now (bot/teams/home.py)
                return 200, forms.card_response(home_card(self.services, activity.actor(), viewer=activity.from_id))
            if activity.name == EXECUTE:
                return 200, self._execute(activity, data)
            return 200, self._dialog(activity, data)
        except Exception as error:  # noqa: BLE001 - one place turns errors into friendly text
            return 200, self.failed(activity, friendly(error, f"teams {activity.name}"))

    def failed(self, activity: Activity, text: str) -> Json:
        """An invoke's answer when it could not be done: the text, where the person is looking."""
        if activity.name == EXECUTE:
            return forms.message_response(text)
        return forms.task_message(text)

    # --- dialogs ----------------------------------------------------------------------------------

    def _dialog(self, activity: Activity, data: CardData) -> Json:
        actor, route = activity.actor(), ROUTES[data.route]
        if data.source is Source.FORM:
            return self._submitted(actor, data)
        if route.open is None:
            return forms.task_message(GONE)
        return self._show(route.open(self.services, actor, pressed_context(data.route, data.value)))

    def _show(self, outcome: Form | Reply, title: str = "") -> Json:
        if isinstance(outcome, Form):
            return forms.form_dialog(outcome, names=self.services.org.names, submission=secrets.token_hex(12),
                                     channels=self._offered(outcome, outcome.initial))
        self.wake_outbox()  # a button may have queued something (a legal hold's alert update, an export)
        return forms.reply_dialog(outcome, title)

    def _submitted(self, actor: Actor, data: CardData) -> Json:
        route = ROUTES[data.route]
        if route.submit is None:
            return forms.task_message(GONE)
        reader = forms.FormReader(data.inputs)
        context = {**data.context, SUBMISSION: data.submission} if data.submission else dict(data.context)
        result = route.submit(self.services, actor, context, reader)
        if result.next is not None:
            return self._show(result.next)
        if not result.ok:
            if reader.form is None:  # refused before reading (a lead's case gone): say so, not an empty form
                return forms.task_message(" ".join(result.errors.values()))
            return forms.form_dialog(reader.form, initial=reader.answers, errors=result.errors,
                                     names=self.services.org.names, submission=data.submission,
                                     channels=self._offered(reader.form, reader.answers))
        reply = result.reply or Reply.say("Done.")
        if data.route == FORM_ID:
            reply = self._with_screenshots(reply, actor)
        return self._show(reply, "Done")

    def _offered(self, form: Form, answers: Mapping[str, object]) -> list[Option] | None:
        """The channels a form's channel field offers, with those it had chosen; None without a catalog."""
        field = next((f for f in form.fields if f.kind is FieldKind.CHANNELS), None)
        if field is None or self.channels is None:
            return None
        value = answers.get(field.id)
        chosen = [c for c in value if isinstance(c, str)] if isinstance(value, list) else []
        elsewhere = [c for c in chosen if platform_of(c) != TEAMS]  # a reminder may post on Slack too
        return [*self.channels.choices(chosen),
                *(Option(c, self.services.directory_for(c).channel_label(c)) for c in elsewhere)]

    def _with_screenshots(self, reply: Reply, actor: Actor) -> Reply:
        latest = self.services.store.reports_by_reporter(actor.id)[:1]
        if not latest:
            return reply
        invite = SCREENSHOTS_AFTER.format(minutes=self.screenshot_minutes, reference=latest[0].reference)
        return Reply(text=f"{reply.text}\n\n{invite}", cards=reply.cards)

    # --- Universal Actions --------------------------------------------------------------------------

    def _execute(self, activity: Activity, data: CardData) -> Json:
        """A button acting in place: its answer is told privately (a toast), never put on a shared card."""
        route = ROUTES[data.route]
        if route.open is None:
            return forms.message_response(GONE)
        outcome = route.open(self.services, activity.actor(), pressed_context(data.route, data.value))
        self.wake_outbox()
        if isinstance(outcome, Form):
            # A universal action cannot open a dialog: a card whose button opens it, privately.
            messages = render_reply(Reply(cards=(opener_card(outcome, data.route, data.value),)))
            self.replies.later(lambda: self.replies.privately(activity, messages), "teams form opener")
            return forms.message_response("I have sent you the form in your chat with StaffSafe.")
        if outcome.cards:
            messages = render_reply(outcome)
            self.replies.later(lambda: self.replies.privately(activity, messages), "teams private answer")
            return forms.message_response(outcome.text or "I have answered you in your chat with StaffSafe.")
        return forms.message_response(outcome)

"""Activity dispatch: one table from each activity type to what the adapter does with it.

- `message` in a chat: a typed command (or a card's Action.Submit fallback) runs its route from
  handlers/routes.py; the answer is sent after the HTTP answer (Teams takes none in it). Images sent
  after a report become its screenshots.
- `invoke`: dialogs and Universal Actions (bot/teams/invokes.py), answered in the HTTP body.
- `installationUpdate` / `conversationUpdate`: the conversation reference is kept (or forgotten), so
  the bot can message the person or channel later; a person installing the app gets the welcome card
  once (bot/teams/home.py), when their personal chat first becomes reachable.
Anything else is acknowledged and ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.platform import qualified_id
from bot.domain.ui import Form, Reply
from bot.teams.activity import Activity
from bot.teams.capabilities import TEAMS
from bot.teams.card_data import MESSAGE, BadCardData, decode
from bot.teams.cards import command_buttons, render_reply, with_buttons
from bot.teams.commands import typed_command
from bot.teams.directory import TimeZones
from bot.teams.home import home_message, is_home, welcome_card
from bot.teams.invokes import GONE, Invokes
from bot.teams.openers import opener_card, pressed_context
from bot.teams.outbound import ChatReplies
from bot.teams.screenshots import Screenshots
from bot.teams.transport import friendly, incident_text
from handlers.conversations import forget_conversation, reachable, remember_conversation
from handlers.routes import COMMANDS, ROUTES, command_context
from handlers.services import Services

Answer = tuple[int, dict[str, Any] | None]


@dataclass(kw_only=True)
class TeamsActivities:
    """Handles each authenticated, well-formed activity."""

    services: Services
    commands: Mapping[str, str]  # command key -> the name app.yaml gives it
    replies: ChatReplies
    invokes: Invokes
    screenshots: Screenshots
    time_zones: TimeZones | None = None  # the sender's client time zone, for times shown to them
    # Installs arrive as an installationUpdate and a conversationUpdate at once: one of them welcomes.
    _installing: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def handle(self, activity: Activity) -> Answer:
        """The HTTP answer to one activity (its other effects stored, or sent after it)."""
        if self.time_zones is not None and activity.from_aad and activity.time_zone:
            self.time_zones.note(activity.actor().id, activity.time_zone)  # checked where used
        if activity.type == "invoke":
            return self.invokes.handle(activity)
        if activity.type in ("installationUpdate", "conversationUpdate"):
            self._conversation_changed(activity)
        elif activity.type == "message" and activity.from_aad:
            self._remember(activity)
            self._message(activity)
        return 200, None

    def failed(self, activity: Activity, incident: str) -> Answer:
        """The answer when handling failed unexpectedly: invokes show the incident id; messages get it later."""
        if activity.type == "invoke":
            return 200, self.invokes.failed(activity, incident_text(incident))
        if activity.type == "message" and activity.from_aad:
            self._answer(activity, Reply.say(incident_text(incident)))
        return 200, None

    # --- conversation references --------------------------------------------------------------------

    def _conversation_changed(self, activity: Activity) -> None:
        removed = activity.action.startswith("remove") or activity.bot_removed  # "remove", "remove-upgrade"
        added = activity.action.startswith("add") or activity.bot_added
        if removed:
            forget_conversation(self.services, target=_target(activity))
        elif activity.personal and added:
            with self._installing:
                new = self._remember(activity)
            if new:
                self._welcome(activity)
        elif added or activity.personal:
            self._remember(activity)

    def _remember(self, activity: Activity) -> bool:
        """Keep the activity's conversation reference; whether it was not reachable before (a new install)."""
        target = _target(activity)
        if not target:
            return False
        known = reachable(self.services.store.conversation(target))
        remember_conversation(self.services, target=target, service_url=activity.service_url,
                              conversation=_conversation(activity), tenant=activity.tenant)
        return not known

    def _welcome(self, activity: Activity) -> None:
        messages = render_reply(Reply(cards=(welcome_card(self.services, activity.actor()),)))
        self.replies.later(lambda: self.replies.reply(activity, messages), "teams welcome")

    # --- messages -----------------------------------------------------------------------------------

    def _message(self, activity: Activity) -> None:
        actor = activity.actor()
        if isinstance(activity.value, dict) and activity.value:
            outcome = self._pressed(activity)  # a card's Action.Submit, where Action.Execute is not supported
        elif self.screenshots.attached(activity):
            outcome = self.screenshots.receive(actor, activity)
        elif is_home(activity.text, self.commands):
            self._send(activity, [home_message(self.services, actor, viewer=activity.from_id)])
            return
        else:
            outcome = self._typed(activity)
        self._answer(activity, outcome)

    def _answer(self, activity: Activity, reply: Reply) -> None:
        """Answer a message after the HTTP answer: in the personal chat, or privately if it came from a channel."""
        self._send(activity, render_reply(reply))

    def _send(self, activity: Activity, messages: list[dict[str, Any]]) -> None:
        send = self.replies.reply if activity.personal else self.replies.privately
        self.replies.later(lambda: send(activity, messages), "teams message answer")

    def _typed(self, activity: Activity) -> Reply:
        typed = typed_command(activity.text, self.commands)
        key, words = typed if typed else ("help", "")
        command = COMMANDS[key]
        try:
            context = command_context(command, words)
            outcome = ROUTES[command.route].open(self.services, activity.actor(), context)
        except Exception as error:  # noqa: BLE001 - one place turns errors into friendly text
            return Reply.say(friendly(error, f"teams {key} command"))
        if isinstance(outcome, Form):
            return Reply(cards=(opener_card(outcome, command.route, words),))
        if key == "help":  # Teams opens dialogs from buttons only: one for each command
            return with_buttons(outcome, command_buttons(admin=self.services.org.is_admin(activity.actor().id)))
        return outcome

    def _pressed(self, activity: Activity) -> Reply:
        try:
            pressed = decode(MESSAGE, activity.value)
        except BadCardData:
            return Reply.say(GONE)
        action, value = pressed.route, pressed.value
        route = ROUTES.get(action)
        if route is None or route.open is None:
            return Reply.say(GONE)
        try:
            outcome = route.open(self.services, activity.actor(), pressed_context(action, value))
        except Exception as error:  # noqa: BLE001
            return Reply.say(friendly(error, "teams card button"))
        return Reply(cards=(opener_card(outcome, action, value),)) if isinstance(outcome, Form) else outcome


def _target(activity: Activity) -> str:
    """Whom a conversation reaches: the person (their Entra id) in a personal chat, else the channel."""
    if activity.personal:
        return qualified_id(TEAMS, activity.from_aad) if activity.from_aad else ""
    return qualified_id(TEAMS, _conversation(activity))


def _conversation(activity: Activity) -> str:
    """The conversation id without a reply thread's ";messageid=..." (a channel's own id)."""
    return activity.conversation_id.split(";", 1)[0]

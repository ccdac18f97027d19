"""How listeners answer on Slack: privately in time, errors as friendly text, the outbox woken.

Every listener module uses this one; none imports another. The error guard is Slack's one error hook
for listeners: our own errors become their message, anything else an incident id in the log (never
exception text, which could hold report content).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import BoltContext

from bot.domain.errors import StaffSafeError, user_message
from bot.domain.platform import local_id
from bot.domain.ui import Reply
from bot.incidents import log_incident
from bot.slack.blocks import render_reply
from bot.slack.handoff import Handoff
from bot.slack.payloads import Body, actor_of
from bot.slack.views import done_modal, open_or_push

log = logging.getLogger(__name__)

# What an ack prepared for the lazy listener that follows it: tokens in Bolt's context (copied into the
# lazy listener's request after the ack has run) for values in the Handoff, so nothing is worked out twice.
PREPARED_VIEW = "staffsafe_view"  # a modal to open
FOLLOW_UPS = "staffsafe_follow_ups"  # messages that did not fit in the ack
LETTER = "staffsafe_letter"  # a takedown letter: the user's own words, DMed to them and never stored

Present = Callable[..., None]  # (body, client, respond, outcome): shows a route's outcome the Slack way


def friendly(error: Exception, where: str) -> str:
    """What the user sees for an error: our own message, or an incident id (never exception text)."""
    if isinstance(error, StaffSafeError):
        return user_message(error)
    return f"Sorry, something went wrong. Please try again; if it keeps happening, quote incident {log_incident(log, where, error)}."


@dataclass(kw_only=True)
class SlackTransport:
    """Answers to the person who acted, the error guard around every listener, and the outbox's wake-up."""

    wake_outbox: Callable[[], None]
    handoff: Handoff = field(default_factory=Handoff)

    def tell(self, body: Body, client: Any, respond: Any, reply: Reply, *, wake: bool = False) -> None:
        """Answer privately: ephemerally where the button was, else in a modal."""
        if wake:
            self.wake_outbox()
        if body.get("response_url") and respond is not None:
            for text, blocks in render_reply(reply):
                respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        elif body.get("trigger_id"):
            open_or_push(client, body, done_modal("StaffSafe", reply))

    def ack_reply(self, ack: Callable[..., None], reply: Reply, context: BoltContext) -> None:
        """Answer a command in its ack, privately; what does not fit one message follows by response URL."""
        messages = render_reply(reply) or [("Done.", [])]
        text, blocks = messages[0]
        ack(text=text, blocks=blocks, response_type="ephemeral")
        if messages[1:]:
            context[FOLLOW_UPS] = self.handoff.put(messages[1:])

    def prepare_view(self, context: BoltContext, view: dict) -> None:
        """A modal for the lazy listener after the ack to open (within the trigger's 3 seconds)."""
        context[PREPARED_VIEW] = self.handoff.put(view)

    def after_ack(self, body: Body, client: Any, respond: Any, context: BoltContext, **_: Any) -> None:
        """Open the modal the ack prepared, and send what did not fit in it."""
        view = self.handoff.take(context.get(PREPARED_VIEW))
        if view:
            open_or_push(client, body, view)
        for text, blocks in self.handoff.take(context.get(FOLLOW_UPS)) or ():
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    def send_letter(self, body: Body, client: Any, context: BoltContext, **_: Any) -> None:
        """DM the user a copy of the letter the modal already shows."""
        user = local_id(actor_of(body).id)
        for text, blocks in self.handoff.take(context.get(LETTER)) or ():
            client.chat_postMessage(channel=user, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)

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


def log_error(error: Exception) -> None:
    """Bolt's last-resort error handler: an incident id in the log, nothing else."""
    log_incident(logging.getLogger("staffsafe.slack"), "slack listener", error)

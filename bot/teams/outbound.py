"""Answers sent back into Teams after the HTTP answer: commands typed in a chat, cards sent privately.

Teams takes no reply in the HTTP answer to a message: the bot calls the Connector afterwards. These
answers are not about a stored report (a help card, the hotlines), so they are sent once, on a small
pool of threads, like Slack's lazy listeners; anything about a report goes through the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.incidents import log_incident
from bot.teams.activity import Activity

if TYPE_CHECKING:
    from bot.teams.channels import Team

log = logging.getLogger(__name__)

Json = dict[str, Any]


class Connector(Protocol):
    """The Bot Connector REST API, as the adapter uses it (tproto's client)."""

    def send(self, service_url: str, conversation_id: str, activity: Json) -> str:
        """Post an activity into a conversation; the new activity's id."""
        ...

    def update(self, service_url: str, conversation_id: str, activity_id: str, activity: Json) -> None:
        """Replace an activity sent earlier."""
        ...

    def create_conversation(self, service_url: str, *, tenant: str, member_id: str) -> str:
        """Open (or find) the bot's 1:1 conversation with a person; its id."""
        ...

    def team(self, service_url: str, team_id: str) -> Team:
        """A team the bot is installed in: its name and channels (GET v3/teams/{id}, .../conversations)."""
        ...


@dataclass(kw_only=True)
class ChatReplies:
    """Sends answers into the conversation an activity came from, or privately to the person who sent it."""

    connector: Connector
    executor: Executor

    def later(self, work: Callable[[], None], where: str) -> None:
        """Run `work` after the HTTP answer; an error is logged under an incident id, never raised."""
        def run() -> None:
            try:
                work()
            except Exception as error:  # noqa: BLE001 - the person already has their HTTP answer
                log_incident(log, where, error)
        self.executor.submit(run)

    def reply(self, activity: Activity, messages: list[Json]) -> None:
        """Post each message into the activity's own conversation."""
        for message in messages:
            self.connector.send(activity.service_url, activity.conversation_id, message)

    def privately(self, activity: Activity, messages: list[Json]) -> None:
        """Post each message into the sender's 1:1 chat with the bot (opened if need be)."""
        conversation = activity.conversation_id if activity.personal else self.connector.create_conversation(
            activity.service_url, tenant=activity.tenant, member_id=activity.from_id)
        for message in messages:
            self.connector.send(activity.service_url, conversation, message)

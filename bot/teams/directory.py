"""What the core asks Teams about people and channels, answered from app.yaml and stored references.

Teams admins are app.yaml's (the bot has no Graph permissions to ask Entra who administers what);
a channel is usable once the app is installed in its team (a stored conversation reference).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.platform import local_id
from bot.domain.ports import Conversations
from handlers.conversations import reachable


class TeamsDirectory:
    """The core's Directory port for Teams."""

    def __init__(self, *, conversations: Conversations, labels: Callable[[str], str] | None = None) -> None:
        self._conversations = conversations
        self._labels = labels or channel_label  # names from the teams' channel lists, where known

    def is_admin(self, user_id: str) -> bool:
        """Teams admins are named in app.yaml only."""
        return False

    def channel_problem(self, channel_id: str) -> str:
        """Why the bot cannot post to this channel, or "" if it can."""
        if reachable(self._conversations.conversation(channel_id)):
            return ""
        return ("StaffSafe is not installed in that channel's team: add the app to the team, then try again "
                f"({channel_label(channel_id)}).")

    def time_zone(self, user_id: str) -> str:
        """Unknown: Teams tells a person's time zone only inside their own messages."""
        return ""

    def channel_label(self, channel_id: str) -> str:
        """A channel as people can recognise it."""
        return self._labels(channel_id)


def channel_label(channel_id: str) -> str:
    """A Teams channel id shortened for people ("Teams channel 19:4f1a…")."""
    local = local_id(channel_id)
    return f"Teams channel {local[:8]}…" if len(local) > 9 else f"Teams channel {local}"

"""What the core asks Teams about people and channels, answered from app.yaml and stored references.

Teams admins are app.yaml's (the bot has no Graph permissions to ask Entra who administers what);
a channel is usable once the app is installed in its team (a stored conversation reference).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.domain.platform import local_id
from bot.domain.ports import Conversations
from handlers.conversations import reachable


MAX_TIME_ZONES = 10_000  # people whose client's time zone is remembered (the oldest forgotten first)


class TimeZones:
    """The time zone each person's Teams client last reported (in memory: a message or press tells it again)."""

    def __init__(self) -> None:
        self._zones: dict[str, str] = {}
        self._lock = threading.Lock()

    def note(self, user_id: str, zone: str) -> None:
        """Remember the zone a person's client reported with an activity."""
        with self._lock:
            self._zones.pop(user_id, None)
            self._zones[user_id] = zone
            while len(self._zones) > MAX_TIME_ZONES:
                del self._zones[next(iter(self._zones))]

    def of(self, user_id: str) -> str:
        """The zone last reported for the person, or ""."""
        return self._zones.get(user_id, "")


class TeamsDirectory:
    """The core's Directory port for Teams."""

    def __init__(self, *, conversations: Conversations, labels: Callable[[str], str] | None = None,
                 time_zones: TimeZones | None = None) -> None:
        self._conversations = conversations
        self._time_zones = time_zones or TimeZones()
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
        """The zone the person's client last reported (Teams tells it only inside their own activities), or ""."""
        return self._time_zones.of(user_id)

    def channel_label(self, channel_id: str) -> str:
        """A channel as people can recognise it."""
        return self._labels(channel_id)


def channel_label(channel_id: str) -> str:
    """A Teams channel id shortened for people ("Teams channel 19:4f1a…")."""
    local = local_id(channel_id)
    return f"Teams channel {local[:8]}…" if len(local) > 9 else f"Teams channel {local}"

"""What Slack knows about people and channels: workspace admins, time zones, and where the bot may post.

Answers are cached for a minute: an admin opening the reminders list, or a form naming 1,000
channels, must not cost one Web API call per line. Membership comes from one paged
`users.conversations` call; only a channel missing from it is looked at closely.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.platform import local_id

log = logging.getLogger(__name__)

TTL = 60.0  # seconds


class SlackDirectory:
    """The Directory port on Slack (scopes users:read, channels:read, groups:read)."""

    def __init__(self, client: WebClient, *, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[str, tuple[float, dict[str, Any]]] = {}
        self._channels: dict[str, str] = {}  # id -> name, of channels the bot is in
        self._names: dict[str, str] = {}  # id -> name, of other channels looked at
        self._channels_at = -TTL

    def is_admin(self, user_id: str) -> bool:
        """Workspace admins and owners (Slack's own flags); False if Slack cannot say."""
        user = self._user(user_id)
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    def time_zone(self, user_id: str) -> str:
        """The person's time zone as Slack has it ("" if unknown)."""
        return str(self._user(user_id).get("tz") or "")

    def channel_problem(self, channel_id: str) -> str:
        """Why the bot cannot post in this channel, or "" if it can (or Slack cannot say now)."""
        channel = local_id(channel_id)
        if channel in self._member_channels(fresh=False) or channel in self._member_channels(fresh=True):
            return ""
        try:
            info = self._client.conversations_info(channel=channel)["channel"]
        except SlackApiError as error:
            code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
            if code == "channel_not_found":
                return "the bot cannot see that channel. Invite it there first."
            log.warning("could not check a channel (%s)", code or error.response.status_code)
            return ""  # unknown: the send will find out, skip the channel and tell the admin
        except OSError as error:
            log.warning("could not check a channel (%s)", type(error).__name__)
            return ""
        with self._lock:
            self._names[channel] = str(info.get("name") or "")
        if info.get("is_archived"):
            return "that channel is archived."
        if not info.get("is_member"):
            return "the bot is not a member. Type /invite and the bot's name in that channel first."
        return ""

    def channel_label(self, channel_id: str) -> str:
        """"#name" for a channel the bot is in, else its id."""
        channel = local_id(channel_id)
        name = self._member_channels(fresh=False).get(channel) or self._names.get(channel)
        return f"#{name}" if name else f"#{channel}"

    def _user(self, user_id: str) -> dict[str, Any]:
        user = local_id(user_id)
        with self._lock:
            cached = self._users.get(user)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            found = dict(self._client.users_info(user=user)["user"])
        except (SlackApiError, OSError) as error:
            log.warning("could not look a person up (%s)", type(error).__name__)
            return {}
        with self._lock:
            self._users[user] = (self._clock(), found)
        return found

    def _member_channels(self, *, fresh: bool) -> dict[str, str]:
        with self._lock:
            if not fresh and self._clock() - self._channels_at < self._ttl:
                return self._channels
            if fresh and self._clock() - self._channels_at < 2:
                return self._channels  # just fetched: a second look would say the same
        found: dict[str, str] = {}
        cursor = None
        try:
            while True:
                page = self._client.users_conversations(types="public_channel,private_channel",
                                                        exclude_archived=True, limit=1000, cursor=cursor)
                channels: list[dict[str, Any]] = page.get("channels", [])
                found |= {c["id"]: str(c.get("name") or "") for c in channels}
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except (SlackApiError, OSError) as error:
            log.warning("could not list the bot's channels (%s)", type(error).__name__)
            return self._channels
        with self._lock:
            self._channels, self._channels_at = found, self._clock()
            return found

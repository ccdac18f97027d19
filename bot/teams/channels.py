"""The Teams channels a reminder can post in, and their names.

Teams has no channel picker in a card, and the bot cannot list the tenant's channels: it knows the
channels of the teams it is installed in. Each install in a team stores a conversation reference for the
team's General channel (whose id is the team's id); from those the Connector lists every channel of the
team (`GET {serviceUrl}/v3/teams/{teamId}/conversations`), and a reference is stored for each channel
listed, so the notifier can post there. Names are kept in memory for a few minutes (they only label
things for admins); ids are what is stored.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.platform import local_id, qualified_id
from bot.domain.ports import Clock
from bot.domain.ui import Option
from bot.teams.capabilities import TEAMS
from bot.teams.directory import channel_label
from bot.teams.forms import choice_value
from handlers.conversations import reachable, remember_conversation
from handlers.services import Services

log = logging.getLogger(__name__)

# A channel's conversation id ("19:...@thread.tacv2"); group chats are "@thread.v2" and have no channels.
CHANNEL = re.compile(r"19:[^\s@]+@thread\.(tacv2|skype)")
NAMES_FOR = timedelta(minutes=5)
MAX_OFFERED = 150  # a dialog card holds about this many choices within Teams' message size


@dataclass(frozen=True, kw_only=True)
class TeamChannel:
    """One channel of a team, as the Connector lists it."""

    id: str
    name: str  # "" for the General channel (Teams leaves its name out)


@dataclass(frozen=True, kw_only=True)
class Team:
    """A team the bot is installed in: its name and channels."""

    name: str
    channels: tuple[TeamChannel, ...]


class TeamLister(Protocol):
    """The Connector's team calls (tproto's client)."""

    def team(self, service_url: str, team_id: str) -> Team:
        """The team's name and channels; PermanentFailure if the id is no team the bot is in."""
        ...


class TeamsChannels:
    """What the reminder form offers on Teams, and channel names for the admins' cards."""

    def __init__(self, *, services: Services, lister: TeamLister | None, clock: Clock | None = None) -> None:
        self._services = services
        self._lister = lister
        self._clock = clock or services.clock
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}  # qualified channel id -> "Team > channel"
        self._fresh_until: datetime | None = None

    def choices(self, chosen: Sequence[str] = ()) -> list[Option]:
        """Every Teams channel the bot can post in (by name), then those `chosen` earlier it no longer knows."""
        self._refresh()
        known = sorted(self._reachable(), key=lambda c: (self.label(c).lower(), c))[:MAX_OFFERED]
        kept = [c for c in chosen if c not in known and c.startswith(f"{TEAMS}:")]
        return [Option(choice_value(c), self.label(c)) for c in (*known, *kept)]

    def label(self, channel_id: str) -> str:
        """A Teams channel as admins know it ("Staff room > General"), or a short id until its team is listed."""
        if channel_id not in self._names:
            self._refresh()
        return self._names.get(channel_id) or channel_label(channel_id)

    def _reachable(self) -> list[str]:
        return [c.target for c in self._services.store.conversations(TEAMS)
                if reachable(c) and CHANNEL.fullmatch(local_id(c.target))]

    def _refresh(self) -> None:
        """List the channels of each team the bot is in (at most every few minutes)."""
        now = self._clock.now()
        with self._lock:
            if self._lister is None or (self._fresh_until is not None and now < self._fresh_until):
                return
            self._fresh_until = now + NAMES_FOR
            references = [c for c in self._services.store.conversations(TEAMS)
                          if reachable(c) and CHANNEL.fullmatch(local_id(c.target))]
            listed: set[str] = set()
            for reference in references:
                if reference.target in listed:
                    continue  # a channel of a team already listed: not a team of its own
                listed |= self._list_team(reference.service_url, local_id(reference.target), reference.tenant)

    def _list_team(self, service_url: str, team_id: str, tenant: str) -> set[str]:
        assert self._lister is not None
        try:
            team = self._lister.team(service_url, team_id)
        except Exception as error:  # noqa: BLE001 - a channel reference that is no team, or a team the app left
            log.info("teams: no channel list for a stored channel (%s)", type(error).__name__)
            return set()
        listed = set()
        for channel in team.channels:
            if not CHANNEL.fullmatch(channel.id):
                continue
            target = qualified_id(TEAMS, channel.id)
            remember_conversation(self._services, target=target, service_url=service_url,
                                  conversation=channel.id, tenant=tenant)
            self._names[target] = " > ".join(filter(None, (team.name.strip(), channel.name.strip() or "General")))
            listed.add(target)
        return listed


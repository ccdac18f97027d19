"""Teams checks at start and in `staffsafe check`: who cannot be messaged yet because the app is not installed."""

from __future__ import annotations

from bot.config import AppConfig
from bot.domain.platform import platform_of, qualified_id
from bot.domain.ports import Conversations
from bot.teams.capabilities import TEAMS
from handlers.conversations import reachable


def uses_teams(config: AppConfig) -> bool:
    """Whether app.yaml names anyone or any channel on Teams."""
    org = config.organisation
    people = org.leads | org.backup_leads | org.admins
    return TEAMS in config.lead_channel or any(platform_of(p) == TEAMS for p in people)


def not_installed(config: AppConfig, conversations: Conversations) -> list[str]:
    """A warning for each Teams lead (and the leads' channel) the bot cannot message: no stored reference."""
    org = config.organisation
    warnings = []
    for lead in sorted(lead for lead in org.leads | org.backup_leads if platform_of(lead) == TEAMS):
        if not reachable(conversations.conversation(lead)):
            name = org.names.get(lead, "")
            who = f"{name} ({lead})" if name else lead
            warnings.append(f"Teams lead {who} has not installed StaffSafe: alerts for them wait until they add "
                            "the app in Teams (Apps, then search for StaffSafe) or message it once.")
    channel = config.lead_channel.get(TEAMS)
    if channel and not reachable(conversations.conversation(qualified_id(TEAMS, channel))):
        warnings.append(f"StaffSafe is not installed in the team of the leads' channel {channel}: alerts for the "
                        "channel wait until the app is added to that team.")
    return warnings

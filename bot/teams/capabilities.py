"""What Teams can do and how much it takes, as the core's Capabilities value."""

from __future__ import annotations

from bot.domain.platform import Capabilities

TEAMS = "teams"  # the platform of Teams ids: "teams:<Entra object id>", "teams:19:...@thread.tacv2"

TEAMS_CAPABILITIES = Capabilities(
    # A bot cannot answer one person privately inside a channel (nothing like Slack's ephemeral
    # messages): a command typed in a channel is answered in the person's personal chat.
    private_reply_in_channel=False,
    # The Connector API has no way to look for a message the bot may already have sent.
    history_lookup=False,
    # Input.Text has no documented maximum; an answer is shown again in a case card that must stay
    # under Teams' ~28 KB message limit beside the others, and the core relays it to leads on any
    # platform: 3,000 characters, as on Slack.
    max_text=3000,
    # A dialog's title: the app manifest's schema holds a dialog (taskInfo) title to 64 characters.
    max_title=64,
    # Teams has no App Home: a lead's list comes as cards in the personal chat, ~1 KB each, so 15 fit one
    # message well within the size limit, as on Slack.
    home_cases=15,
    # Adaptive Cards have no file input: screenshots are pasted into the personal chat after the report.
    files_after_form=True,
)

"""The Slack app manifest ("Create an app from a manifest"), built from app.yaml so command names match."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config import AppConfig
from bot.domain.errors import ConfigError

EVENTS_PATH = "/slack/events"  # Bolt's default path; commands, events and interactivity share it
DESCRIPTION_LIMIT = 140  # Slack rejects a longer display_information.description

# Shortened from handlers/info.py COMMAND_HELP: Slack shows these in the composer's autocomplete.
COMMAND_DESCRIPTIONS = {
    "report": "File a confidential report (only the designated leads see it)",
    "myreports": "See your reports and their status",
    "hotlines": "Mobile networks' nuisance-call lines",
    "takedown": "A takedown request for a platform",
    "staysafe": "What to do if you are bullied online",
    "help": "List StaffSafe's commands",
    "reminders": "Schedule awareness reminders (admins)",
}
USAGE_HINTS = {"hotlines": "[provider]", "takedown": "[platform]"}

# The least the features need; each line says which feature would break without it. Deliberately absent:
# chat:write.public (the bot must be invited to the leads channel and to each reminder channel, so a
# channel's members see who posts there), users:read.email, and any scope to read messages people write.
BOT_SCOPES = (
    "commands",    # the slash commands
    "chat:write",  # alerts to the leads channel; DMs to users by posting to their user id
    "im:write",    # conversations.open: a DM channel id to share an uploaded file into
    "files:read",  # download screenshots a reporter attached through the report modal's file_input
    "files:write",  # upload a case export into a lead's DM
    # Read back the bot's own recent posts, only after a post whose outcome is unknown (the
    # connection dropped mid-request), to find it by its metadata instead of posting twice.
    "groups:history",  # ... in the private leads channel or a private reminder channel
    "im:history",  # ... in a DM
    "channels:history",  # ... in a public reminder channel
    # Awareness reminders:
    "users:read",  # is this person a workspace admin or owner (may schedule reminders), and their time zone
    "channels:read",  # the public channels the bot is in, so the reminder form can say where it cannot post
    "groups:read",  # ... and the private ones
)
BOT_EVENTS = ("app_home_opened",)  # the Home tab is rendered when opened; needs no extra scope


def slack_manifest(config: AppConfig, *, url: str | None, socket_mode: bool = False,
                   app_name: str = "StaffSafe") -> dict[str, Any]:
    """The manifest for this organisation: HTTP endpoints under `url`, or Socket Mode (no URLs)."""
    if socket_mode:
        request_url = None  # Socket Mode delivers everything over the websocket; a URL would be unused
    elif url is None:
        raise ConfigError("Slack manifest: give the bot's public https URL, or choose Socket Mode")
    else:
        request_url = _public_url(url) + EVENTS_PATH
    endpoint = {"url": request_url} if request_url else {}
    request = {"request_url": request_url} if request_url else {}
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": app_name,
            "description": _description(config.organisation.name),
            "background_color": "#1d4f6e",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "StaffSafe", "always_online": True},
            "slash_commands": [_slash_command(key, name, endpoint) for key, name in config.commands.items()],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": {**request, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, **request},
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(manifest: dict[str, Any]) -> str:
    """The manifest as YAML, keys in the order Slack's own exports use."""
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)


def _slash_command(key: str, name: str, endpoint: dict[str, str]) -> dict[str, Any]:
    if key not in COMMAND_DESCRIPTIONS:
        raise ConfigError(f"Slack manifest: no description for command {key!r}")
    command: dict[str, Any] = {"command": f"/{name}", **endpoint, "description": COMMAND_DESCRIPTIONS[key]}
    if key in USAGE_HINTS:
        command["usage_hint"] = USAGE_HINTS[key]
    command["should_escape"] = False  # handlers parse plain text; escaped <@U…> mentions would be noise
    return command


def _description(organisation: str) -> str:
    general = "Confidential reports of online abuse against staff, with guidance and takedown templates"
    specific = f"{general}, for {organisation}."
    # A long organisation name must not make Slack reject the whole manifest.
    return specific if len(specific) <= DESCRIPTION_LIMIT else f"{general}."


def _public_url(url: str) -> str:
    """The bot's public base URL without a trailing slash; ConfigError unless it is https://host[:port]."""
    example = "like https://staffsafe.example.org"
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"Slack manifest: the URL {url!r} is not valid; {example}") from None
    if parts.scheme != "https":
        raise ConfigError(f"Slack manifest: the URL must use https (Slack refuses plain http), {example}")
    if not parts.hostname:
        raise ConfigError(f"Slack manifest: the URL {url!r} has no host name; {example}")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ConfigError(f"Slack manifest: give only the bot's address, {example}; "
                          f"{EVENTS_PATH} is added for you (got {url!r})")
    return f"https://{parts.netloc}"

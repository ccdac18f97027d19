"""Slack settings checked at start: one clear message naming the first wrong or missing setting."""

from __future__ import annotations

from urllib.parse import urlsplit

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import AppConfig
from bot.domain.errors import ConfigError
from bot.domain.platform import SLACK, platform_of
from bot.settings import Settings


def check_slack_settings(settings: Settings, config: AppConfig, *, socket_mode: bool) -> None:
    """Raise ConfigError unless everything serving on Slack needs is present and well-formed."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-...) from the app's OAuth page")
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if socket_mode:
        if not settings.slack_app_token:
            raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...)")
        if not settings.slack_app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    elif not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set: copy it from the app's Basic Information page")
    api = urlsplit(settings.slack_api_url)
    if api.scheme not in ("https", "http") or not api.hostname:
        raise ConfigError(f"SLACK_API_URL is not a web address: {settings.slack_api_url[:80]!r}")
    if not 0 < settings.port < 65536:
        raise ConfigError("PORT must be a number from 1 to 65535")
    channel = config.lead_channel.get("slack", "")
    if not channel:
        raise ConfigError("app.yaml: lead_channel.slack is not set: give the private leads channel's id (C0123...)")
    if channel[:1] not in ("C", "G") or not channel.isalnum():
        raise ConfigError(f"app.yaml: lead_channel.slack: {channel[:30]!r} is not a channel id (like C0123ABCD)")
    if not any(platform_of(lead) == SLACK for lead in config.organisation.leads):
        raise ConfigError("app.yaml: leads.slack names no designated lead: add at least one Slack user id")


def check_token(client: WebClient) -> None:
    """Ask Slack whether the bot token works; a refusal stops the start, an outage does not."""
    try:
        client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
        if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
            raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({code}): reinstall the app and copy the new token") from None
        logging.getLogger(__name__).warning("Slack answered auth.test with an error; starting anyway")
    except OSError:
        # Slack unreachable: start anyway; reports are stored and the outbox delivers when it is back.
        logging.getLogger(__name__).warning("Slack is unreachable; starting anyway")

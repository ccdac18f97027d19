"""Slack settings checked at start: one clear message naming the first wrong or missing setting."""

from __future__ import annotations

from urllib.parse import urlsplit

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import AppConfig, all_problems
from bot.domain.errors import ConfigError
from bot.domain.platform import SLACK, platform_of
from bot.settings import Settings


def check_slack_settings(settings: Settings, config: AppConfig, *, socket_mode: bool) -> None:
    """Raise ConfigError, listing every problem, unless everything serving on Slack needs is right."""
    problems = slack_problems(settings, config, socket_mode=socket_mode)
    if problems:
        raise ConfigError(all_problems(problems))


def slack_problems(settings: Settings, config: AppConfig, *, socket_mode: bool) -> list[str]:
    """Every missing or wrong setting serving on Slack would stop at, each naming the setting."""
    problems = []
    token = settings.slack_bot_token
    if not token:
        problems.append("SLACK_BOT_TOKEN is not set: give the bot token (xoxb-...) from the app's OAuth page")
    elif not token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if socket_mode and not settings.slack_app_token:
        problems.append("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...)")
    elif socket_mode and not settings.slack_app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    elif not socket_mode and not settings.slack_signing_secret:
        problems.append("SLACK_SIGNING_SECRET is not set: copy it from the app's Basic Information page")
    api = urlsplit(settings.slack_api_url)
    if api.scheme not in ("https", "http") or not api.hostname:
        problems.append(f"SLACK_API_URL is not a web address: {settings.slack_api_url[:80]!r}")
    if not 0 < settings.port < 65536:
        problems.append("PORT must be a number from 1 to 65535")
    channel = config.lead_channel.get("slack", "")
    if not channel:
        problems.append("app.yaml: lead_channel.slack is not set: give the private leads channel's id (C0123...)")
    elif channel[:1] not in ("C", "G") or not channel.isalnum():
        problems.append(f"app.yaml: lead_channel.slack: {channel[:30]!r} is not a channel id (like C0123ABCD)")
    if not any(platform_of(lead) == SLACK for lead in config.organisation.leads):
        problems.append("app.yaml: leads.slack names no designated lead: add at least one Slack user id")
    return problems


def uses_slack(config: AppConfig) -> bool:
    """Whether app.yaml sets up Slack at all (its leads, admins or leads' channel)."""
    org = config.organisation
    return "slack" in config.lead_channel or any(
        platform_of(person) == SLACK for person in org.leads | org.backup_leads | org.admins)


def check_token(client: WebClient) -> str:
    """Ask Slack whether the bot token works; a refusal stops the start, an outage does not.

    Returns the installed workspace's team id ("" if Slack did not say, or for an Enterprise Grid
    install, which serves many workspaces), so requests from any other workspace can be refused.
    """
    try:
        answer = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error", "") if isinstance(error.response.data, dict) else ""
        if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
            raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({code}): reinstall the app and copy the new token") from None
        logging.getLogger(__name__).warning("Slack answered auth.test with an error; starting anyway")
    except OSError:
        # Slack unreachable: start anyway; reports are stored and the outbox delivers when it is back.
        logging.getLogger(__name__).warning("Slack is unreachable; starting anyway")
    else:
        team_id = answer.get("team_id")
        if isinstance(team_id, str) and not answer.get("is_enterprise_install"):
            return team_id
    return ""

"""Settings from the environment: the only module that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.teams.settings import TeamsSettings, teams_settings_from_env


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where things are and which secrets to use."""

    config_path: Path
    data_dir: Path
    secret_key: str | None  # base64 key(s), newest first, comma-separated
    secret_file: Path | None
    slack_bot_token: str = ""  # SLACK_BOT_TOKEN, xoxb-...
    slack_signing_secret: str = ""  # SLACK_SIGNING_SECRET
    slack_app_token: str = ""  # SLACK_APP_TOKEN, xapp-..., for Socket Mode
    slack_team_id: str = ""  # SLACK_TEAM_ID: the installed workspace (else learnt from auth.test at start)
    slack_app_id: str = ""  # SLACK_APP_ID: the app's id, to refuse requests meant for another app
    slack_api_url: str = "https://slack.com/api/"  # SLACK_API_URL: GovSlack, or a local fake in tests
    host: str = "127.0.0.1"  # HOST: listen on loopback unless told otherwise
    port: int = 3000  # PORT
    # STAFFSAFE_OUTBOX_LEASE_SECONDS: how long a worker holds the outbox items it claims; a dead
    # instance's items are taken up by the others this long after it claimed them.
    outbox_lease_seconds: float = 120.0
    # STAFFSAFE_DATABASE_URL: a PostgreSQL database (postgresql://user:password@host:5432/name) instead of
    # the data folder's TinyDB store; several instances may share it.
    database_url: str = ""
    teams: TeamsSettings | None = None  # CLIENT_ID, CLIENT_SECRET, TENANT_ID ...: None when Teams is not set up


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from STAFFSAFE_* variables, with command-line overrides winning.

    Raises TeamsConfigError (a ConfigError) naming what is missing when Teams is half set up.
    """
    env = os.environ if env is None else env
    settings = Settings(
        config_path=Path(env.get("STAFFSAFE_CONFIG", "app.yaml")),
        data_dir=Path(env.get("STAFFSAFE_DATA_DIR", "data")),
        secret_key=env.get("STAFFSAFE_SECRET_KEY") or None,
        secret_file=Path(env["STAFFSAFE_SECRET_FILE"]) if env.get("STAFFSAFE_SECRET_FILE") else None,
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        slack_team_id=env.get("SLACK_TEAM_ID", "").strip(),
        slack_app_id=env.get("SLACK_APP_ID", "").strip(),
        slack_api_url=_api_url(env.get("SLACK_API_URL", "")),
        host=env.get("HOST", "").strip() or "127.0.0.1",
        port=_port(env.get("PORT", "")),
        database_url=env.get("STAFFSAFE_DATABASE_URL", "").strip(),
        outbox_lease_seconds=_seconds(env.get("STAFFSAFE_OUTBOX_LEASE_SECONDS", ""), default=120.0),
        teams=teams_settings_from_env(env),
    )
    return replace(settings, **{key: value for key, value in overrides.items() if value is not None})


def _api_url(value: str) -> str:
    """The Web API base URL with the trailing slash slack_sdk needs."""
    value = value.strip() or "https://slack.com/api/"
    return value if value.endswith("/") else value + "/"


def _port(value: str) -> int:
    """PORT as a number; a wrong value is caught when serving starts, with the setting named."""
    value = value.strip()
    if not value:
        return 3000
    try:
        return int(value)
    except ValueError:
        return -1


def _seconds(value: str, *, default: float) -> float:
    """A positive number of seconds; a wrong value is caught when serving starts, with the setting named."""
    value = value.strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        return -1.0
    return seconds if seconds > 0 else -1.0

"""The Teams app package (manifest.json and two icons in a zip), built from app.yaml so command names match.

An admin uploads the package in the Teams admin center or the Developer Portal; the bot itself is
registered separately (Azure Bot resource or `teams app create`), under the same application id.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from bot.config import AppConfig
from bot.domain.errors import ConfigError
from bot.teams.icons import ACCENT, color_png, outline_png
from bot.teams.home import HOME
from handlers.info import COMMAND_HELP, EXAMPLES

# The newest released (not devPreview) schema in the pinned npm package @microsoft/app-manifest
# (tools/teams/package.json); tests/test_teams_manifest.py validates against it and fails once a newer
# one is pinned, so the two move together.
MANIFEST_VERSION = "1.30"
SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
APP_NAME = "StaffSafe"
# Where the bot is installed: each person's chat with it (reports, answers) and the leads' team, whose
# channel may receive the alerts. Not group chats: nothing about a report belongs there.
BOT_SCOPES = ("personal", "team")
# What Teams shows in the app's details and store listing; the schema's limits.
SHORT_DESCRIPTION = "Confidential reports of online abuse against staff, to designated leads"
NAME_FULL_LIMIT, DEVELOPER_NAME_LIMIT, COMMAND_TITLE_LIMIT = 100, 32, 32
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the same package bytes for the same inputs
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def teams_manifest(config: AppConfig, *, app_id: str, website: str, privacy_url: str | None = None,
                   terms_url: str | None = None, url: str | None = None,
                   app_version: str | None = None) -> dict[str, Any]:
    """The manifest for this organisation's Teams app, whose bot is the Entra application `app_id`.

    `website` (with `privacy_url` and `terms_url`, which default to it) is shown on the app's details
    page; `url`, the bot's public address, is listed in validDomains if given.
    """
    if not app_id:
        raise ConfigError("Teams manifest: the bot's application id is missing: set CLIENT_ID (or "
                          "MicrosoftAppId) to the Entra application (client) id the bot was registered with, "
                          "or pass --app-id")
    if not GUID.fullmatch(app_id):
        raise ConfigError(f"Teams manifest: the app id must be the bot's Entra application (client) id, a GUID like "
                          f"00000000-0000-0000-0000-000000000000 (got {app_id[:40]!r})")
    if not website:
        raise ConfigError("Teams manifest: give the organisation's website with --website https://... (Teams "
                          "shows it on the app's details page, with the privacy and terms pages: --privacy-url "
                          "and --terms-url, which default to the website)")
    developer_site = _https(website, "--website")
    organisation = config.organisation.name
    full_name = f"{APP_NAME} for {organisation}"
    manifest: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": app_version or _package_version(),
        "id": app_id,
        "developer": {
            "name": organisation if len(organisation) <= DEVELOPER_NAME_LIMIT else APP_NAME,
            "websiteUrl": developer_site,
            "privacyUrl": _https(privacy_url, "--privacy-url") if privacy_url else developer_site,
            "termsOfUseUrl": _https(terms_url, "--terms-url") if terms_url else developer_site,
        },
        "name": {"short": APP_NAME, "full": full_name if len(full_name) <= NAME_FULL_LIMIT else APP_NAME},
        "description": {"short": SHORT_DESCRIPTION, "full": _full_description(organisation)},
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [{
            "botId": app_id,
            "scopes": list(BOT_SCOPES),
            # Case exports reach a lead as a file, offered with a file consent card (bot/teams/exports.py).
            "supportsFiles": True,
            "isNotificationOnly": False,
            "commandLists": [{"scopes": [scope], "commands": _commands(config)} for scope in BOT_SCOPES],
        }],
        "validDomains": [_host(url)] if url else [],
        "defaultInstallScope": "personal",
        "defaultGroupCapability": {"team": "bot"},
        # No webApplicationInfo: the bot signs nobody in and calls no Graph API (that is for SSO and tabs).
    }
    return manifest


def app_package(manifest: dict[str, Any]) -> bytes:
    """The zip Teams takes: manifest.json and the two icons, at its root."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for name, data in (("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n"),
                           (COLOR_ICON, color_png()), (OUTLINE_ICON, outline_png())):
            entry = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            package.writestr(entry, data)
    return buffer.getvalue()


def _commands(config: AppConfig) -> list[dict[str, str]]:
    """The staff commands under this organisation's names, as Teams lists them when people type."""
    commands = []
    for key, text in {**COMMAND_HELP, "help": "StaffSafe's commands"}.items():
        name = config.commands.get(key, key)
        if len(name) > COMMAND_TITLE_LIMIT:
            raise ConfigError(f"Teams manifest: the command name {name!r} is longer than Teams shows "
                              f"({COMMAND_TITLE_LIMIT} characters)")
        example = f"{name} {EXAMPLES[key]}" if key in EXAMPLES else name
        description = text.format(example=example)
        commands.append({"title": name, "description": description[:1].upper() + description[1:]})
    # Teams has no App Home: `home` typed in the chat shows it (bot/teams/home.py).
    commands.append({"title": HOME, "description": "Your reports and their status; for leads, the open queue"})
    return commands


def _full_description(organisation: str) -> str:
    return (f"StaffSafe helps the staff and volunteers of {organisation} when they are bullied or harassed "
            "online. In your chat with StaffSafe you can file a confidential incident report (only the "
            "designated leads see it), follow its status, and get next steps, the safety checklist, "
            "mobile networks' nuisance-call lines and takedown-request letters for social media. "
            "Designated leads receive each report privately, acknowledge it, keep internal notes, "
            "message the reporter and export the case.")


def _package_version() -> str:
    try:
        return version("staffsafe")
    except PackageNotFoundError:
        return "0.0.0"


def _https(value: str, option: str) -> str:
    """An https:// address, or ConfigError naming the option."""
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"Teams manifest: {option} must be an https:// address, like "
                          f"https://www.example.org/privacy (got {value!r})")
    return parts.geturl()


def _host(url: str) -> str:
    """The host name of the bot's public https address, for validDomains."""
    parts = urlsplit(url.strip())
    try:
        _ = parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError:
        parts = urlsplit("")
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(f"Teams manifest: --url must be the bot's public https:// address, like "
                          f"https://staffsafe.example.org (got {url!r})")
    return parts.hostname

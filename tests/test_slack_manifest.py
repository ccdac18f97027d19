"""The Slack manifest passes Slack's published schema, takes command names from app.yaml, asks for least scopes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.config import COMMANDS, AppConfig, parse_config
from bot.domain.errors import ConfigError
from bot.slack.manifest import COMMAND_DESCRIPTIONS, manifest_yaml, slack_manifest

# Slack's published schema (slackapi/manifest-schema), read in place: it is not ours to copy into the repo.
SCHEMA_DIR = Path("/work/shared/schemas/slack-manifest")
URL = "https://staffsafe.example.org"
LEAST_SCOPES = {"commands", "chat:write", "im:write", "files:read", "files:write", "groups:history", "im:history",
                "channels:history", "users:read", "channels:read", "groups:read"}


def make_config(commands: dict[str, str] | None = None, organisation: str = "Example Academy Trust") -> AppConfig:
    raw: dict[str, Any] = {"organisation": organisation, "leads": {"slack": ["U0LEAD"]}}
    if commands is not None:
        raw["commands"] = commands
    return parse_config(raw)


RENAMED = {"report": "ss-report", "myreports": "ss-mine", "hotlines": "ss-hotlines",
           "takedown": "ss-takedown", "staysafe": "ss-safe", "help": "staffsafe", "reminders": "ss-reminders"}


@pytest.fixture(scope="module")
def validator() -> Any:
    """A validator for the official schema; its remote $refs resolve to the files beside it, never the network."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT7

    if not (SCHEMA_DIR / "manifest.schema.json").is_file():
        pytest.skip(f"Slack's manifest schema is not available at {SCHEMA_DIR}")

    def retrieve(uri: str) -> Any:
        # The root refers to versioned raw.githubusercontent.com URLs; the same files are stored locally.
        local = SCHEMA_DIR / "schemas" / Path(urlsplit(uri).path).name
        if not local.is_file():
            raise referencing.exceptions.NoSuchResource(ref=uri)
        return referencing.Resource.from_contents(json.loads(local.read_text()), default_specification=DRAFT7)

    root = json.loads((SCHEMA_DIR / "manifest.schema.json").read_text())
    registry: Any = referencing.Registry(retrieve=retrieve)
    return jsonschema.Draft7Validator(root, registry=registry)


def assert_valid(validator: Any, manifest: dict[str, Any]) -> None:
    errors = list(validator.iter_errors(manifest))
    # oneOf failures hide the useful message in each branch's context; show those too.
    flat = [inner for error in errors for inner in [error, *(error.context or [])]]
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in flat)
    # jsonschema ignores the schema's non-standard "regex" keyword; apply it by hand.
    colour = manifest["display_information"]["background_color"]
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", colour)


def urls_in(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [url for key, item in value.items()
                for url in ([item] if key in ("url", "request_url") else urls_in(item))]
    if isinstance(value, list):
        return [url for item in value for url in urls_in(item)]
    return []


@pytest.mark.parametrize("socket_mode", [False, True], ids=["http", "socket"])
@pytest.mark.parametrize("commands", [None, RENAMED], ids=["default-names", "custom-names"])
def test_manifest_passes_slacks_schema(validator: Any, socket_mode: bool, commands: dict[str, str] | None) -> None:
    manifest = slack_manifest(make_config(commands), url=None if socket_mode else URL, socket_mode=socket_mode)
    assert_valid(validator, manifest)
    assert_valid(validator, yaml.safe_load(manifest_yaml(manifest)))  # what the admin pastes is what we checked


def test_the_schema_really_is_applied(validator: Any) -> None:
    manifest = slack_manifest(make_config(), url=URL)
    manifest["features"]["slash_commands"][0]["command"] = "report"  # no leading slash
    assert not validator.is_valid(manifest)


def test_command_names_come_from_config_alone() -> None:
    manifest = slack_manifest(make_config(RENAMED), url=URL)
    commands = {entry["command"]: entry for entry in manifest["features"]["slash_commands"]}
    assert set(commands) == {f"/{name}" for name in RENAMED.values()}
    assert commands["/staffsafe"]["description"] == COMMAND_DESCRIPTIONS["help"]
    assert commands["/ss-hotlines"]["usage_hint"] == "[provider]"
    assert commands["/ss-takedown"]["usage_hint"] == "[platform]"
    assert "usage_hint" not in commands["/ss-report"]
    assert all(entry["should_escape"] is False for entry in commands.values())


def test_every_known_command_has_a_short_description() -> None:
    assert set(COMMAND_DESCRIPTIONS) == set(COMMANDS)
    assert all(len(text) <= 100 for text in COMMAND_DESCRIPTIONS.values())


def test_scopes_are_exactly_the_least_set() -> None:
    scopes = slack_manifest(make_config(), url=URL)["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}  # no user token: the bot never acts as a person
    assert sorted(scopes["bot"]) == sorted(LEAST_SCOPES) and len(scopes["bot"]) == len(LEAST_SCOPES)


def test_http_mode_points_everything_at_the_bolt_endpoint() -> None:
    manifest = slack_manifest(make_config(), url=URL + "/")  # a trailing slash is tolerated
    urls = urls_in(manifest)
    assert len(urls) == len(COMMANDS) + 2  # each command, events, interactivity
    assert set(urls) == {f"{URL}/slack/events"}
    assert manifest["settings"]["socket_mode_enabled"] is False
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


def test_socket_mode_has_no_urls() -> None:
    manifest = slack_manifest(make_config(), url=None, socket_mode=True)
    assert urls_in(manifest) == []
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"] == {"is_enabled": True}


def test_app_home_and_bot_user() -> None:
    features = slack_manifest(make_config(), url=URL)["features"]
    # The messages tab is read-only: reporters never type report content into a DM the bot would read.
    assert features["app_home"] == {"home_tab_enabled": True, "messages_tab_enabled": True,
                                    "messages_tab_read_only_enabled": True}
    assert features["bot_user"] == {"display_name": "StaffSafe", "always_online": True}


def test_description_fits_slacks_limit_even_for_a_long_organisation_name() -> None:
    short = slack_manifest(make_config(), url=URL)["display_information"]
    assert "Example Academy Trust" in short["description"] and len(short["description"]) <= 140
    long = slack_manifest(make_config(organisation="The " + "Very " * 30 + "Long Trust"), url=URL)
    assert len(long["display_information"]["description"]) <= 140


def test_app_name_is_configurable() -> None:
    manifest = slack_manifest(make_config(), url=URL, app_name="StaffSafe (test)")
    assert manifest["display_information"]["name"] == "StaffSafe (test)"


def test_yaml_keeps_the_order_and_round_trips() -> None:
    manifest = slack_manifest(make_config(), url=URL)
    text = manifest_yaml(manifest)
    assert yaml.safe_load(text) == manifest
    assert text.index("display_information:") < text.index("features:") < text.index("settings:")


@pytest.mark.parametrize("url", [
    "http://staffsafe.example.org",             # Slack refuses plain http
    "https://",                                 # no host
    "https:///slack/events",                    # no host
    "staffsafe.example.org",                    # no scheme
    "https://staffsafe.example.org/slack/events",  # the path is ours to add
    "https://staffsafe.example.org/bot/",
    "https://staffsafe.example.org?x=1",
    "https://staffsafe.example.org/#top",
    "https://admin:secret@staffsafe.example.org",
    "https://staffsafe.example.org:port",
    "",
])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="https://staffsafe.example.org"):
        slack_manifest(make_config(), url=url)


def test_a_url_or_socket_mode_is_required() -> None:
    with pytest.raises(ConfigError, match="Socket Mode"):
        slack_manifest(make_config(), url=None)


def test_a_port_is_allowed() -> None:
    manifest = slack_manifest(make_config(), url="https://staffsafe.example.org:8443/")
    assert manifest["settings"]["interactivity"]["request_url"] == "https://staffsafe.example.org:8443/slack/events"

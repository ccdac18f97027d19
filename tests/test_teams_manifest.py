"""The Teams app package: a manifest valid against Microsoft's own schema (npm @microsoft/app-manifest, pinned),
command names from app.yaml, the bot's scopes, and two icons of the sizes and kinds Teams asks for."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bot.config import AppConfig, parse_config
from bot.domain.errors import ConfigError
from bot.teams.icons import ACCENT, color_png, outline_png
from bot.teams.manifest import MANIFEST_VERSION, SCHEMA_URL, app_package, teams_manifest
from testkit.png import read_png
from testkit.teams_tools import MANIFEST_SCHEMAS, ROOT, TOOLS, require

APP_ID = "6f1c1a52-3c4e-4d8e-9a51-2b7f0c9d1e23"
WEBSITE = "https://www.example-academy.org.uk"
RENAMED = {"report": "ss-report", "myreports": "ss-mine", "hotlines": "ss-hotlines", "takedown": "ss-takedown",
           "staysafe": "ss-safe", "help": "staffsafe"}
STAFF_COMMANDS = ("report", "myreports", "hotlines", "takedown", "staysafe", "help")


def make_config(commands: dict[str, str] | None = None, organisation: str = "Example Academy Trust") -> AppConfig:
    raw: dict[str, Any] = {"organisation": organisation, "leads": {"console": ["lee"]}}
    if commands is not None:
        raw["commands"] = commands
    return parse_config(raw)


def manifest_for(config: AppConfig | None = None, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"app_id": APP_ID, "website": WEBSITE} | overrides
    return teams_manifest(config or make_config(), **options)


@pytest.fixture(scope="module")
def validator() -> Any:
    """A validator for the official schema of the manifest version we write, read from the pinned npm package."""
    import jsonschema

    schema_file = require(MANIFEST_SCHEMAS / f"v{MANIFEST_VERSION}" / "MicrosoftTeams.schema.json",
                          "The Teams app manifest schema (npm @microsoft/app-manifest)")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["properties"]["manifestVersion"]["const"] == MANIFEST_VERSION
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_valid(validator: Any, manifest: dict[str, Any]) -> None:
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
              for error in validator.iter_errors(manifest)]
    assert not errors, "\n".join(errors)


# --- the manifest ---------------------------------------------------------------------------------------------


def test_the_manifest_passes_microsofts_schema(validator):
    assert_valid(validator, manifest_for())


def test_renamed_commands_long_names_and_every_option_pass_the_schema_too(validator):
    long_name = "The Very Long Name of a Multi-Academy Trust of Schools in the North West of England"
    assert_valid(validator, manifest_for(make_config(RENAMED, organisation=long_name), url="https://bot.example.org",
                                         privacy_url=f"{WEBSITE}/privacy", terms_url=f"{WEBSITE}/terms",
                                         app_version="2.3.4"))


def test_it_uses_the_newest_released_schema_of_the_pinned_package():
    require(MANIFEST_SCHEMAS, "The Teams app manifest schema (npm @microsoft/app-manifest)")
    released = [tuple(map(int, match.groups())) for folder in MANIFEST_SCHEMAS.iterdir()
                if (match := re.fullmatch(r"v(\d+)\.(\d+)", folder.name))]
    newest = "{}.{}".format(*max(released))
    assert MANIFEST_VERSION == newest, f"a newer manifest schema is pinned: move MANIFEST_VERSION to {newest}"
    assert SCHEMA_URL.endswith(f"/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json")


def test_the_bot_is_the_app_in_personal_chats_and_the_leads_team():
    manifest = manifest_for()
    assert manifest["id"] == APP_ID and manifest["manifestVersion"] == MANIFEST_VERSION
    (bot,) = manifest["bots"]
    assert bot["botId"] == APP_ID and bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is True  # case exports are offered to leads with a file consent card
    assert "webApplicationInfo" not in manifest  # nobody signs in: no SSO, no Graph
    assert manifest["defaultInstallScope"] == "personal"


def test_the_command_lists_use_app_yaml_names_with_what_each_does():
    (bot,) = manifest_for(make_config(RENAMED))["bots"]
    assert [entry["scopes"] for entry in bot["commandLists"]] == [["personal"], ["team"]]
    for entry in bot["commandLists"]:
        titles = [command["title"] for command in entry["commands"]]
        assert titles == [RENAMED[key] for key in STAFF_COMMANDS] + ["home"]
        described = {command["title"]: command["description"] for command in entry["commands"]}
        assert described["ss-hotlines"] == "Mobile networks' nuisance-call lines, e.g. ss-hotlines o2"
        assert described["ss-report"].startswith("File a confidential report")
        assert described["staffsafe"] == "StaffSafe's commands"


def test_names_and_descriptions_say_what_the_app_is_for_whom():
    manifest = manifest_for()
    assert manifest["name"] == {"short": "StaffSafe", "full": "StaffSafe for Example Academy Trust"}
    assert manifest["developer"] == {"name": "Example Academy Trust", "websiteUrl": WEBSITE,
                                     "privacyUrl": WEBSITE, "termsOfUseUrl": WEBSITE}
    assert "Example Academy Trust" in manifest["description"]["full"]
    assert "only the designated leads see it" in manifest["description"]["full"]
    assert manifest["accentColor"] == "#{:02X}{:02X}{:02X}".format(*ACCENT)


def test_a_name_too_long_for_teams_falls_back_to_the_apps_own():
    manifest = manifest_for(make_config(organisation="A" * 120))
    assert manifest["name"]["full"] == "StaffSafe" and manifest["developer"]["name"] == "StaffSafe"


def test_valid_domains_come_from_the_bots_public_address_only():
    assert manifest_for()["validDomains"] == []
    assert manifest_for(url="https://staffsafe.example.org:8443")["validDomains"] == ["staffsafe.example.org"]


@pytest.mark.parametrize(("overrides", "words"), [
    ({"app_id": ""}, "set CLIENT_ID (or MicrosoftAppId)"),
    ({"app_id": "staffsafe-bot"}, "a GUID like 00000000-0000-0000-0000-000000000000"),
    ({"website": None}, "--website https://"),
    ({"website": "http://www.example.org"}, "--website must be an https:// address"),
    ({"privacy_url": "ftp://example.org/privacy"}, "--privacy-url must be an https:// address"),
    ({"url": "http://staffsafe.example.org"}, "--url must be the bot's public https:// address"),
    ({"url": "https://staffsafe.example.org:99999"}, "--url must be the bot's public https:// address"),
])
def test_a_missing_or_wrong_setting_is_named(overrides, words):
    with pytest.raises(ConfigError, match=re.escape(words)):
        manifest_for(**overrides)


# --- the package and its icons ------------------------------------------------------------------------------


def test_the_package_holds_the_manifest_and_both_icons_at_its_root():
    manifest = manifest_for()
    package = zipfile.ZipFile(io.BytesIO(app_package(manifest)))
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert json.loads(package.read("manifest.json")) == manifest
    assert package.read("color.png") == color_png() and package.read("outline.png") == outline_png()
    assert package.testzip() is None


def test_the_same_inputs_make_the_same_package_bytes():
    assert app_package(manifest_for()) == app_package(manifest_for())


def test_the_colour_icon_is_192_square_and_full_colour():
    image = read_png(color_png())
    assert (image.width, image.height) == (192, 192)
    assert all(alpha == 255 for *_, alpha in image.pixels)  # a solid background, as Teams recommends
    assert image.at(0, 0)[:3] == ACCENT and image.at(96, 80)[:3] == (255, 255, 255)  # the shield on the accent
    assert len({pixel[:3] for pixel in image.pixels}) > 2


def test_the_outline_icon_is_32_square_white_on_transparent():
    image = read_png(outline_png())
    assert (image.width, image.height) == (32, 32) and image.colour_type == 6  # RGBA
    drawn = [pixel for pixel in image.pixels if pixel[3] > 0]
    assert all(pixel[:3] == (255, 255, 255) for pixel in drawn), "the outline icon may hold white only"
    assert all(image.at(x, y)[3] == 0 for x, y in ((0, 0), (31, 0), (0, 31), (31, 31), (16, 8)))
    assert 0.1 < len(drawn) / len(image.pixels) < 0.6  # an outline, neither empty nor a filled block


# --- the command and the pinned tools ------------------------------------------------------------------------


def staffsafe(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items()
             if not key.startswith(("STAFFSAFE_", "CLIENT_", "TENANT_", "Microsoft"))}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=clean | {"STAFFSAFE_CONFIG": str(ROOT / "app.yaml")} | (env or {}), timeout=60)


def test_the_command_writes_the_package(tmp_path):
    done = staffsafe("manifest", "teams", "--out", "staffsafe-teams.zip", "--app-id", APP_ID, "--website", WEBSITE,
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Wrote staffsafe-teams.zip" in done.stdout
    manifest = json.loads(zipfile.ZipFile(tmp_path / "staffsafe-teams.zip").read("manifest.json"))
    assert manifest["id"] == APP_ID and manifest["developer"]["websiteUrl"] == WEBSITE


def test_the_command_names_what_is_missing(tmp_path):
    no_out = staffsafe("manifest", "teams", "--app-id", APP_ID, "--website", WEBSITE, cwd=tmp_path)
    assert no_out.returncode == 2 and "--out staffsafe-teams.zip" in no_out.stderr
    no_id = staffsafe("manifest", "teams", "--out", "x.zip", "--website", WEBSITE, cwd=tmp_path)
    assert no_id.returncode == 2 and "CLIENT_ID" in no_id.stderr and "Traceback" not in no_id.stderr
    assert not (tmp_path / "x.zip").exists()


def test_the_npm_tools_are_pinned_exactly_and_locked():
    package = json.loads((TOOLS / "package.json").read_text())
    lock = json.loads((TOOLS / "package-lock.json").read_text())
    pins = package["devDependencies"]
    assert set(pins) == {"@microsoft/app-manifest", "@microsoft/m365agentsplayground"}
    for name, pinned in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), f"{name} must be pinned to one version, not {pinned!r}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == pinned
    assert "node_modules" in (ROOT / ".gitignore").read_text()

"""Teams settings: the Teams CLI's names first, botbuilder's as fallback; a half-set configuration names what is missing."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.settings import settings_from_env
from bot.teams.settings import (DEFAULT_LOGIN_HOST, DEFAULT_OPENID_METADATA_URL, AppType, TeamsConfigError,
                                TeamsSettings, teams_settings_from_env)

APP = "00000000-0000-4000-8000-00000000b0a7"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def refusal(env: dict[str, str]) -> str:
    with pytest.raises(TeamsConfigError) as raised:
        teams_settings_from_env(env)
    return str(raised.value)


def test_teams_is_off_when_nothing_of_it_is_set():
    assert teams_settings_from_env({}) is None
    assert teams_settings_from_env({"CLIENT_ID": "  ", "SLACK_BOT_TOKEN": "xoxb-1"}) is None
    assert settings_from_env({}).teams is None


def test_the_teams_cli_names_make_a_single_tenant_bot():
    teams = teams_settings_from_env({"CLIENT_ID": APP, "CLIENT_SECRET": "s3cret", "TENANT_ID": TENANT})
    assert teams == TeamsSettings(app_id=APP, app_type=AppType.SINGLE_TENANT, tenant_id=TENANT, client_secret="s3cret",
                                  openid_metadata_url=DEFAULT_OPENID_METADATA_URL, login_host=DEFAULT_LOGIN_HOST)
    assert teams.authority == f"https://login.microsoftonline.com/{TENANT}" and teams.checks_tenant
    assert "s3cret" not in repr(teams)
    assert settings_from_env({"CLIENT_ID": APP, "CLIENT_SECRET": "s3cret", "TENANT_ID": TENANT}).teams == teams


def test_botbuilder_names_are_the_fallback_and_the_teams_cli_names_win():
    env = {"MicrosoftAppId": APP, "MicrosoftAppPassword": "old", "MicrosoftAppTenantId": TENANT,
           "MicrosoftAppType": "singletenant"}
    teams = teams_settings_from_env(env)
    assert (teams.app_id, teams.client_secret, teams.tenant_id, teams.app_type) == \
        (APP, "old", TENANT, AppType.SINGLE_TENANT)
    assert teams_settings_from_env({**env, "CLIENT_SECRET": "new"}).client_secret == "new"


def test_a_managed_identity_needs_no_secret_and_a_legacy_multi_tenant_bot_no_tenant():
    msi = teams_settings_from_env({"CLIENT_ID": APP, "TENANT_ID": TENANT, "MicrosoftAppType": "UserAssignedMSI"})
    assert msi.app_type is AppType.USER_ASSIGNED_MSI and msi.client_secret == ""
    multi = teams_settings_from_env({"MicrosoftAppId": APP, "MicrosoftAppPassword": "s", "MicrosoftAppType": "MultiTenant"})
    assert multi.authority == "https://login.microsoftonline.com/botframework.com" and not multi.checks_tenant


def test_hosts_are_settings_for_sovereign_clouds_and_local_fakes():
    teams = teams_settings_from_env({"CLIENT_ID": APP, "CLIENT_SECRET": "s", "TENANT_ID": TENANT,
                                     "TEAMS_OPENID_METADATA_URL": "http://127.0.0.1:8123/v1/.well-known/openidconfiguration",
                                     "TEAMS_LOGIN_HOST": "https://login.microsoftonline.us/"})
    assert teams.openid_metadata_url == "http://127.0.0.1:8123/v1/.well-known/openidconfiguration"
    assert teams.authority == f"https://login.microsoftonline.us/{TENANT}"


# (the variables set, every phrase the refusal must contain)
HALF_SET = [
    ({"CLIENT_ID": APP}, ["CLIENT_SECRET (or MicrosoftAppPassword) is missing",
                          "TENANT_ID (or MicrosoftAppTenantId) is missing"]),
    ({"CLIENT_ID": APP, "CLIENT_SECRET": "s"}, ["TENANT_ID (or MicrosoftAppTenantId) is missing (a SingleTenant bot"]),
    ({"CLIENT_ID": APP, "TENANT_ID": TENANT}, ["CLIENT_SECRET (or MicrosoftAppPassword) is missing (a SingleTenant"]),
    ({"CLIENT_SECRET": "s", "TENANT_ID": TENANT}, ["CLIENT_ID (or MicrosoftAppId) is missing",
                                                   "CLIENT_SECRET, TENANT_ID is set"]),
    ({"MicrosoftAppId": APP, "MicrosoftAppType": "MultiTenant"}, ["CLIENT_SECRET (or MicrosoftAppPassword) is missing "
                                                                  "(a MultiTenant bot needs its client secret)"]),
    ({"CLIENT_ID": APP, "MicrosoftAppType": "UserAssignedMSI"}, ["TENANT_ID (or MicrosoftAppTenantId) is missing "
                                                                 "(a UserAssignedMSI bot"]),
    ({"CLIENT_ID": APP, "TENANT_ID": TENANT, "CLIENT_SECRET": "s", "MicrosoftAppType": "UserAssignedMSI"},
     ["is set, but a UserAssignedMSI bot signs in with its managed identity: remove the secret"]),
    ({"CLIENT_ID": APP, "TENANT_ID": TENANT, "CLIENT_SECRET": "s", "MicrosoftAppType": "Personal"},
     ["MicrosoftAppType is 'Personal'; use one of SingleTenant, UserAssignedMSI, MultiTenant"]),
    ({"CLIENT_ID": "my-bot", "TENANT_ID": "contoso.onmicrosoft.com", "CLIENT_SECRET": "s"},
     ["CLIENT_ID (or MicrosoftAppId) must be the bot's application (client) id, a GUID",
      "TENANT_ID (or MicrosoftAppTenantId) must be the tenant id, a GUID", "not a domain name"]),
    ({"TEAMS_LOGIN_HOST": "https://login.microsoftonline.us"}, ["CLIENT_ID (or MicrosoftAppId) is missing",
                                                                "TEAMS_LOGIN_HOST is set, so Teams is meant to run"]),
    ({"CLIENT_ID": APP, "TENANT_ID": TENANT, "CLIENT_SECRET": "s", "TEAMS_LOGIN_HOST": "http://127.0.0.1:9"},
     ["TEAMS_LOGIN_HOST must be an https:// address"]),
    ({"CLIENT_ID": APP, "TENANT_ID": TENANT, "CLIENT_SECRET": "s", "TEAMS_OPENID_METADATA_URL": "http://example.com/x"},
     ["TEAMS_OPENID_METADATA_URL must be an https:// address"]),
    ({"CLIENT_ID": APP, "TENANT_ID": TENANT, "CLIENT_SECRET": "s", "TEAMS_OPENID_METADATA_URL": "login.botframework"},
     ["TEAMS_OPENID_METADATA_URL is not an address"]),
]


@pytest.mark.parametrize("env, phrases", HALF_SET, ids=[", ".join(env) for env, _ in HALF_SET])
def test_a_half_set_configuration_names_what_is_missing(env, phrases):
    message = refusal(env)
    assert message.startswith("Teams settings: ")
    for phrase in phrases:
        assert phrase in message
    assert "s3cret" not in message


def test_the_secret_never_shows_in_a_refusal():
    message = refusal({"CLIENT_ID": "x", "CLIENT_SECRET": "s3cret-value"})
    assert "s3cret-value" not in message


def test_staffsafe_stops_with_one_line_naming_what_is_missing(monkeypatch, capsys):
    monkeypatch.setenv("CLIENT_ID", APP)
    monkeypatch.setenv("CLIENT_SECRET", "s3cret")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err == ("staffsafe: Teams settings: TENANT_ID (or MicrosoftAppTenantId) is missing "
                   "(a SingleTenant bot needs the id of its Entra tenant)\n")

"""The bot's tokens through msal against a local https Entra with a test CA: caching, managed identity, typed errors."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from bot.teams.settings import AppType
from bot.teams.tokens import (AppNotFound, BotTokens, TenantNotFound, TokenConfigError, TokenError, TokenRefused,
                              TokenUnavailable,
                              WrongSecret)
from testkit.fake_botframework import APP_ID, TENANT_ID
from testkit.fake_entra import IDENTITY_HEADER, FakeEntra
from bot.teams.settings import TeamsSettings

SECRET = "s3cret-value"


@pytest.fixture
def entra(tmp_path, monkeypatch):
    with FakeEntra(tenant_id=TENANT_ID, app_id=APP_ID, secret=SECRET, directory=tmp_path / "ca") as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_bundle))
        yield fake


@pytest.fixture
def teams(entra):
    return TeamsSettings(app_id=APP_ID, tenant_id=TENANT_ID, client_secret=SECRET, login_host=entra.login_host)


def test_a_token_comes_from_the_tenant_over_https_and_is_cached(entra, teams):
    tokens = BotTokens(settings=teams)
    token = tokens.token()
    assert token in entra.issued
    assert [tokens.token() for _ in range(5)] == [token] * 5
    assert (entra.requests("discovery"), entra.requests("token")) == (1, 1)
    body = entra.bodies[0]
    assert (body["grant_type"], body["scope"], body["client_id"]) == \
        ("client_credentials", "https://api.botframework.com/.default", APP_ID)


def test_an_expiring_token_is_fetched_again(tmp_path, monkeypatch):
    with FakeEntra(tenant_id=TENANT_ID, app_id=APP_ID, secret=SECRET, directory=tmp_path, expires_in=60) as entra:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(entra.ca_bundle))
        tokens = BotTokens(settings=TeamsSettings(app_id=APP_ID, tenant_id=TENANT_ID, client_secret=SECRET,
                                                  login_host=entra.login_host))
        assert tokens.token() != tokens.token()  # msal refreshes a token within 5 minutes of its expiry
        assert entra.requests("discovery") == 1  # one msal client


def test_without_the_test_ca_the_fake_is_not_trusted(entra, teams, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(TokenUnavailable) as raised:
        BotTokens(settings=teams).check()
    assert "SSLError" in str(raised.value)


def test_a_legacy_multi_tenant_bot_asks_the_botframework_tenant(entra, teams):
    tokens = BotTokens(settings=replace(teams, app_type=AppType.MULTI_TENANT, tenant_id=""))
    with pytest.raises(TenantNotFound) as raised:  # the fake knows only its own tenant: the request shows where it went
        tokens.check()
    assert "botframework.com" in str(raised.value)


# (what Entra answers, the error raised, its one line)
REFUSALS = [
    (700016, AppNotFound, f"Entra has no app {APP_ID} in tenant {TENANT_ID} (AADSTS700016): check CLIENT_ID, and "
                          "that the bot's app is registered in that tenant"),
    (7000215, WrongSecret, f"Entra refused the client secret of app {APP_ID} (AADSTS7000215): CLIENT_SECRET must be "
                           "the secret's value, not its id"),
    (7000222, WrongSecret, f"the client secret of app {APP_ID} has expired (AADSTS7000222): create a new one and set "
                           "CLIENT_SECRET"),
    (90002, TenantNotFound, f"Entra has no tenant {TENANT_ID} (AADSTS90002): check TENANT_ID and TEAMS_LOGIN_HOST "
                            "(the cloud)"),
    (53003, TokenRefused, f"a Conditional Access policy blocks app {APP_ID} (AADSTS53003)"),
    (70011, TokenRefused, f"Entra refused the bot's token for app {APP_ID} (invalid_scope, AADSTS70011): The "
                          "provided request must include a 'scope' input parameter"),
]


@pytest.mark.parametrize("code, kind, line", REFUSALS, ids=[str(code) for code, _, _ in REFUSALS])
def test_entra_refusals_become_typed_errors_with_one_clear_line(entra, teams, code, kind, line):
    entra.fail_next(aadsts=code)
    with pytest.raises(kind) as raised:
        BotTokens(settings=teams).check()
    assert str(raised.value) == line and raised.value.code == f"AADSTS{code}"
    assert isinstance(raised.value, TokenConfigError) and "\n" not in str(raised.value)
    assert SECRET not in str(raised.value)


def test_the_real_causes_give_the_same_errors(entra, teams):
    with pytest.raises(WrongSecret):
        BotTokens(settings=replace(teams, client_secret="wrong")).check()
    with pytest.raises(AppNotFound):
        BotTokens(settings=replace(teams, app_id="11111111-2222-3333-4444-555555555555")).check()
    with pytest.raises(TenantNotFound) as raised:  # discovery fails while msal builds its client
        BotTokens(settings=replace(teams, tenant_id="0f0f0f0f-0000-4000-8000-000000000000")).check()
    assert "AADSTS90002" in str(raised.value)


def test_a_refused_start_can_be_retried_once_fixed(entra, teams):
    entra.fail_next("discovery", status=503)
    tokens = BotTokens(settings=teams)
    with pytest.raises(TokenUnavailable):
        tokens.check()
    assert tokens.token() in entra.issued


def test_entra_failing_or_unreachable_is_temporary(entra, teams):
    tokens = BotTokens(settings=teams)
    tokens.check()
    entra.issued.clear()
    fresh = BotTokens(settings=teams)
    entra.fail_next(status=503, times=3)
    with pytest.raises(TokenUnavailable):
        fresh.token()
    entra.stop()
    with pytest.raises(TokenUnavailable) as raised:
        BotTokens(settings=teams).check()
    assert str(raised.value).startswith("Entra could not be reached at https://127.0.0.1:")


def test_a_user_assigned_managed_identity_needs_no_secret(entra, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", entra.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    teams = TeamsSettings(app_id=APP_ID, app_type=AppType.USER_ASSIGNED_MSI, tenant_id=TENANT_ID,
                          login_host=entra.login_host)
    tokens = BotTokens(settings=teams, http=requests.Session())
    token = tokens.token()
    assert token in entra.issued and tokens.token() == token
    assert (entra.requests("msi"), entra.requests("token")) == (1, 0)


def test_a_managed_identity_that_is_not_this_app_is_refused(entra, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", entra.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
    teams = TeamsSettings(app_id="11111111-2222-3333-4444-555555555555", app_type=AppType.USER_ASSIGNED_MSI,
                          tenant_id=TENANT_ID, login_host=entra.login_host)
    with pytest.raises(TokenError) as raised:
        BotTokens(settings=teams).check()
    assert "\n" not in str(raised.value)

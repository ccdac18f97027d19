"""The bot's own tokens for the Connector, from Microsoft Entra through msal.

    tokens = BotTokens(settings=teams)
    tokens.check()           # at start: TokenConfigError names a wrong app id, secret or tenant in one line
    headers = {"Authorization": f"Bearer {tokens.token()}"}

One msal client per process, built on first use and kept (with msal's own token cache, so a token is
fetched again only near its expiry). SingleTenant and MultiTenant bots use client credentials against
the login host (the tenant, or botframework.com for legacy MultiTenant bots; instance discovery off,
so sovereign clouds and local fakes work); UserAssignedMSI bots use msal's managed identity client.
Outbound https honours REQUESTS_CA_BUNDLE (requests reads it).

Errors (one line each, never the secret):

    TokenError
    ├── TokenConfigError (also a ConfigError)   Entra refused the bot's settings: fix them, then restart
    │   ├── AppNotFound       AADSTS700016: no such app in the tenant
    │   ├── WrongSecret       AADSTS7000215 / 7000222: the secret is wrong or expired
    │   ├── TenantNotFound    AADSTS90002 / 900023: no such tenant
    │   └── TokenRefused      any other refusal, with its AADSTS code
    └── TokenUnavailable      Entra unreachable, slow or failing (5xx): try again later
"""

from __future__ import annotations

import re
import threading
from typing import Any

import msal
import requests

from bot.domain.errors import ConfigError, StaffSafeError
from bot.teams.settings import AppType, TeamsSettings

BOTFRAMEWORK_SCOPE = "https://api.botframework.com/.default"
BOTFRAMEWORK_RESOURCE = "https://api.botframework.com"  # managed identities ask for a resource, not a scope
TIMEOUT = 10.0  # seconds msal waits on Entra per request

_AADSTS = re.compile(r"AADSTS(\d+)")
_AADSTS_PREFIX = re.compile(r"^AADSTS\d+:\s*")


class TokenError(StaffSafeError):
    """The bot could not get a token; the message is one line for people, with the AADSTS code if any."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # e.g. "AADSTS7000215", "" if Entra gave none


class TokenConfigError(TokenError, ConfigError):
    """Entra refused the bot's settings: nothing works until they are fixed."""


class AppNotFound(TokenConfigError):
    """AADSTS700016: the app id is not registered in (or consented to by) the tenant."""


class WrongSecret(TokenConfigError):
    """AADSTS7000215 / AADSTS7000222: the client secret is wrong or has expired."""


class TenantNotFound(TokenConfigError):
    """AADSTS90002 / AADSTS900023: no such tenant in this cloud."""


class TokenRefused(TokenConfigError):
    """Entra refused for another reason, named by its code."""


class TokenUnavailable(TokenError):
    """Entra could not be reached or failed (network, timeout, 5xx): worth trying again later."""


# What each code means for whoever runs the bot, and which error it is.
EXPLAINED: dict[str, tuple[type[TokenConfigError], str]] = {
    "700016": (AppNotFound, "Entra has no app {app_id} in tenant {tenant} (AADSTS700016): check CLIENT_ID, and that "
                            "the bot's app is registered in that tenant"),
    "7000215": (WrongSecret, "Entra refused the client secret of app {app_id} (AADSTS7000215): CLIENT_SECRET must be "
                             "the secret's value, not its id"),
    "7000222": (WrongSecret, "the client secret of app {app_id} has expired (AADSTS7000222): create a new one and set "
                             "CLIENT_SECRET"),
    "90002": (TenantNotFound, "Entra has no tenant {tenant} (AADSTS90002): check TENANT_ID and TEAMS_LOGIN_HOST "
                              "(the cloud)"),
    "900023": (TenantNotFound, "Entra does not accept {tenant} as a tenant (AADSTS900023): TENANT_ID must be the "
                               "tenant's id"),
    "7000112": (TokenRefused, "app {app_id} is disabled in Entra (AADSTS7000112)"),
    "53003": (TokenRefused, "a Conditional Access policy blocks app {app_id} (AADSTS53003)"),
    "700024": (TokenRefused, "Entra refused the app's credential as out of date (AADSTS700024): check the server's "
                             "clock"),
}


class BotTokens:
    """Access tokens for the Bot Connector, from one msal client kept for the life of the process."""

    def __init__(self, *, settings: TeamsSettings, http: requests.Session | None = None) -> None:
        self._settings = settings
        self._http = http or requests.Session()
        self._client: Any = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """A valid access token (from msal's cache while it lasts); TokenError if none can be had."""
        client = self._msal_client()
        try:
            if self._settings.app_type is AppType.USER_ASSIGNED_MSI:
                result = client.acquire_token_for_client(resource=BOTFRAMEWORK_RESOURCE)
            else:
                result = client.acquire_token_for_client(scopes=[BOTFRAMEWORK_SCOPE])
        except (requests.RequestException, msal.exceptions.MsalServiceError, msal.ManagedIdentityError,
                ValueError) as error:
            raise TokenUnavailable(f"Entra could not be reached for the bot's token ({type(error).__name__})") from None
        if not isinstance(result, dict) or "error" in result or not result.get("access_token"):
            raise self._explained(result if isinstance(result, dict) else {})
        return str(result["access_token"])

    def check(self) -> None:
        """Get a token now, so a wrong app id, secret or tenant stops the start with one line (TokenError)."""
        self.token()

    def _msal_client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> Any:
        settings = self._settings
        if settings.app_type is AppType.USER_ASSIGNED_MSI:
            return msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=settings.app_id),
                                              http_client=self._http, token_cache=msal.TokenCache())
        try:
            # Building the client asks the authority's tenant discovery: an unknown tenant fails here.
            return msal.ConfidentialClientApplication(
                settings.app_id, client_credential=settings.client_secret, authority=settings.authority,
                http_client=self._http, instance_discovery=False, timeout=TIMEOUT)
        except (requests.RequestException, msal.exceptions.MsalServiceError) as error:  # network, 5xx
            raise TokenUnavailable(f"Entra could not be reached at {settings.login_host} ({type(error).__name__})") \
                from None
        except ValueError as error:  # a failed discovery: Entra's answer is in the error msal wrapped
            answer = f"{error.__context__ or ''} {error}"
            if _code(answer):
                raise self._explained({"error": "discovery", "error_description": answer}) from None
            raise TenantNotFound(f"Entra's login host {settings.login_host} has no tenant {settings.authority.rsplit('/', 1)[-1]}: "
                                 "check TENANT_ID and TEAMS_LOGIN_HOST") from None

    def _explained(self, result: dict[str, Any]) -> TokenError:
        """A typed error for one of msal's error dictionaries."""
        description = str(result.get("error_description") or "")
        code = _code(description) or next((str(c) for c in result.get("error_codes") or () if str(c).isdigit()), "")
        tenant = self._settings.authority.rsplit("/", 1)[-1]
        if code in EXPLAINED:
            kind, words = EXPLAINED[code]
            return kind(words.format(app_id=self._settings.app_id, tenant=tenant), code=f"AADSTS{code}")
        error = str(result.get("error") or "no token")
        if not code and (error in {"temporarily_unavailable", "server_error"} or _is_http_failure(description)):
            return TokenUnavailable(f"Entra failed to issue the bot's token ({error})")
        first = _AADSTS_PREFIX.sub("", description).split(". ")[0].split(" Trace ID")[0][:200] if code else ""
        return TokenRefused(f"Entra refused the bot's token for app {self._settings.app_id} "
                            f"({error}{', AADSTS' + code if code else ''}){': ' + first if first else ''}",
                            code=f"AADSTS{code}" if code else "")


def _code(text: str) -> str:
    found = _AADSTS.search(text)
    return found.group(1) if found else ""


def _is_http_failure(description: str) -> bool:
    return description.startswith(("5", "HTTP 5"))

"""Teams settings: the bot's Entra app, how it proves who it is, and the hosts it trusts.

Read from the names the Teams CLI and Teams SDK write (`CLIENT_ID`, `CLIENT_SECRET`, `TENANT_ID`), with
botbuilder's names as fallback (`MicrosoftAppId`, `MicrosoftAppPassword`, `MicrosoftAppTenantId`,
`MicrosoftAppType`). Teams is on only when some of them are set; a half-set configuration is refused
with every missing or wrong setting named, so `staffsafe serve` stops before anything starts.
Only `bot/settings.py` reads the environment: it hands the variables to `teams_settings_from_env`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlsplit

from bot.domain.errors import ConfigError

DEFAULT_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
DEFAULT_LOGIN_HOST = "https://login.microsoftonline.com"
MULTI_TENANT_AUTHORITY_TENANT = "botframework.com"  # legacy multi-tenant bots get tokens from this tenant
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AppType(Enum):
    """How the bot's Entra app is registered (botbuilder's MicrosoftAppType values)."""

    SINGLE_TENANT = "SingleTenant"  # the default: multi-tenant bots cannot be registered since July 2025
    USER_ASSIGNED_MSI = "UserAssignedMSI"  # a managed identity: no secret
    MULTI_TENANT = "MultiTenant"  # legacy


class TeamsConfigError(ConfigError):
    """The Teams settings are half-set or wrong; the message names each setting to fix."""


@dataclass(frozen=True, kw_only=True)
class TeamsSettings:
    """Who the bot is on Teams and which hosts it trusts (checked when built: see `teams_settings_from_env`)."""

    app_id: str  # the Entra application (client) id: the audience of inbound tokens
    app_type: AppType = AppType.SINGLE_TENANT
    tenant_id: str = ""  # the Entra tenant the bot serves ("" only for MultiTenant)
    client_secret: str = field(default="", repr=False)
    openid_metadata_url: str = DEFAULT_OPENID_METADATA_URL
    login_host: str = DEFAULT_LOGIN_HOST  # no trailing slash

    @property
    def authority(self) -> str:
        """Where msal asks for the bot's tokens: the login host and the tenant (botframework.com for MultiTenant)."""
        tenant = MULTI_TENANT_AUTHORITY_TENANT if self.app_type is AppType.MULTI_TENANT else self.tenant_id
        return f"{self.login_host}/{tenant}"

    @property
    def checks_tenant(self) -> bool:
        """Whether inbound activities must come from the configured tenant (all but legacy MultiTenant bots)."""
        return self.app_type is not AppType.MULTI_TENANT


# Each setting and its botbuilder fallback, as they are named in messages.
APP_ID = ("CLIENT_ID", "MicrosoftAppId")
SECRET = ("CLIENT_SECRET", "MicrosoftAppPassword")
TENANT = ("TENANT_ID", "MicrosoftAppTenantId")
APP_TYPE = ("MicrosoftAppType",)
METADATA = ("TEAMS_OPENID_METADATA_URL",)
LOGIN_HOST = ("TEAMS_LOGIN_HOST",)
ALL_NAMES = (*APP_ID, *SECRET, *TENANT, *APP_TYPE, *METADATA, *LOGIN_HOST)


def teams_settings_from_env(env: Mapping[str, str]) -> TeamsSettings | None:
    """Teams settings from these variables; None when none is set; TeamsConfigError naming what is missing."""
    present = [name for name in ALL_NAMES if env.get(name, "").strip()]
    if not present:
        return None
    values = {names: _first(env, names) for names in (APP_ID, SECRET, TENANT, APP_TYPE, METADATA, LOGIN_HOST)}
    problems: list[str] = []
    app_type = _app_type(values[APP_TYPE], problems)
    app_id, secret, tenant = values[APP_ID], values[SECRET], values[TENANT]
    if not app_id:
        problems.append(f"{_named(APP_ID)} is missing (the bot's Entra application id; {', '.join(present)} "
                        "is set, so Teams is meant to run)")
    elif not _GUID.fullmatch(app_id):
        problems.append(f"{_named(APP_ID)} must be the bot's application (client) id, a GUID like "
                        "00000000-0000-0000-0000-000000000000")
    if app_type is not None:
        problems += _type_problems(app_type, secret=secret, tenant=tenant)
    metadata_url = _url(values[METADATA] or DEFAULT_OPENID_METADATA_URL, METADATA, problems)
    login_host = _url(values[LOGIN_HOST] or DEFAULT_LOGIN_HOST, LOGIN_HOST, problems, loopback_http=False)
    if problems:
        raise TeamsConfigError("Teams settings: " + "; ".join(problems))
    assert app_type is not None
    return TeamsSettings(app_id=app_id, app_type=app_type, tenant_id=tenant, client_secret=secret,
                         openid_metadata_url=metadata_url, login_host=login_host.rstrip("/"))


def _type_problems(app_type: AppType, *, secret: str, tenant: str) -> list[str]:
    """What this app type needs and lacks."""
    problems = []
    kind = f"a {app_type.value} bot"
    if app_type is AppType.USER_ASSIGNED_MSI and secret:
        problems.append(f"{_named(SECRET)} is set, but {kind} signs in with its managed identity: remove the secret")
    if app_type is not AppType.USER_ASSIGNED_MSI and not secret:
        problems.append(f"{_named(SECRET)} is missing ({kind} needs its client secret)")
    if app_type is not AppType.MULTI_TENANT and not tenant:
        problems.append(f"{_named(TENANT)} is missing ({kind} needs the id of its Entra tenant)")
    elif tenant and not _GUID.fullmatch(tenant):
        problems.append(f"{_named(TENANT)} must be the tenant id, a GUID like 00000000-0000-0000-0000-000000000000 "
                        "(not a domain name: Teams names tenants by id)")
    return problems


def _app_type(value: str, problems: list[str]) -> AppType | None:
    if not value:
        return AppType.SINGLE_TENANT
    for app_type in AppType:
        if value.lower() == app_type.value.lower():
            return app_type
    problems.append(f"MicrosoftAppType is {value!r}; use one of " + ", ".join(t.value for t in AppType))
    return None


def _url(value: str, names: tuple[str, ...], problems: list[str], *, loopback_http: bool = True) -> str:
    """An https address (http only on loopback, for local fakes, where allowed)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or not host or parts.username or parts.password:
        problems.append(f"{_named(names)} is not an address: {value!r}")
    elif parts.scheme != "https" and not (loopback_http and parts.scheme == "http" and host in LOOPBACK_HOSTS):
        problems.append(f"{_named(names)} must be an https:// address: {value!r}")
    return value


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> str:
    return next((value for value in (env.get(name, "").strip() for name in names) if value), "")


def _named(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} (or {names[1]})"

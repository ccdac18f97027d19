"""`staffsafe serve --playground`: Teams without Microsoft's sign-in, for the Microsoft 365 Agents Playground.

The Playground (npm `@microsoft/m365agentsplayground`) runs on the developer's machine, sends Teams-shaped
activities with no token and plays the Bot Connector itself: the bot answers to its `serviceUrl`. So in
this mode inbound token checks and msal are off, which is only safe if nothing but this machine can talk
to the bot and the bot talks to nothing but this machine: the server listens on loopback only, activities
whose `serviceUrl` is not on loopback are refused (403), and the Connector is never called elsewhere.
Every start says so, loudly.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.app import TeamsConnection
from bot.domain.errors import ConfigError
from bot.domain.ports import PermanentFailure
from bot.domain.report import MAX_EVIDENCE_BYTES
from bot.pacing import RateWindows
from bot.teams.activity import Activity
from bot.teams.connector import ConnectorClient, Download
from bot.teams.auth import AuthRejected
from bot.settings import Settings

log = logging.getLogger("staffsafe.playground")

Json = dict[str, Any]
PLAYGROUND_APP_ID = "00000000-0000-0000-0000-000000000000"  # the bot's id without CLIENT_ID (the Playground takes any)
PLAYGROUND_WARNING = """
!!! PLAYGROUND MODE: Teams requests are NOT authenticated !!!
No Bot Framework token is checked and no Entra token is fetched: this is for the Microsoft 365 Agents
Playground on this machine only. StaffSafe listens on {host} only, answers only activities whose
serviceUrl is on this machine, serves Teams only (not Slack), and keeps its data in {data_dir}.
Never use --playground with real staff, real reports or a real data folder."""


def is_loopback(host: str) -> bool:
    """Whether a host name or address can only be this machine (localhost, 127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def loopback_url(url: str) -> bool:
    """Whether an http(s) URL points at this machine."""
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and is_loopback(parts.hostname or "")
    except ValueError:
        return False


def check_listen_host(host: str) -> None:
    """ConfigError unless the server would listen on loopback only."""
    if not is_loopback(host):
        raise ConfigError(f"--playground serves without authentication, so it listens on 127.0.0.1 only: "
                          f"{host!r} is not a loopback address (unset HOST or drop --host)")


def announce(host: str, data_dir: Path) -> None:
    """Say, on every start, that nothing is authenticated (a warning on the log, which is the terminal)."""
    log.warning(PLAYGROUND_WARNING.format(host=host, data_dir=data_dir))


class UnauthenticatedAuth:
    """Inbound "authentication" for the Playground: no token is asked for; the activity must come from loopback."""

    def verify(self, authorization: str | None) -> None:
        """Accept any request: the Playground sends no token (the listen address keeps others out)."""
        return None

    def check_activity(self, claims: None, activity: Activity) -> None:
        """Refused (403) unless the activity's serviceUrl is on this machine: the bot would answer there."""
        if not loopback_url(activity.service_url):
            raise AuthRejected(403, "playground mode: serviceUrl not on loopback")


class NoTokens:
    """The bot's outbound "tokens" in playground mode: none (the Playground's Connector asks for none)."""

    def token(self) -> str:
        """No token: the Connector client sends no Authorization header."""
        return ""

    def check(self) -> None:
        """Nothing to check with Entra."""


class LoopbackConnector:
    """The Connector client for the Playground: no token, and service URLs on this machine only.

    tproto's ConnectorClient sends to the origins it is given; the Playground's port is only known from the
    activities, so one client is made per loopback origin, and every other address is refused before any
    request (a stored conversation may name real Teams).
    """

    def __init__(self, *, app_id: str, tenant_id: str) -> None:
        self._app_id, self._tenant_id = app_id, tenant_id
        self._windows = RateWindows()  # Teams' pacing, shared by every origin
        self._clients: dict[str, ConnectorClient] = {}
        self._lock = threading.Lock()

    def send(self, service_url: str, conversation_id: str, activity: Json) -> str:
        """Post an activity into a conversation."""
        return self._client(service_url).send(service_url, conversation_id, activity)

    def reply(self, service_url: str, conversation_id: str, reply_to_id: str, activity: Json) -> str:
        """Post an activity as a reply to another."""
        return self._client(service_url).reply(service_url, conversation_id, reply_to_id, activity)

    def update(self, service_url: str, conversation_id: str, activity_id: str, activity: Json) -> None:
        """Replace an activity sent earlier."""
        self._client(service_url).update(service_url, conversation_id, activity_id, activity)

    def create_conversation(self, service_url: str, *, member_id: str, tenant: str = "") -> str:
        """Open (or find) the bot's 1:1 conversation with a person."""
        return self._client(service_url).create_conversation(service_url, member_id=member_id, tenant=tenant)

    def download(self, url: str, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> Download:
        """An attachment from this machine."""
        return self._client(url).download(url, max_bytes=max_bytes)

    def _client(self, url: str) -> ConnectorClient:
        if not loopback_url(url):
            raise PermanentFailure("ServiceUrlNotAllowed")  # as tproto's client names it
        origin = "{}://{}".format(*urlsplit(url)[:2])
        with self._lock:
            if origin not in self._clients:
                self._clients[origin] = ConnectorClient(tokens=NoTokens(), app_id=self._app_id,
                                                        tenant_id=self._tenant_id, windows=self._windows,
                                                        allowed_origins=(origin,))
            return self._clients[origin]


def playground_connection(settings: Settings) -> TeamsConnection:
    """What Teams needs from outside, for the Playground: no inbound token checks, no Entra, loopback only."""
    teams = settings.teams
    connector = LoopbackConnector(app_id=teams.app_id if teams else PLAYGROUND_APP_ID,
                                  tenant_id=teams.tenant_id if teams else "")
    return TeamsConnection(auth=UnauthenticatedAuth(), connector=connector, downloads=connector)

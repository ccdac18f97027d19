"""The Bot Connector REST API (v3) over requests: send, reply, update, create a 1:1 conversation, download.

    connector = ConnectorClient(tokens=BotTokens(settings=teams), app_id=teams.app_id, tenant_id=teams.tenant_id)
    activity_id = connector.send(ref.service_url, ref.conversation, {"type": "message", "attachments": [...]})

Used by the outbox worker only, so it never retries by itself: each failure is raised as the core's
retry category and the outbox decides, durably, when to try again.

- TemporaryFailure: 412, 503, other 5xx, 401 (a token Teams no longer takes), no bot token from Entra,
  and connection failures before the request was sent (refused, connect timeout, TLS).
- RateLimited: 429, with the Retry-After Teams gave (seconds or an HTTP date).
- UncertainDelivery: the connection dropped or timed out after a send was written, or 502 / 504 on a
  send (a gateway gave up; Teams may have posted it). Teams cannot be searched for a message, so the
  outbox warns that a retry may show twice.
- PermanentFailure: every other answer, carrying Teams' error code (never its message):
  `BotNotInConversationRoster` (the bot was removed or the user uninstalled it), `MessageWritesBlocked`
  (the user blocked the bot), `ConversationNotFound` ... The outbox closes the item as refused and tells
  the admins; nothing is retried for ever.

The bot token goes only to the Teams / Bot Framework service hosts (https) and any origin named in
`allowed_origins` (local fakes, the Agents Playground); the service URL's own path is kept
(`https://smba.trafficmanager.net/teams/` -> `.../teams/v3/conversations/...`). Requests are paced to
Teams' published limits, for every thread of the process: see `teams_limits`.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from bot.domain.ports import PermanentFailure, RateLimited, TemporaryFailure, UncertainDelivery
from bot.domain.report import MAX_EVIDENCE_BYTES
from bot.origins import Origin, origin_of
from bot.pacing import Limit, RateWindows
from bot.teams.channels import Team, TeamChannel
from bot.teams.tokens import TokenError

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 20.0)  # connect, read: the outbox's lease allows a try ~20 s
RETRIED = frozenset({412, 429, 500, 502, 503, 504})
MAYBE_ACTED = frozenset({500, 502, 504})  # a send answered so may still have been posted
# Teams' service hosts in the public and sovereign clouds (https, port 443 only).
TEAMS_HOSTS = re.compile(r"smba\.trafficmanager\.net|([a-z0-9-]+\.)*(botframework\.com|botframework\.azure\.us"
                         r"|teams\.microsoft\.com|teams\.microsoft\.us|botframework\.azure\.cn)")
_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,80}")

# Teams' limits (learn.microsoft.com, "Optimize your bot: rate limiting"): per bot and conversation
# ("thread"), and 50 requests a second per app and tenant.
CONVERSATION_LIMITS = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
TENANT_LIMIT = (50, 1.0)
# Requests that leave exactly a window apart may arrive closer together: each window is paced this much wider.
JITTER = 0.05


def teams_limits(tenant_id: str, conversation_id: str = "") -> tuple[Limit, ...]:
    """The limits one request counts against: its tenant's, and its conversation's if it has one."""
    count, seconds = TENANT_LIMIT
    limits = [Limit(f"teams-tenant:{tenant_id}", count, seconds + JITTER)]
    if conversation_id:
        limits += [Limit(f"teams-conversation:{conversation_id}", count, seconds + JITTER)
                   for count, seconds in CONVERSATION_LIMITS]
    return tuple(limits)


class TokenSource(Protocol):
    """Hands out the bot's access token (BotTokens)."""

    def token(self) -> str:
        """A valid access token; TokenError if none can be had."""
        ...


@dataclass(frozen=True)
class StreamedDownload:
    """An attachment being downloaded: its media type, and its bytes as they arrive (iterated once)."""

    media_type: str
    chunks: Iterator[bytes] = field(repr=False)


class Download(NamedTuple):
    """An attachment fetched from Teams: its bytes and media type (unpacks as `data, media_type`)."""

    data: bytes
    media_type: str


def service_url_allowed(url: str, allowed_origins: Iterable[str] = ()) -> bool:
    """Whether the bot token may go to this address: Teams' https hosts, or an origin configured for tests."""
    where = origin_of(url)
    if where is None:
        return False
    if where in {origin_of(origin) for origin in allowed_origins}:
        return True
    return where[0] == "https" and where[2] == 443 and bool(TEAMS_HOSTS.fullmatch(where[1]))


class ConnectorClient:
    """Bot Connector calls with the bot's token, mapped to the outbox's retry categories."""

    def __init__(self, *, tokens: TokenSource, app_id: str, tenant_id: str, http: requests.Session | None = None,
                 windows: RateWindows | None = None, allowed_origins: Iterable[str] = ()) -> None:
        self._tokens = tokens
        self._app_id = app_id
        self._tenant_id = tenant_id
        self._http = http or requests.Session()
        self._windows = windows or RateWindows()
        self._allowed: frozenset[Origin] = frozenset(o for o in map(origin_of, allowed_origins) if o)

    def send(self, service_url: str, conversation_id: str, activity: dict[str, Any]) -> str:
        """Post an activity to a conversation; returns the new activity's id ("" if Teams gave none)."""
        url = _conversation_url(service_url, conversation_id) + "/activities"
        return _id(self._call("POST", url, activity, conversation_id, sends=True))

    def reply(self, service_url: str, conversation_id: str, reply_to_id: str, activity: dict[str, Any]) -> str:
        """Post an activity as a reply to another (a channel thread); returns the new activity's id."""
        url = f"{_conversation_url(service_url, conversation_id)}/activities/{quote(reply_to_id, safe='')}"
        return _id(self._call("POST", url, activity, conversation_id, sends=True))

    def update(self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]) -> None:
        """Replace an activity the bot sent earlier (an alert as its case moves)."""
        url = f"{_conversation_url(service_url, conversation_id)}/activities/{quote(activity_id, safe='')}"
        self._call("PUT", url, {**activity, "id": activity_id}, conversation_id, sends=False)

    def create_conversation(self, service_url: str, *, member_id: str, tenant: str = "") -> str:
        """The id of the bot's 1:1 conversation with a person (Teams returns the existing one if there is one).

        `member_id` is the person's Teams user id ("29:..."); `tenant` defaults to the configured tenant.
        """
        tenant = tenant or self._tenant_id
        body = {"bot": {"id": f"28:{self._app_id}"}, "members": [{"id": member_id}], "isGroup": False,
                "tenantId": tenant, "channelData": {"tenant": {"id": tenant}}}
        conversation = _id(self._call("POST", _base(service_url) + "v3/conversations", body, "", sends=False))
        if not conversation:
            raise TemporaryFailure("Teams created a conversation without an id")
        return conversation

    def team(self, service_url: str, team_id: str) -> Team:
        """A team the bot is installed in: its name and channels (the General channel's name is "")."""
        url = f"{_base(service_url)}v3/teams/{quote(team_id, safe='')}"
        details = self._call("GET", url, None, "", sends=False)
        listed = self._call("GET", url + "/conversations", None, "", sends=False)
        rows = listed.get("conversations") if isinstance(listed, dict) else None
        channels = tuple(TeamChannel(id=row["id"], name=row.get("name") if isinstance(row.get("name"), str) else "")
                         for row in rows or () if isinstance(row, dict) and isinstance(row.get("id"), str))
        name = details.get("name") if isinstance(details, dict) else None
        return Team(name=name if isinstance(name, str) else "", channels=channels)

    def download(self, url: str, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> Download:
        """An attachment whole (see `open_download`), unpacking as `data, media_type`."""
        with self.open_download(url, max_bytes=max_bytes) as streamed:
            return Download(data=b"".join(streamed.chunks), media_type=streamed.media_type)

    @contextmanager
    def open_download(self, url: str, *, max_bytes: int = MAX_EVIDENCE_BYTES) -> Iterator[StreamedDownload]:
        """Stream an attachment from Teams' own hosts with the bot token, refused past `max_bytes`.

        Used as `with connector.open_download(url) as streamed: for chunk in streamed.chunks: ...`; the
        chunks raise PermanentFailure("FileTooLarge") past the cap and TemporaryFailure if the connection drops.
        """
        headers = self._headers(url)
        self._pace("")
        try:
            with self._http.get(url, headers=headers, timeout=TIMEOUT, stream=True, allow_redirects=False) as response:
                if response.status_code != 200:
                    _raise_for(response, sends=False)
                if _content_length(response) > max_bytes:
                    raise PermanentFailure("FileTooLarge")
                media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
                yield StreamedDownload(media_type=media_type, chunks=_chunks(response, max_bytes))
        except requests.RequestException as error:
            raise _connection_failure(error, sends=False) from None

    def _call(self, method: str, url: str, body: dict[str, Any] | None, conversation_id: str, *, sends: bool) -> Any:
        headers = self._headers(url)
        self._pace(conversation_id)
        try:
            response = self._http.request(method, url, json=body, headers=headers, timeout=TIMEOUT,
                                          allow_redirects=False)
        except requests.RequestException as error:
            raise _connection_failure(error, sends=sends) from None
        if response.status_code not in (200, 201, 202):
            _raise_for(response, sends=sends)
        try:
            return response.json()
        except ValueError:
            return {}

    def _headers(self, url: str) -> dict[str, str]:
        """The bot token for an allowed address; PermanentFailure for any other (it is never sent there)."""
        where = origin_of(url)
        if where is None or not (where in self._allowed or service_url_allowed(url)):
            raise PermanentFailure("ServiceUrlNotAllowed")
        try:
            token = self._tokens.token()
        except TokenError as error:
            # A wrong secret too: fixing the settings lets the outbox deliver what waits.
            log.error("no bot token for Teams: %s", error)
            raise TemporaryFailure(f"no bot token ({type(error).__name__})") from None
        return {"Authorization": f"Bearer {token}"} if token else {}  # "": a local Connector that asks for none

    def _pace(self, conversation_id: str) -> None:
        wait = self._windows.take(*teams_limits(self._tenant_id, conversation_id))
        if wait > 0:
            # Our own pacing, not Teams' 429: only this item waits (the outbox hands it back).
            raise TemporaryFailure("paced to Teams' rate limits", retry_after=wait)


def _base(service_url: str) -> str:
    return service_url if service_url.endswith("/") else service_url + "/"


def _conversation_url(service_url: str, conversation_id: str) -> str:
    return f"{_base(service_url)}v3/conversations/{quote(conversation_id, safe='')}"


def _id(answer: Any) -> str:
    value = answer.get("id") if isinstance(answer, dict) else None
    return value if isinstance(value, str) else ""


def _raise_for(response: requests.Response, *, sends: bool) -> None:
    """Raise the retry category of a Connector answer other than success."""
    status = response.status_code
    if status == 429:
        raise RateLimited("Teams answered 429", _retry_after(response.headers.get("Retry-After")))
    if status in RETRIED or status >= 500:
        kind = UncertainDelivery if sends and status in MAYBE_ACTED else TemporaryFailure
        raise kind(f"Teams answered {status}", _retry_after(response.headers.get("Retry-After")))
    if status == 401:
        raise TemporaryFailure("Teams refused the bot token (401)")
    raise PermanentFailure(_error_code(response) or f"HTTP{status}")


def _error_code(response: requests.Response) -> str:
    """Teams' error code ("BotNotInConversationRoster"), never its message (which may quote ids or content)."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return ""
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and _CODE.fullmatch(code) else ""


def _connection_failure(error: requests.RequestException, *, sends: bool) -> TemporaryFailure:
    """Nothing was sent (refused, connect timeout, TLS), or a send may have arrived (dropped or timed out after)."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    not_sent = isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError)) or \
        isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    kind = UncertainDelivery if sends and not not_sent else TemporaryFailure
    return kind(type(error).__name__)


def _content_length(response: requests.Response) -> int:
    try:
        return int(response.headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def _chunks(response: requests.Response, max_bytes: int) -> Iterator[bytes]:
    """A download's bytes as they arrive, stopped past `max_bytes` whatever Content-Length said."""
    total = 0
    try:
        for chunk in response.iter_content(64 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise PermanentFailure("FileTooLarge")
            yield chunk
    except requests.RequestException as error:
        raise _connection_failure(error, sends=False) from None


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())

"""Delivery on Slack: posts cards to the leads' channel or a DM, uploads exports and evidence copies, streams
uploaded screenshots in.

Used only by the outbox worker. Its WebClient has no automatic retries: the outbox decides when
to try again, and after a failure whose outcome is unknown (the connection dropped after the
request was sent) it looks for the message first, so a retry never posts twice.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPException
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.origins import origin_of
from bot.domain.ports import (
    Destination, FetchedFile, OutgoingFile, PermanentFailure, RateLimited, TemporaryFailure, UncertainDelivery, capped,
)
from bot.domain.platform import SLACK, Capabilities, local_id
from bot.domain.report import MAX_EVIDENCE_BYTES
from bot.domain.ui import Card, Document, Reply
from bot.slack.blocks import render_reply

log = logging.getLogger(__name__)

METADATA_EVENT = "staffsafe_delivery"  # marks our posts so an uncertain one can be found again
# Slack answers these with HTTP 200 and ok=false, but they are worth retrying.
TEMPORARY_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


# Ephemeral replies inside channels; conversations.history finds a post whose outcome was unknown.
SLACK_CAPABILITIES = Capabilities(private_reply_in_channel=True, history_lookup=True, file_copies=True)


def user_id(qualified: str) -> str:
    """A Slack user id from a platform-qualified id ("slack:U123" -> "U123")."""
    return local_id(qualified)


_SLACK_HOST = re.compile(r"([a-z0-9-]+\.)*slack\.com")


def token_may_go_to(url: str, *, api_url: str) -> bool:
    """Whether the bot token may be sent to this address: Slack's own https hosts, or the API's host.

    The address comes from Slack's answer about a file, but is checked as if hostile (see `origin_of`).
    """
    where = origin_of(url)
    if where is None:
        return False
    if where == origin_of(api_url):
        return True  # GovSlack, or a local fake in tests
    return where[0] == "https" and where[2] == 443 and bool(_SLACK_HOST.fullmatch(where[1]))


class SlackNotifier:
    """Posts to the leads' channel and to DMs, and uploads documents, through one WebClient."""

    platform = SLACK

    def __init__(self, *, client: WebClient, lead_channel: str, http: requests.Session | None = None) -> None:
        self._client = client
        self._lead_channel = lead_channel
        self._http = http or requests.Session()
        self._dm_channels: dict[str, str] = {}

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        """Post the card; returns the message ts. A possibly-sent earlier try is looked up first."""
        channel = self._channel(destination)
        messages = render_reply(Reply(cards=(card,)))
        stamps = []
        for part, (text, blocks) in enumerate(messages):
            key = idempotency_key if part == 0 else f"{idempotency_key}:{part}"
            found = self._find_posted(channel, key) if maybe_sent else None
            stamps.append(found or self._post(channel, text, blocks, key))
        return stamps[0]

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        """Edit a message posted earlier (the leads' alert) to show the card instead."""
        channel = self._channel(destination)
        text, blocks = render_reply(Reply(cards=(card,)))[0]
        _call(lambda: self._client.chat_update(channel=channel, ts=message_id, text=text, blocks=blocks))

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        """Upload a document as a file into the person's DM; returns the file id."""
        channel = self._channel(destination)
        response = _call(lambda: self._client.files_upload_v2(
            channel=channel, content=document.text, filename=document.filename, title=document.filename))
        return str(response.get("file", {}).get("id", ""))

    def upload_file(self, destination: Destination, file: OutgoingFile, *, idempotency_key: str) -> str:
        """Upload a stored file into the person's DM, streamed to Slack's upload address; returns the file id.

        Slack's external upload takes the length first, then the bytes: they go out chunk by chunk as
        the store decrypts them, never whole in memory.
        """
        channel = self._channel(destination)
        name = file.name or "evidence"
        ticket = _call(lambda: self._client.files_getUploadURLExternal(filename=name, length=file.size))
        url, new_id = str(ticket.get("upload_url") or ""), str(ticket.get("file_id") or "")
        if not token_may_go_to(url, api_url=self._client.base_url):
            raise PermanentFailure("the upload address is not a Slack host")
        try:
            with self._http.post(url, data=_SizedBody(file.open(), file.size), timeout=60,
                                 allow_redirects=False) as response:
                _check_transfer(response, "upload")
        except requests.RequestException as error:
            raise TemporaryFailure(type(error).__name__) from None
        _call(lambda: self._client.files_completeUploadExternal(files=[{"id": new_id, "title": name}],
                                                                channel_id=channel))
        return new_id

    @contextmanager
    def fetch_file(self, file_id: str) -> Iterator[FetchedFile]:
        """Stream a file a user uploaded (a report's screenshot) with the bot token, 64 KiB at a time."""
        info = _call(lambda: self._client.files_info(file=file_id))["file"]
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        if not token_may_go_to(url, api_url=self._client.base_url):
            raise PermanentFailure("the file's download address is not a Slack host")
        if int(info.get("size") or 0) > MAX_EVIDENCE_BYTES:
            raise PermanentFailure("the file is larger than 10 MB")
        try:
            with self._http.get(url, headers={"Authorization": f"Bearer {self._client.token}"},
                                timeout=30, stream=True, allow_redirects=False) as response:
                _check_transfer(response, "download")
                yield FetchedFile(name=str(info.get("name") or file_id), media_type=str(info.get("mimetype") or ""),
                                  chunks=_streamed(response))
        except requests.RequestException as error:
            raise TemporaryFailure(type(error).__name__) from None

    def _channel(self, destination: Destination) -> str:
        if destination.leads:
            return self._lead_channel
        if destination.channel:
            return local_id(destination.channel)
        person = user_id(destination.user_id)
        if person not in self._dm_channels:
            response = _call(lambda: self._client.conversations_open(users=person))
            self._dm_channels[person] = response["channel"]["id"]
        return self._dm_channels[person]

    def _post(self, channel: str, text: str, blocks: list[dict], key: str) -> str:
        response = _call(lambda: self._client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
        ))
        return str(response["ts"])

    def _find_posted(self, channel: str, key: str) -> str | None:
        """The ts of a message we posted under this key, if the uncertain try did land."""
        cursor = None
        for _ in range(5):  # the uncertain post is recent: a few pages are plenty
            response = _call(lambda: self._client.conversations_history(
                channel=channel, limit=200, include_all_metadata=True, cursor=cursor))
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == METADATA_EVENT and metadata.get("event_payload", {}).get("key") == key:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None


def _check_transfer(response: requests.Response, what: str) -> None:
    """Raise what a file transfer's answer means for the outbox (retry later, or refused for good)."""
    if response.status_code == 429 or response.status_code >= 500:
        raise TemporaryFailure(f"{what} answered {response.status_code}",
                               _retry_after(response.headers.get("Retry-After")))
    if response.status_code != 200:
        raise PermanentFailure(f"{what} answered {response.status_code}")


def _streamed(response: requests.Response) -> Iterator[bytes]:
    """A download's bytes as they arrive, refused past 10 MB whatever Slack said its size was."""
    try:
        yield from capped(response.iter_content(64 * 1024), MAX_EVIDENCE_BYTES)
    except requests.RequestException as error:
        raise TemporaryFailure(type(error).__name__) from None


class _SizedBody:
    """An upload body whose length is known: sent with Content-Length, chunk by chunk as it is iterated."""

    def __init__(self, chunks: Iterator[bytes], size: int) -> None:
        self._chunks = chunks
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


def _call(request):
    """Run one Web API call, turning Slack's failures into the outbox's retry categories."""
    try:
        return request()
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error", "")) if isinstance(error.response.data, dict) else ""
        if status == 429:
            raise RateLimited("rate limited", _retry_after(error.response.headers.get("Retry-After"))) from None
        if status >= 500:
            # A 5xx may come after Slack acted on the request: treat the outcome as unknown.
            raise UncertainDelivery(f"Slack answered {status}") from None
        if code in TEMPORARY_ERRORS:
            raise TemporaryFailure(code) from None
        raise PermanentFailure(code or f"HTTP {status}") from None
    except (HTTPException, OSError) as error:  # URLError, resets and timeouts are OSErrors
        raise UncertainDelivery(type(error).__name__) from None


def _retry_after(value: object) -> float | None:
    try:
        return max(0.0, float(str(value)))
    except (TypeError, ValueError):
        return None

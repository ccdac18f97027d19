"""Socket Mode's front door: each envelope gets the HTTP door's shape and workspace checks before Bolt.

Socket Mode needs no signature (the app token opens the connection), but a payload is still checked
as the HTTP door checks it (bot/slack/payloads.py, SlackHttpApp.screen): one Bolt cannot read, one
from another workspace or app, or one for a form, button or command this app does not have is
acknowledged, or Slack would send it again and again, but not handled, with one rate-limited,
content-free line. Slack's redelivery of an event already handled (`retry_attempt`) is acknowledged only.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.incidents import log_incident
from bot.slack.http import ALREADY_HANDLED, SlackHttpApp
from bot.slack.payloads import Malformed, check_payload

log = logging.getLogger(__name__)

Envelope = dict[str, Any]


class ScreenedSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler, with every envelope screened by the HTTP front door's checks first."""

    def __init__(self, app: App, *, door: SlackHttpApp, **options: Any) -> None:
        super().__init__(app, **options)
        self._door = door
        # The raw envelope, not the library's SocketModeRequest: building one fails on a payload
        # that is not an object, before any request listener could acknowledge it.
        self.client.socket_mode_request_listeners.remove(self.handle)
        self.client.message_listeners.append(self.screen)

    def screen(self, client: BaseSocketModeClient, envelope: Envelope, raw: str | None = None) -> None:
        """Hand one envelope to Bolt if it is well formed and for this workspace; else acknowledge and drop it."""
        envelope_id = envelope.get("envelope_id")
        if not isinstance(envelope_id, str) or not envelope_id:
            return  # hello, or anything else Slack waits no acknowledgement for
        headers, attempt = _retry_headers(envelope)
        try:
            payload = check_payload(envelope.get("payload"))
        except Malformed as problem:
            return self._drop(client, envelope_id, 400, str(problem))
        refusal = self._door.screen(payload, headers)
        if refusal == ALREADY_HANDLED:
            return _acknowledge(client, envelope_id)
        if refusal:
            return self._drop(client, envelope_id, *refusal)
        request = SocketModeRequest(type=str(envelope.get("type")), envelope_id=envelope_id, payload=payload,
                                    accepts_response_payload=bool(envelope.get("accepts_response_payload")),
                                    retry_attempt=attempt, retry_reason=headers.get("x-slack-retry-reason"))
        self._dispatch(client, request, is_event=payload.get("type") == "event_callback")

    def _dispatch(self, client: BaseSocketModeClient, request: SocketModeRequest, *, is_event: bool) -> None:
        started = time.time()
        try:
            response = run_bolt_app(self.app, request)
        except Exception as error:  # noqa: BLE001 - a payload Bolt could not read: acknowledged, logged, not redelivered
            log_incident(log, "reading a Slack request over Socket Mode", error)
            return _acknowledge(client, request.envelope_id)
        if response.status == 404 and is_event:
            return _acknowledge(client, request.envelope_id)  # an event no listener wants
        if response.status == 404:
            return self._drop(client, request.envelope_id, 400, "for a form, button or command this app does not have")
        send_response(client, request, response, started)

    def _drop(self, client: BaseSocketModeClient, envelope_id: str, status: int, why: str) -> None:
        self._door.rejections.refused(status, f"over Socket Mode, {why}")
        _acknowledge(client, envelope_id)


def _acknowledge(client: BaseSocketModeClient, envelope_id: str) -> None:
    client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))


def _retry_headers(envelope: Envelope) -> tuple[dict[str, str], int | None]:
    """The HTTP retry headers a redelivery (`retry_attempt` 1 or more) stands for, and its attempt number.

    First deliveries carry `retry_attempt` 0: no retry header, as over HTTP.
    """
    attempt, reason = envelope.get("retry_attempt"), envelope.get("retry_reason")
    if type(attempt) is not int or attempt < 1:
        return {}, None
    reason_header = {"x-slack-retry-reason": reason} if isinstance(reason, str) and reason else {}
    return {"x-slack-retry-num": str(attempt), **reason_header}, attempt

"""The Bot Framework front door: `POST /api/messages`, answered in time and never with a 500.

Order matters: the size is capped, then the Bearer token is checked (signature, issuer, audience,
times) before the body is even parsed; then the JSON and the activity's shape; then the token's
claims are matched against the activity (service URL, endorsed channel, tenant); only then is
anything stored. A refused request gets 401/403 (400 for an unreadable body) and one content-free,
rate-limited log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Protocol

from bot.incidents import log_incident
from bot.rejections import RejectionLog
from bot.teams.activity import Activity, Malformed, parse_activity
from bot.web import read_body

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
MAX_BODY = 256 * 1024  # activities are a few kB (Teams caps a message at ~28 kB); more is not from Teams

StartResponse = Callable[..., Any]
Answer = tuple[int, dict[str, Any] | None]  # HTTP status and JSON body (None: an empty body)


class Refused(Exception):
    """An inbound request that must not be handled: its HTTP status and fixed, content-free wording."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


class InboundAuth(Protocol):
    """Bot Framework's inbound checks, in two steps around the parse (tproto's validator)."""

    def verify(self, authorization: str) -> Any:
        """The token's claims, once every check of the token itself passed; Refused otherwise."""
        ...

    def check_activity(self, claims: Any, activity: Activity) -> None:
        """Refused unless the claims fit this activity (service URL, endorsed channel, tenant)."""
        ...


class Dispatch(Protocol):
    """What handles an authenticated, well-formed activity (bot/teams/activities.py)."""

    def handle(self, activity: Activity) -> Answer:
        """The answer to one activity; it never raises for what a user did."""
        ...

    def failed(self, activity: Activity, incident: str) -> Answer:
        """The answer when handling failed unexpectedly (an incident id to quote, nothing else)."""
        ...


class TeamsEndpoint:
    """The WSGI application for `/api/messages`."""

    def __init__(self, *, auth: InboundAuth, dispatch: Dispatch, rejections: RejectionLog | None = None) -> None:
        self._auth = auth
        self._dispatch = dispatch
        self.rejections = rejections or RejectionLog(logger=log)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Handle one request to /api/messages."""
        if environ.get("REQUEST_METHOD") != "POST":
            return respond(start_response, 405, {"error": "method not allowed"})
        body = read_body(environ, MAX_BODY)
        if body is None:
            return self._refuse(start_response, Refused(413, "request too large or of unknown length"))
        try:
            claims = self._auth.verify(str(environ.get("HTTP_AUTHORIZATION", "")))
        except Refused as refusal:
            return self._refuse(start_response, refusal)
        try:
            activity = parse_activity(json.loads(body))
        except (ValueError, RecursionError) as problem:  # JSON errors and Malformed are ValueErrors
            why = str(problem) if isinstance(problem, Malformed) else "the body is not JSON"
            return self._refuse(start_response, Refused(400, f"authenticated, but {why}"))
        try:
            self._auth.check_activity(claims, activity)
        except Refused as refusal:
            return self._refuse(start_response, refusal)
        try:
            status, answer = self._dispatch.handle(activity)
        except Exception as error:  # noqa: BLE001 - the caller never sees a 500 or a traceback
            status, answer = self._dispatch.failed(activity, log_incident(log, f"teams {activity.type}", error))
        return respond(start_response, status, answer)

    def _refuse(self, start_response: StartResponse, refusal: Refused) -> list[bytes]:
        self.rejections.refused(refusal.status, refusal.why)
        error = refusal.why if refusal.status == 400 else HTTPStatus(refusal.status).phrase.lower()
        return respond(start_response, refusal.status, {"error": error})


def respond(start_response: StartResponse, status: int, payload: dict[str, Any] | None) -> list[bytes]:
    """A JSON answer (an empty body for None)."""
    body = json.dumps(payload).encode() if payload is not None else b""
    headers = [("Content-Length", str(len(body)))]
    if payload is not None:
        headers.append(("Content-Type", "application/json; charset=utf-8"))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]

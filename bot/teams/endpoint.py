"""The Bot Framework front door: `POST /api/messages`, answered in time and never with a 500.

Order matters: the size is capped, then the Bearer token is checked (signature, issuer, audience,
times) before the body is even parsed; then the JSON and the activity's shape; then the token's
claims are matched against the activity (service URL, endorsed channel, tenant); only then is
anything stored. A refused request gets 401/403 (400 for an unreadable body) and one content-free,
rate-limited log line. A 503 says the signing keys could not be fetched yet (Bot Framework retries).
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
from bot.teams.auth import AuthRejected
from bot.web import read_body

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
MAX_BODY = 256 * 1024  # activities are a few kB (Teams caps a message at ~28 kB); more is not from Teams

StartResponse = Callable[..., Any]
Answer = tuple[int, dict[str, Any] | None]  # HTTP status and JSON body (None: an empty body)


class Authenticator(Protocol):
    """Bot Framework's inbound checks in two steps around the parse (bot/teams/auth.py's InboundAuth)."""

    def verify(self, authorization: str | None) -> Any:
        """What the token proves, once every check of the token itself passed; AuthRejected otherwise."""
        ...

    def check_activity(self, verified: Any, activity: Activity) -> None:
        """AuthRejected unless the token fits this activity (service URL, endorsed channel, tenant)."""
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

    def __init__(self, *, auth: Authenticator, dispatch: Dispatch, rejections: RejectionLog | None = None) -> None:
        self._auth = auth
        self._dispatch = dispatch
        self.rejections = rejections or RejectionLog(logger=log)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Handle one request to /api/messages."""
        if environ.get("REQUEST_METHOD") != "POST":
            return respond(start_response, 405, {"error": "method not allowed"})
        body = read_body(environ, MAX_BODY)
        if body is None:
            return self._refuse(start_response, 413, "request too large or of unknown length")
        try:
            verified = self._auth.verify(environ.get("HTTP_AUTHORIZATION"))
        except AuthRejected as rejected:
            return self._refuse(start_response, rejected.status, rejected.reason)
        try:
            activity = parse_activity(json.loads(body))
        except (ValueError, RecursionError) as problem:  # JSON errors and Malformed are ValueErrors
            why = str(problem) if isinstance(problem, Malformed) else "the body is not JSON"
            return self._refuse(start_response, 400, f"authenticated, but {why}")
        try:
            self._auth.check_activity(verified, activity)
        except AuthRejected as rejected:
            return self._refuse(start_response, rejected.status, rejected.reason)
        try:
            status, answer = self._dispatch.handle(activity)
        except Exception as error:  # noqa: BLE001 - the caller never sees a 500 or a traceback
            status, answer = self._dispatch.failed(activity, log_incident(log, f"teams {activity.type}", error))
        return respond(start_response, status, answer)

    def _refuse(self, start_response: StartResponse, status: int, why: str) -> list[bytes]:
        """Refuse with one content-free, rate-limited log line; a 400 says what is wrong (fixed wording)."""
        self.rejections.refused(status, why)
        error = why if status == 400 else HTTPStatus(status).phrase.lower()
        return respond(start_response, status, {"error": error})


def respond(start_response: StartResponse, status: int, payload: dict[str, Any] | None) -> list[bytes]:
    """A JSON answer (an empty body for None)."""
    body = json.dumps(payload).encode() if payload is not None else b""
    headers = [("Content-Length", str(len(body)))]
    if payload is not None:
        headers.append(("Content-Type", "application/json; charset=utf-8"))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [body]

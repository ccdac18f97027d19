"""The HTTP front door: `POST /slack/events` (signature and shape checked here, then Bolt) and `GET /healthz`.

Signatures are verified before Bolt sees a request (HMAC-SHA256 over `v0:timestamp:body`, five-minute
window), on the raw bytes and with strict header formats, so no header or body can make the check
itself fail. A rejected request gets 401 and is never parsed, stored or logged beyond one rate-limited
line: Bolt's own check would log the rejected body at INFO, so it is switched off. A signed request
whose payload this app cannot read gets 400, one from another workspace 403, and neither reaches Bolt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

from slack_bolt import App, BoltRequest

from bot.incidents import log_incident
from bot.rejections import RejectionLog
from bot.slack.notifier import token_may_go_to
from bot.web import read_body
from bot.slack.payloads import Body, Malformed, check_payload, parse_payload, workspace_of

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is not from Slack
MAX_AGE = 300  # seconds: Slack's own window for a signed request
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only; a duplicated header arrives joined by ", "
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
SEEN_EVENTS = 10_000  # event ids remembered, to answer Slack's retries without handling them again

StartResponse = Callable[..., Any]
ALREADY_HANDLED = (200, "")  # Slack's retry of an event already handled: acknowledged, not handled again


class Clock(Protocol):
    """The time in seconds (slack_sdk's signature Clock fits)."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class _SystemClock:
    def now(self) -> float:
        return time.time()


@dataclass(kw_only=True)
class Workspace:
    """The installed workspace and app; "" accepts any (learnt from auth.test at start, or set in settings)."""

    team_id: str = ""
    app_id: str = ""

    def refuses(self, body: Body) -> bool:
        """Whether a payload says it comes from another workspace or app."""
        team_id, app_id = workspace_of(body)
        return bool((self.team_id and team_id and team_id != self.team_id)
                    or (self.app_id and app_id and app_id != self.app_id))


class SlackHttpApp:
    """A WSGI application for a production server (waitress)."""

    def __init__(self, *, app: App, signing_secret: str, healthy: Callable[[], bool] = lambda: True,
                 clock: Clock | None = None, detail: Callable[[], dict[str, Any]] = dict,
                 workspace: Workspace | None = None, rejections: RejectionLog | None = None,
                 api_url: str = "https://slack.com/api/") -> None:
        self._app = app
        self._api_url = api_url
        self._secret = signing_secret.encode()
        self._clock = clock or _SystemClock()
        self._healthy = healthy
        self._detail = detail  # ids and counts only: the health check is not authenticated
        self.workspace = workspace or Workspace()
        self.rejections = rejections or RejectionLog(logger=log)
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request."""
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok = self._healthy()
            return _respond(start_response, 200 if ok else 503, {"ok": ok, **self._detail()})
        if path != EVENTS_PATH:
            return _respond(start_response, 404, {"error": "not found"})
        if method != "POST":
            return _respond(start_response, 405, {"error": "method not allowed"})
        body = read_body(environ, MAX_BODY)
        if body is None:
            return self._refuse(start_response, 413, "request too large or of unknown length")
        headers = _headers(environ)
        if not self._signed(body, headers):
            return self._refuse(start_response, 401, "missing, malformed, wrong or stale Slack signature")
        try:
            request = _bolt_request(body.decode("utf-8"), environ.get("QUERY_STRING", ""), headers)
            payload = check_payload(request.body)
        except UnicodeDecodeError:
            return self._refuse(start_response, 400, "a signed body that is not UTF-8")
        except Malformed as problem:
            return self._refuse(start_response, 400, f"signed, but {problem}")
        refusal = self.screen(payload, headers)
        if refusal == ALREADY_HANDLED:
            return _respond(start_response, 200, {})
        if refusal:
            return self._refuse(start_response, refusal[0], f"signed, but {refusal[1]}")
        return self._dispatch(start_response, request, payload)

    def screen(self, payload: Body, headers: dict[str, str]) -> tuple[int, str] | None:
        """Why a well-formed payload must not reach Bolt, as (status, fixed wording), or None to handle it.

        Both front doors ask (HTTP here, Socket Mode in bot/slack/socket_mode.py), so they share one
        memory of the events handled: a retry is recognised whichever way it comes.
        """
        if self.workspace.refuses(payload):
            return 403, "from another workspace or app"
        if not self._answerable(payload):
            return 400, "its response address is not Slack's"
        if self._handled_before(payload, headers):
            return ALREADY_HANDLED
        return None

    def _answerable(self, payload: Body) -> bool:
        """Whether answers to this payload (its response_url) would go to Slack, and nowhere else."""
        url = payload.get("response_url")
        return url is None or (isinstance(url, str) and token_may_go_to(url, api_url=self._api_url))

    def _dispatch(self, start_response: StartResponse, request: BoltRequest, payload: Body) -> Iterable[bytes]:
        try:
            response = self._app.dispatch(request)
        except Exception as error:  # noqa: BLE001 - a payload Bolt could not read: ours to refuse, not a 500
            log_incident(log, "reading a signed Slack request", error)
            return _respond(start_response, 400, {"error": "invalid request"})
        if response.status == 404 and payload.get("type") == "event_callback":
            return _respond(start_response, 200, {})  # an event no listener wants: acknowledged, or Slack retries it
        if response.status == 404:  # no listener for this callback or action id
            return self._refuse(start_response, 400, "signed, but for a form, button or command this app does not have")
        out_headers = [(name, value) for name, values in response.headers.items() for value in values]
        payload = response.body.encode("utf-8") if isinstance(response.body, str) else bytes(response.body or b"")
        start_response(_status_line(response.status), out_headers)
        return [payload]

    def _signed(self, body: bytes, headers: dict[str, str]) -> bool:
        """Whether Slack signed this body within the last five minutes; never raises."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
            return False
        if abs(self._clock.now() - int(timestamp)) > MAX_AGE:
            return False
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"v0={expected}", signature)

    def _handled_before(self, payload: Body, headers: dict[str, str]) -> bool:
        """Whether this is Slack retrying an event (X-Slack-Retry-Num) that was already handled here."""
        event_id = payload.get("event_id") if payload.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not event_id:
            return False
        with self._seen_lock:
            seen = event_id in self._seen_events
            self._seen_events[event_id] = None
            while len(self._seen_events) > SEEN_EVENTS:
                self._seen_events.popitem(last=False)
        return seen and bool(headers.get("x-slack-retry-num"))

    def _refuse(self, start_response: StartResponse, status: int, why: str) -> list[bytes]:
        self.rejections.refused(status, why)
        return _respond(start_response, status, {"error": HTTPStatus(status).phrase.lower()})


def _bolt_request(text: str, query: str, headers: dict[str, str]) -> BoltRequest:
    """The request as Bolt reads it, its body parsed once (a report form's body is ~15 kB to unquote).

    Bolt parses the body as it builds the request; a body it cannot read is parsed again here, only to
    name what is wrong (Malformed).
    """
    try:
        return BoltRequest(body=text, query=query, headers={name: [value] for name, value in headers.items()})
    except Exception:  # noqa: BLE001 - Bolt's parser and context builder fail in many ways on odd bodies
        parse_payload(text, headers.get("content-type"))  # raises Malformed, naming the problem
        raise Malformed("the body is not a payload this app reads") from None


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {name[5:].replace("_", "-").lower(): str(value) for name, value in environ.items()
               if name.startswith("HTTP_")}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = str(environ[name])
    return headers


def _respond(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(_status_line(status),
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"

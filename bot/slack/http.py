"""The HTTP front door: `POST /slack/events` (signature checked here, then Bolt) and `GET /healthz`.

Signatures are verified before Bolt sees a request, with slack_sdk's verifier (HMAC-SHA256 over
`v0:timestamp:body`, five-minute window). A rejected request gets 401 and is never parsed, stored
or logged: Bolt's own check would log the rejected body at INFO, so it is switched off.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024  # Slack's payloads are far smaller; anything bigger is not from Slack

StartResponse = Callable[..., Any]


class SlackHttpApp:
    """A WSGI application for a production server (waitress)."""

    def __init__(self, *, app: App, signing_secret: str, healthy: Callable[[], bool] = lambda: True,
                 clock: Clock | None = None, detail: Callable[[], dict[str, Any]] = dict) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret, clock=clock or Clock())
        self._healthy = healthy
        self._detail = detail  # ids and counts only: the health check is not authenticated

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
        body = _read_body(environ)
        if body is None:
            return _respond(start_response, 413, {"error": "request too large"})
        headers = _headers(environ)
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not self._verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            log.warning("rejected a request with a missing, wrong or stale Slack signature")
            return _respond(start_response, 401, {"error": "invalid request"})
        response = self._app.dispatch(BoltRequest(
            body=body.decode("utf-8", errors="replace"), query=environ.get("QUERY_STRING", ""),
            headers={name: [value] for name, value in headers.items()},
        ))
        out_headers = [(name, value) for name, values in response.headers.items() for value in values]
        payload = response.body.encode("utf-8") if isinstance(response.body, str) else bytes(response.body or b"")
        start_response(_status_line(response.status), out_headers)
        return [payload]


def _read_body(environ: dict[str, Any]) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > MAX_BODY or length < 0:
        return None
    return environ["wsgi.input"].read(length) if length else b""


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

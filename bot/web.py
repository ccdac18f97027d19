"""One HTTP server for every platform: each path to its front door, and `GET /healthz` for all of them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

HEALTH_PATH = "/healthz"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PlatformDoors:
    """A WSGI application routing by path (`/slack/events`, `/api/messages`) to each platform's own."""

    def __init__(self, *, doors: Mapping[str, WsgiApp], healthy: Callable[[], bool],
                 detail: Callable[[], dict[str, Any]] = dict) -> None:
        self._doors = dict(doors)
        self._healthy = healthy
        self._detail = detail  # ids and counts only: the health check is not authenticated

    @property
    def paths(self) -> list[str]:
        """The paths served, for the start-up line."""
        return sorted(self._doors)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Route one request."""
        path = environ.get("PATH_INFO", "/")
        if path == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            ok = self._healthy()
            return _json(start_response, 200 if ok else 503, {"ok": ok, **self._detail()})
        door = self._doors.get(path)
        if door is None:
            return _json(start_response, 404, {"error": "not found"})
        return door(environ, start_response)


def read_body(environ: dict[str, Any], max_body: int) -> bytes | None:
    """The request body, or None if it is larger than `max_body` or of unknown length (never read then)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length > max_body or length < 0:
        return None
    return environ["wsgi.input"].read(length) if length else b""


def _json(start_response: Callable[..., Any], status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    phrase = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
    start_response(f"{status} {phrase}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]

"""Slack's load: slash commands and view submissions, each request signed fresh as Slack signs it (bench/load.py
sends them)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from bench import load
from bench.load import Run

REFERENCE = re.compile(r"SS-[A-Z0-9]{5}-[A-Z0-9]{5}")

Body = Callable[[int, str], str]  # (request number, client's user id) -> form-encoded body


def sign(secret: str, timestamp: int, body: str) -> str:
    """Slack's request signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def command_body(command: str, response_url: str) -> Body:
    """Slash command bodies, as Slack posts them, each with its own trigger id."""
    def body(n: int, user: str) -> str:
        return urlencode({
            "token": "legacy", "team_id": "T0TEAM", "team_domain": "example", "channel_id": "C0GENERAL",
            "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": command,
            "text": "", "api_app_id": "A0APP", "response_url": response_url, "trigger_id": f"trigger-{n}",
        })
    return body


def view_body(view: dict[str, Any], values: dict[str, Any]) -> Body:
    """view_submission bodies: the modal the bot opened, filled in, as in testkit/slack_harness.submit."""
    submitted = dict(view) | {"id": "V0SUBMIT", "state": {"values": values}}

    def body(n: int, user: str) -> str:
        return urlencode({"payload": json.dumps({
            "type": "view_submission", "team": {"id": "T0TEAM"}, "api_app_id": "A0APP",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
            "view": submitted, "trigger_id": f"trigger-{n}",
        })})
    return body


def run_load(url: str | Sequence[str], secret: str, body: Body, *, total: int, clients: int, first: int = 0,
             user_prefix: str = "U0BENCH") -> Run:
    """Send `total` signed POSTs from `clients` threads, each on its own keep-alive connection."""
    def request(n: int, user: str) -> tuple[bytes, dict[str, str]]:
        text = body(n, user)
        timestamp = int(time.time())
        return text.encode(), {"Content-Type": "application/x-www-form-urlencoded",
                               "X-Slack-Request-Timestamp": str(timestamp),
                               "X-Slack-Signature": sign(secret, timestamp, text)}
    return load.run_load(url, request, view_update, total=total, clients=clients, first=first,
                         user_prefix=user_prefix)


def view_update(answer: bytes) -> list[str] | None:
    """For a `response_action: update` answer, the report reference its view quotes; None for other answers."""
    if not answer.startswith(b"{"):
        return None
    reply = json.loads(answer)
    if reply.get("response_action") != "update":
        return None
    return REFERENCE.findall(json.dumps(reply.get("view")))

"""The Slack bot under test: the real server on 127.0.0.1, talking to a FakeSlack, fed signed requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.app import build_served, build_slack, running
from bot.settings import Settings
from bot.slack.serve import http_server
from testkit.waits import WAIT_SECONDS, wait_until

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
LEAD_CHANNEL = "C0LEADS01"
LEAD, BACKUP, STAFF, OTHER = "U0LEAD001", "U0BACKUP1", "U0STAFF01", "U0OTHER01"

APP_YAML = f"""
organisation: Example Academy Trust
leads:
  slack:
    - {{id: {LEAD}, name: Lee Harper}}
backup_leads:
  slack:
    - {{id: {BACKUP}, name: Bea Moss}}
admins:
  slack: [{LEAD}]
lead_channel:
  slack: {LEAD_CHANNEL}
"""


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


@dataclass
class Answer:
    """The HTTP answer to one request."""

    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SignedClient:
    """Requests to a StaffSafe server as Slack sends them (signed), and the modals it opened on the fake Slack."""

    def __init__(self, *, url: str, slack: Any) -> None:
        self.url = url
        self.slack = slack

    def event(self, event: dict) -> Answer:
        """An Events API callback, as JSON."""
        return self.post(json.dumps({
            "token": "legacy", "team_id": "T0TEAM", "api_app_id": "A0APP", "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
        }), content_type="application/json")

    def get(self, path: str) -> Answer:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode())

    # --- requests as Slack sends them ---------------------------------------------------------

    def post(self, body: str, *, timestamp: int | None = None, signature: str | None = None,
             content_type: str = "application/x-www-form-urlencoded") -> Answer:
        timestamp = int(time.time()) if timestamp is None else timestamp
        request = urllib.request.Request(f"{self.url}/slack/events", data=body.encode(), method="POST", headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature if signature is not None else sign(body, timestamp),
        })
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode())

    def command(self, name: str, text: str = "", *, user: str = STAFF, channel: str = "C0GENERAL") -> Answer:
        return self.post(urlencode({
            "token": "legacy", "team_id": "T0TEAM", "team_domain": "example", "channel_id": channel,
            "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": f"/{name}",
            "text": text, "api_app_id": "A0APP", "response_url": self.slack.response_url(f"cmd-{name}"),
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }))

    def interact(self, payload: dict) -> Answer:
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def press(self, action: str, value: str = "", *, user: str = LEAD, where: str = "message",
              view: dict | None = None) -> Answer:
        payload: dict[str, Any] = {
            "type": "block_actions", "team": {"id": "T0TEAM"}, "api_app_id": "A0APP",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "actions": [{"type": "button", "action_id": action, "block_id": "actions-0", "value": value,
                         "action_ts": "1.2"}],
        }
        if where in ("message", "dm"):  # a message in the leads' channel, or in the bot's DM with the user
            channel = LEAD_CHANNEL if where == "message" else f"D{user}"
            payload |= {"container": {"type": "message", "message_ts": "1.1", "channel_id": channel},
                        "channel": {"id": channel}, "message": {"ts": "1.1", "blocks": []},
                        "response_url": self.slack.response_url(f"action-{action}")}
        elif where == "modal":
            payload |= {"container": {"type": "view", "view_id": "V0CASE"}, "view": view or {"type": "modal", "id": "V0CASE"}}
        else:  # the App Home
            payload |= {"container": {"type": "view", "view_id": "V0HOME"}, "view": {"type": "home", "id": "V0HOME"}}
        return self.interact(payload)

    def submit(self, view: dict, values: dict, *, user: str = STAFF) -> Answer:
        """Submit a modal as Slack would: the view the bot opened, with `state.values` filled in."""
        submitted = dict(view) | {"id": "V0SUBMIT", "state": {"values": values}}
        return self.interact({
            "type": "view_submission", "team": {"id": "T0TEAM"}, "api_app_id": "A0APP",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
            "view": submitted, "trigger_id": f"trigger-{time.monotonic_ns()}",
        })

    def opened_view(self, callback_id: str, *, timeout: float = WAIT_SECONDS) -> dict:
        """The last modal the bot opened or pushed with this callback id."""
        def opened() -> dict | None:
            for call in reversed(self.slack.calls("views.open") + self.slack.calls("views.push")):
                if call.args["view"].get("callback_id") == callback_id:
                    return call.args["view"]
            return None
        try:
            return wait_until(opened, timeout)
        except AssertionError:
            raise AssertionError(f"no modal {callback_id!r} was opened") from None


class SlackBot(SignedClient):
    """The running bot; stop() shuts the server, the worker and the store."""

    def __init__(self, *, tmp_path: Path, slack: Any, app_yaml: str = APP_YAML,
                 signing_secret: str = SIGNING_SECRET, signature_clock: Any = None, clock: Any = None,
                 pacer: Any = None, store: Any = None, teams: Any = None) -> None:
        config = tmp_path / "app.yaml"
        config.write_text(app_yaml)
        self.settings = Settings(
            config_path=config, data_dir=tmp_path / "data", secret_key=None, secret_file=None,
            slack_bot_token=BOT_TOKEN, slack_signing_secret=signing_secret, slack_api_url=slack.api_url, port=0,
        )
        self._running = running(self.settings, clock=clock, store=store)
        self.services, self.config = self._running.__enter__()
        # The scheduler thread runs (the health check wants it) but tests drive its passes themselves.
        # `teams` (a TeamsConnection): one server for Slack and Teams, as `staffsafe serve` runs them both.
        self.served = build_served(self.services, self.config, self.settings, slack=True, teams=teams,
                                   poll_seconds=0.05, signature_clock=signature_clock, scheduler_seconds=3600,
                                   pacer=pacer) if teams else None
        self.runtime = self.served.slack if self.served else build_slack(
            self.services, self.config, self.settings, poll_seconds=0.05, signature_clock=signature_clock,
            scheduler_seconds=3600, pacer=pacer)
        self.server = http_server(self.served.web if self.served else self.runtime.http, host="127.0.0.1", port=0)
        super().__init__(url=f"http://127.0.0.1:{self.server.effective_port}", slack=slack)
        self._stopped = False
        self._thread = threading.Thread(target=self.server.run, name="http-loop", daemon=True)
        self._thread.start()
        (self.served or self.runtime).start()

    def stop(self) -> None:
        """As `staffsafe serve` stops: no more requests, the work after their acks done, then the store closed.

        A test may stop the bot itself (to have everything it started finished); the fixture's stop is then a no-op.
        """
        if self._stopped:
            return
        self._stopped = True
        self.server.stop()
        self._thread.join(WAIT_SECONDS)
        (self.served or self.runtime).stop()
        self._running.__exit__(None, None, None)
        assert not self._thread.is_alive(), "the HTTP server did not stop"


def state(**fields: dict) -> dict:
    """`view.state.values` from field id -> the element's state (action id "value")."""
    return {field_id: {"value": element} for field_id, element in fields.items()}


def text(value: str) -> dict:
    return {"type": "plain_text_input", "value": value}


def choice(value: str, kind: str = "static_select") -> dict:
    return {"type": kind, "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}}}


def choices(*values: str, kind: str = "checkboxes") -> dict:
    return {"type": kind, "selected_options": [{"value": v, "text": {"type": "plain_text", "text": v}} for v in values]}


def report_state(what: str = "Abusive comments about me on a parents' group", **overrides: dict) -> dict:
    """A filled-in report modal."""
    fields = {
        "what_happened": text(what),
        "where": choice("facebook"),
        "urls": text("https://facebook.com/groups/x/posts/1"),
        "first_seen": {"type": "datepicker", "selected_date": "2026-11-20"},
        "occasions": {"type": "number_input", "value": "3"},
        "perpetrator": choice("linked"),
        "adult": choice("yes", "radio_buttons"),
        "subject": {"type": "users_select", "selected_user": None},
        "natures": choices("abusive"),
        "evidence_saved": choice("yes", "radio_buttons"),
        "wants": choices("removed"),
        "named": choice("named", "radio_buttons"),
    }
    return state(**(fields | overrides))


def posts_to(slack, channel: str) -> list:
    return [c for c in slack.calls("chat.postMessage") if c.args["channel"] == channel]


def dm_channel(user: str) -> str:
    return f"D{user}"


def file_report(bot, slack, **overrides) -> str:
    """Open the report modal and submit it filled in; returns the stored report's id."""
    assert bot.command("report").status == 200
    view = bot.opened_view("report.form")
    answer = bot.submit(view, report_state(**overrides))
    assert answer.status == 200 and answer.json()["response_action"] == "update", answer.body
    return bot.services.store.all_reports()[-1].id


def all_blocks(slack) -> list[dict]:
    """Every block the bot sent in messages and views."""
    blocks = []
    for call in slack.calls():
        if call.method in ("chat.postMessage", "chat.update", "views.open", "views.push", "views.publish", "views.update"):
            blocks += call.args.get("blocks") or (call.args.get("view") or {}).get("blocks") or []
    return blocks

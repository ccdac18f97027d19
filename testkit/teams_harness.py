"""The Teams bot under test: the real server on 127.0.0.1, fed activities as the Bot Connector sends them.

Inbound auth and the Connector are injected (the real ones in the end-to-end tests, with the local
fakes of Bot Framework, Entra and the Connector); this module only builds activities and runs the app.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.app import TeamsConnection, build_served, running
from bot.settings import Settings
from bot.slack.serve import http_server
from bot.teams.endpoint import MESSAGES_PATH
from testkit.slack_harness import Answer
from testkit.waits import WAIT_SECONDS

TENANT = "72f988bf-0000-4000-8000-000000000001"
LEAD = "11111111-0000-4000-8000-00000000000a"
BACKUP = "22222222-0000-4000-8000-00000000000b"
STAFF = "33333333-0000-4000-8000-00000000000c"
LEADS_CHANNEL = "19:leads0000000000000000@thread.tacv2"
BOT_ID = "28:bot-app-id"

APP_YAML = f"""
organisation: Example Academy Trust
leads:
  teams:
    - {{id: {LEAD}, name: Lee Harper}}
backup_leads:
  teams:
    - {{id: {BACKUP}, name: Bea Moss}}
admins:
  teams: [{LEAD}]
"""


class Activities:
    """Activities shaped as Teams sends them, from one service URL and tenant."""

    def __init__(self, *, service_url: str, tenant: str = TENANT) -> None:
        self.service_url = service_url
        self.tenant = tenant

    def base(self, kind: str, *, user: str, conversation: str = "", conversation_type: str = "personal",
             **extra: Any) -> dict[str, Any]:
        return {
            "type": kind, "id": f"act-{time.monotonic_ns()}", "channelId": "msteams", "serviceUrl": self.service_url,
            "timestamp": "2026-11-30T09:00:00.000Z", "locale": "en-GB",
            "from": {"id": f"29:{user}", "aadObjectId": user, "name": "Sam Staff"},
            "recipient": {"id": BOT_ID, "name": "StaffSafe"},
            "conversation": {"id": conversation or f"a:personal-{user}", "conversationType": conversation_type,
                             "tenantId": self.tenant},
            "channelData": {"tenant": {"id": self.tenant}}, **extra,
        }

    def message(self, text: str, *, user: str = STAFF, **extra: Any) -> dict[str, Any]:
        return self.base("message", user=user, text=text, textFormat="plain", **extra)

    def invoke(self, name: str, value: Any, *, user: str = STAFF, **extra: Any) -> dict[str, Any]:
        return self.base("invoke", user=user, name=name, value=value, **extra)

    def install(self, *, user: str = STAFF, action: str = "add") -> dict[str, Any]:
        return self.base("installationUpdate", user=user, action=action)

    def channel_install(self, channel: str, *, user: str = LEAD) -> dict[str, Any]:
        activity = self.base("conversationUpdate", user=user, conversation=channel, conversation_type="channel",
                             membersAdded=[{"id": BOT_ID}])
        activity["channelData"].update({"team": {"id": channel}, "channel": {"id": channel}, "eventType": "teamMemberAdded"})
        return activity


def post_activity(url: str, activity: Any, *, token: str = "good", raw: bytes | None = None) -> Answer:
    """POST one activity (or raw bytes) to the server at `url`, as the Bot Connector does."""
    body = raw if raw is not None else json.dumps(activity).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{url}{MESSAGES_PATH}", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode())


class TeamsDoor:
    """Posts activities to a running server's /api/messages (one that may serve Slack too)."""

    def __init__(self, url: str, *, token: str = "good") -> None:
        self.url = url
        self.token = token

    def post(self, activity: Any) -> Answer:
        """POST one activity."""
        return post_activity(self.url, activity, token=self.token)


class TeamsBot:
    """The running Teams bot; stop() shuts the server, the worker and the store."""

    def __init__(self, *, tmp_path: Path, auth: Any, connector: Any, downloads: Any = None,
                 app_yaml: str = APP_YAML, clock: Any = None, pacer: Any = None, http: Any = None) -> None:
        config = tmp_path / "app.yaml"
        config.write_text(app_yaml)
        self.settings = Settings(config_path=config, data_dir=tmp_path / "data", secret_key=None, secret_file=None,
                                 port=0)
        self._running = running(self.settings, clock=clock)
        services, self.config = self._running.__enter__()
        connection = TeamsConnection(auth=auth, connector=connector, downloads=downloads or connector, http=http)
        self.runtime = build_served(services, self.config, self.settings, slack=False, teams=connection,
                                    poll_seconds=0.05, scheduler_seconds=3600, pacer=pacer)
        self.services = self.runtime.services
        self.server = http_server(self.runtime.web, host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopped = False
        self._thread = threading.Thread(target=self.server.run, name="http-loop", daemon=True)
        self._thread.start()
        self.runtime.start()

    def post(self, activity: Any, *, token: str = "good", raw: bytes | None = None) -> Answer:
        """POST one activity (or raw bytes) to /api/messages with `Authorization: Bearer <token>`."""
        return post_activity(self.url, activity, token=token, raw=raw)

    def stop(self) -> None:
        """As `staffsafe serve` stops: no more requests, the answers promised sent, then the store closed."""
        if self._stopped:
            return
        self._stopped = True
        self.server.stop()
        self._thread.join(WAIT_SECONDS)
        self.runtime.stop()
        self._running.__exit__(None, None, None)

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

from bot.app import build_outbox, build_teams, running, teams_notifier, with_teams
from bot.domain.ports import Notifiers
from bot.settings import Settings
from bot.slack.serve import http_server
from bot.teams.endpoint import MESSAGES_PATH
from bot.web import PlatformDoors
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


class TeamsBot:
    """The running Teams bot; stop() shuts the server, the worker and the store."""

    def __init__(self, *, tmp_path: Path, auth: Any, connector: Any, downloads: Any = None,
                 app_yaml: str = APP_YAML, clock: Any = None, http: Any = None, pacer: Any = None) -> None:
        config = tmp_path / "app.yaml"
        config.write_text(app_yaml)
        self.settings = Settings(config_path=config, data_dir=tmp_path / "data", secret_key=None, secret_file=None,
                                 port=0)
        self._running = running(self.settings, clock=clock)
        services, self.config = self._running.__enter__()
        self.services = with_teams(services)
        notifier = teams_notifier(self.services, self.config, connector=connector, downloads=downloads or connector,
                                  http=http)
        self.worker, self.scheduler = build_outbox(self.services, self.config, Notifiers([notifier]), pacer=pacer,
                                                   poll_seconds=0.05, scheduler_seconds=3600)
        self.runtime = build_teams(self.services, self.config, auth=auth, connector=connector, notifier=notifier,
                                   wake_outbox=self.worker.wake)
        doors = PlatformDoors(doors={MESSAGES_PATH: self.runtime.endpoint},
                              healthy=lambda: self.worker.alive and self.services.store.healthy)
        self.server = http_server(doors, host="127.0.0.1", port=0)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self._stopped = False
        self._thread = threading.Thread(target=self.server.run, name="http-loop", daemon=True)
        self._thread.start()
        self.worker.start()
        self.scheduler.start()

    def post(self, activity: Any, *, token: str = "good", raw: bytes | None = None) -> Answer:
        """POST one activity (or raw bytes) to /api/messages with `Authorization: Bearer <token>`."""
        body = raw if raw is not None else json.dumps(activity).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{self.url}{MESSAGES_PATH}", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Answer(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode())

    def stop(self) -> None:
        """As `staffsafe serve` stops: no more requests, the answers promised sent, then the store closed."""
        if self._stopped:
            return
        self._stopped = True
        self.server.stop()
        self._thread.join(WAIT_SECONDS)
        self.scheduler.stop()
        self.runtime.stop()
        self.worker.stop()
        self._running.__exit__(None, None, None)

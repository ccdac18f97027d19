"""Microsoft 365 Agents Playground (npm @microsoft/m365agentsplayground), run headless and driven as its web UI
drives it: the same HTTP calls its buttons make, and the same WebSocket streams it shows.

    with Playground(bot_url="http://127.0.0.1:3978/api/messages", config=Path("tools/teams/playground.yml"),
                    work=tmp_path, port=port) as playground:
        playground.install(playground.personal)             # "Add the app" in the personal chat
        playground.say("help")                               # the message box
        playground.messages(playground.personal)             # what the bot sent there (the chat pane)
        playground.invoke("task/fetch", {"data": ...})       # "Mock an Activity > Custom activity"
        playground.answer_to(activity_id)                    # the log pane: the bot's HTTP answer to it

Headless: TEAMSAPPTESTER_BROWSER=none (no browser opened), `--dt` (no telemetry), its port and the bot's
endpoint on the command line, and a config file (M365_AGENTS_PLAYGROUND_CONFIG_PATH) naming the tenant,
the people, the personal chat and the team, so their Entra ids can be the ones app.yaml names
(tools/teams/playground.yml). It writes its own logs under `devTools/` in its working folder: `work`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from testkit.teams_tools import PLAYGROUND, node
from testkit.waits import WAIT_SECONDS
from testkit.websocket_reader import WebSocketReader

CLI = PLAYGROUND / "cli.js"
START_SECONDS = 60.0


class Playground:
    """A running Playground: a subprocess, its conversation and log streams, and its API."""

    def __init__(self, *, bot_url: str, config: Path, work: Path, port: int) -> None:
        self.bot_url, self.config, self.work, self.port = bot_url, config, work, port
        people = yaml.safe_load(config.read_text(encoding="utf-8"))
        self.me = str(people["currentUser"]["id"])  # the Teams user id messages are typed as
        self.personal = str(people["personalChat"]["id"])
        self.team = str(people["team"]["id"])
        self.tenant = str(people["tenantId"])
        self._lock = threading.Lock()
        self._messages: list[dict[str, Any]] = []  # the conversation stream's events (createMessage ...)
        self._logs: list[dict[str, Any]] = []  # the log stream's entries
        self._streams: list[WebSocketReader] = []
        self._process: subprocess.Popen[bytes] | None = None
        self.output = work / "playground.out"

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> Playground:
        """Start the Playground headless and follow its streams; raise if it is not up within a minute."""
        self.work.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith(("BOT_", "TEAMSAPPTESTER_"))}
        env |= {"TEAMSAPPTESTER_BROWSER": "none", "M365_AGENTS_PLAYGROUND_CONFIG_PATH": str(self.config.resolve())}
        with self.output.open("wb") as out:
            self._process = subprocess.Popen(
                [node(), str(CLI), "--app-endpoint", self.bot_url, "--channel-id", "msteams", "--port", str(self.port),
                 "--disable-telemetry"], cwd=self.work, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self._wait_up()
        self._streams = [
            WebSocketReader(host="127.0.0.1", port=self.port, path="/_ws_conversation/v1/conversations/stream",
                            on_message=self._keep(self._messages)),
            WebSocketReader(host="127.0.0.1", port=self.port, path="/_ws/log/stream",
                            on_message=self._keep(self._logs)),
        ]
        return self

    def stop(self) -> None:
        """Close the streams and end the Playground (its whole process group), within seconds."""
        for stream in self._streams:
            stream.close()
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(10)

    def __enter__(self) -> Playground:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"the Playground exited with {self._process.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_debug/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"the Playground did not start within {START_SECONDS:.0f} s: {self.tail()}")

    def tail(self) -> str:
        """The end of the Playground's output."""
        return self.output.read_text(errors="replace")[-2000:] if self.output.exists() else ""

    @property
    def url(self) -> str:
        """Where the Playground serves its UI and API."""
        return f"http://127.0.0.1:{self.port}"

    def _keep(self, into: list[dict[str, Any]]) -> Any:
        def keep(event: Any) -> None:
            if isinstance(event, dict):
                with self._lock:
                    into.append(event)
        return keep

    # -- what the UI does ------------------------------------------------------------------------------------

    def install(self, conversation: str) -> None:
        """Add the app to a conversation (installationUpdate and conversationUpdate to the bot)."""
        self._post(f"/_debug/conversation/{conversation}/installation", {})

    def say(self, text: str, conversation: str = "") -> str:
        """Type a message as the current user; the message id."""
        answer = self._post(f"/_conversation/v1/conversations/{conversation or self.personal}/messages",
                            {"from": {"id": self.me}, "text": text, "textFormat": "plain"})
        return str(answer["messageId"])

    def invoke(self, name: str, value: Any, conversation: str = "") -> str:
        """Send a custom invoke activity, as "Mock an Activity > Custom activity" does; its activity id."""
        template = self._get(f"/_internal/v1/customActivities/template?conversationId={conversation or self.personal}")
        activity = {**template, "type": "invoke", "name": name, "value": value}
        self._post("/_internal/v1/customActivities", activity)
        return str(activity["id"])

    # -- what the UI shows -----------------------------------------------------------------------------------

    def messages(self, conversation: str = "") -> list[dict[str, Any]]:
        """What the bot posted in a conversation so far (text and attachments), oldest first."""
        with self._lock:
            events = list(self._messages)
        return [event["message"] for event in events if event.get("action") == "createMessage"
                and event.get("actionConversationId", "").split(";")[0] == (conversation or self.personal)
                and event.get("message", {}).get("from", {}).get("id") != self.me]

    def answer_to(self, activity_id: str) -> Any:
        """The bot's HTTP answer to an activity the Playground sent (from its log), or None if not yet logged."""
        with self._lock:
            logs = list(self._logs)
        for event in logs:
            entry = event.get("log", {})
            if entry.get("messageId") == activity_id and "response" in entry:
                return entry["response"]
        return None

    def wait_for(self, condition: Any, what: str, timeout: float = WAIT_SECONDS) -> Any:
        """Poll `condition()` until truthy; AssertionError naming `what` (and the Playground's output) if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"the Playground showed no {what} within {timeout:.0f} s")

    # -- HTTP ------------------------------------------------------------------------------------------------

    def _post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text.strip() else None

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.loads(answer.read())

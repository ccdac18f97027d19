"""End to end with Microsoft's own client: `staffsafe serve --playground` driven by the real Microsoft 365 Agents
Playground (npm, pinned), headless, as its web UI drives it, reading the bot's replies from what it shows.

The Playground plays Teams and the Bot Connector: it sends Teams-shaped activities without tokens and shows
what the bot posts back to its serviceUrl. It shows cards but opens no dialogs, so the report is sent as its
UI's "custom activity" does: the task/fetch and task/submit invokes a Teams dialog would send.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.teams.forms import input_id
from testkit.instances import free_port, wait_for_health
from testkit.playground import Playground
from testkit.teams_tools import PLAYGROUND, ROOT, TOOLS, node, require

CONFIG = TOOLS / "playground.yml"
APP_YAML = TOOLS / "playground-app.yaml"
REFERENCE = re.compile(r"SS-[A-Z0-9]{5}-[A-Z0-9]{5}")
REPORT = {input_id(field): answer for field, answer in {
    "what_happened": "An anonymous account keeps posting about me", "where": "facebook", "first_seen": "2026-11-20",
    "occasions": "3", "perpetrator": "unknown", "adult": "unsure", "evidence_saved": "yes", "named": "named"}.items()}
SERVER_SECONDS = 60.0


def texts(node_: Any) -> list[str]:
    """Every string under a card or message: what a person would read."""
    if isinstance(node_, str):
        return [node_]
    if isinstance(node_, dict):
        return [text for value in node_.values() for text in texts(value)]
    if isinstance(node_, list):
        return [text for value in node_ for text in texts(value)]
    return []


def shown(messages: Any) -> str:
    """The words of messages or an answer as a person reads them (Markdown's bold marks dropped)."""
    return " ".join(texts(messages)).replace("**", "")


class Bot:
    """`staffsafe serve --playground` as a subprocess, on a free port, with the Playground's app.yaml."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log = tmp_path / "staffsafe.log"
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("STAFFSAFE_", "SLACK_", "CLIENT_", "TENANT_", "Microsoft", "TEAMS_"))}
        env |= {"STAFFSAFE_CONFIG": str(APP_YAML), "STAFFSAFE_DATA_DIR": str(tmp_path / "data"),
                "PYTHONUNBUFFERED": "1"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--playground", "--port",
                                             str(self.port)], cwd=ROOT, env=env, stdout=out,
                                            stderr=subprocess.STDOUT)
        self._wait_healthy()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    def _wait_healthy(self) -> None:
        try:
            wait_for_health(self.port, self.process, timeout=SERVER_SECONDS)
        except (AssertionError, OSError) as error:
            raise AssertionError(f"staffsafe serve --playground was not up: {error}: {self.output()}") from error

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    require(PLAYGROUND / "cli.js", "The Microsoft 365 Agents Playground (npm @microsoft/m365agentsplayground)")
    node()
    running = Bot(tmp_path)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def playground(bot: Bot, tmp_path: Path) -> Iterator[Playground]:
    with Playground(bot_url=bot.url, config=CONFIG, work=tmp_path / "playground", port=free_port()) as running:
        yield running


def test_install_help_hotlines_and_a_report_through_the_playground(bot, playground):
    # Install: in the leads' team (its channel gets the alerts) and in my personal chat.
    playground.install(playground.team)
    playground.install(playground.personal)

    playground.say("help")
    helped = playground.wait_for(lambda: "hotlines" in shown(playground.messages()) and playground.messages(),
                                 "help card")
    assert "Everything you do here is private to you." in shown(helped)
    assert all(name in shown(helped) for name in ("report", "myreports", "takedown", "staysafe"))

    playground.say("hotlines o2")
    playground.wait_for(lambda: "nuisance@telefonica.com" in shown(playground.messages()), "O2's nuisance-call route")

    # "report": a card whose button opens the report dialog (a task/fetch, which the Playground cannot open).
    before = len(playground.messages())
    playground.say("report")
    opener = playground.wait_for(lambda: _dialog_button(playground.messages()[before:]), "button opening the form")

    fetch = playground.invoke("task/fetch", {"data": opener, "context": {"theme": "default"}})
    dialog = playground.wait_for(lambda: playground.answer_to(fetch), "answer to task/fetch")
    assert dialog["statusCode"] == 200 and dialog["body"]["task"]["type"] == "continue"
    card = dialog["body"]["task"]["value"]["card"]["content"]
    assert input_id("what_happened") in [element.get("id") for element in card["body"]]

    submit = playground.invoke("task/submit", {"data": dict(card["actions"][0]["data"]) | REPORT})
    receipt = playground.wait_for(lambda: playground.answer_to(submit), "answer to task/submit")
    said = shown(receipt["body"])
    (reference,) = set(REFERENCE.findall(said))
    assert f"Your report {reference} is saved" in said

    # The receipt reaches my personal chat too (through the outbox), and the leads' channel gets a
    # content-light alert naming the reference; the report's words stay out of the alert.
    playground.wait_for(lambda: f"Your report {reference} is saved" in shown(playground.messages()),
                        "receipt in the personal chat")

    alert = playground.wait_for(lambda: [m for m in playground.messages(playground.team)
                                         if reference in shown([m])], "alert in the leads' channel")
    assert REPORT[input_id("what_happened")] not in shown(alert)

    # Nothing was refused, and every start said that nothing is authenticated.
    assert bot.stop() == 0
    log = bot.output()
    assert "PLAYGROUND MODE" in log and "NOT authenticated" in log
    assert "Traceback" not in log


def _dialog_button(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    for message in messages:
        for attachment in message.get("attachments", []):
            for action in attachment.get("content", {}).get("actions", []):
                data = action.get("data", {})
                if data.get("msteams", {}).get("type") == "task/fetch":
                    return dict(data)
    return None


def test_the_playground_files_agree_with_each_other():
    people = yaml.safe_load(CONFIG.read_text())
    app = yaml.safe_load(APP_YAML.read_text())
    ids = {person["aadObjectId"] for person in [people["currentUser"], *people["users"]]}
    leads = {lead["id"] for lead in app["leads"]["teams"] + app["backup_leads"]["teams"]}
    assert leads <= ids and people["currentUser"]["aadObjectId"] not in leads
    assert app["lead_channel"]["teams"] == people["team"]["id"]
    assert len(people["users"]) == 5  # the Playground's config schema asks for exactly five
    json.dumps(people)  # plain data only


# --- playground mode's own guards (no Playground needed) ------------------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Bot]:
    running = Bot(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def post(bot: Bot, activity: dict[str, Any]) -> int:
    request = urllib.request.Request(bot.url, data=json.dumps(activity).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def activity(service_url: str) -> dict[str, Any]:
    people = yaml.safe_load(CONFIG.read_text())
    return {"type": "message", "id": "1", "channelId": "msteams", "serviceUrl": service_url, "text": "help",
            "from": {"id": people["currentUser"]["id"], "aadObjectId": people["currentUser"]["aadObjectId"]},
            "recipient": {"id": people["bot"]["id"]},
            "conversation": {"id": people["personalChat"]["id"], "conversationType": "personal",
                             "tenantId": people["tenantId"]},
            "channelData": {"tenant": {"id": people["tenantId"]}}}


def test_every_start_says_nothing_is_authenticated(server):
    log = server.output()
    assert "PLAYGROUND MODE: Teams requests are NOT authenticated" in log
    assert "Never use --playground with real staff" in log


def test_an_activity_whose_service_url_is_not_this_machine_is_refused(server):
    assert post(server, activity("https://smba.trafficmanager.net/teams/")) == 403
    assert post(server, activity("http://127.0.0.1.example.org/_connector")) == 403
    assert post(server, activity(f"http://localhost:{free_port()}/_connector")) == 200  # nobody there: no harm


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "staffsafe.example.org"])
def test_playground_mode_listens_on_loopback_only(tmp_path, host):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STAFFSAFE_", "HOST"))}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--playground", "--host", host, "--port", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=env | {"STAFFSAFE_CONFIG": str(APP_YAML), "STAFFSAFE_DATA_DIR": str(tmp_path / "d")})
    assert done.returncode == 2 and "listens on 127.0.0.1 only" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "d").exists()

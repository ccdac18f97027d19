"""`staffsafe serve` and `staffsafe manifest slack` as an operator runs them: real processes, a local fake Slack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from testkit.fake_slack import FakeSlack
from testkit.fake_socket_mode import FakeSocketMode
from testkit.instances import free_port, wait_for_health
from testkit.slack_harness import APP_YAML, BOT_TOKEN, SIGNING_SECRET, report_state, sign

ROOT = Path(__file__).resolve().parents[1]
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "PORT", "HOST")


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    config = tmp_path / "app.yaml"
    config.write_text(APP_YAML)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_") and k not in SLACK_VARS}
    return env | {"STAFFSAFE_CONFIG": str(config), "STAFFSAFE_DATA_DIR": str(tmp_path / "data")} | values


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)


@pytest.mark.parametrize(("missing", "named"), [
    ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
    ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
    ({"PORT": "eighty"}, "PORT"),
])
def test_missing_or_wrong_settings_stop_the_start_naming_the_setting(tmp_path, missing, named):
    env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET) | missing
    done = run("serve", env=env)
    assert done.returncode == 2 and named in done.stderr and "Traceback" not in done.stderr


def test_serve_reports_every_problem_in_one_go(tmp_path):
    env = environment(tmp_path, SLACK_BOT_TOKEN="xoxp-user-token", SLACK_SIGNING_SECRET="", PORT="0")
    done = run("serve", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for named in ("3 problems", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT"):
        assert named in done.stderr


def test_socket_mode_needs_an_app_token(tmp_path):
    env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN)
    done = run("serve", "--socket", env=env)
    assert done.returncode == 2 and "SLACK_APP_TOKEN" in done.stderr


def test_a_lead_channel_is_required(tmp_path):
    env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    Path(env["STAFFSAFE_CONFIG"]).write_text(APP_YAML.replace("lead_channel:\n  slack: C0LEADS01", "lead_channel: {}"))
    done = run("serve", env=env)
    assert done.returncode == 2 and "lead_channel.slack" in done.stderr


def test_a_token_slack_refuses_stops_the_start(tmp_path):
    with FakeSlack(token=BOT_TOKEN) as slack:
        env = environment(tmp_path, SLACK_BOT_TOKEN="xoxb-revoked", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                          SLACK_API_URL=slack.api_url, PORT=str(free_port()))
        done = run("serve", env=env)
    assert done.returncode == 2 and "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in done.stderr


def test_serve_answers_on_loopback_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_port()
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                          SLACK_API_URL=slack.api_url, PORT=str(port))
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            health = wait_for_health(port)
            assert health == {"ok": True}
            def hotlines(team_id: str) -> urllib.request.Request:
                body = urlencode({"command": "/hotlines", "text": "ee", "user_id": "U0STAFF01", "user_name": "sam",
                                  "team_id": team_id, "channel_id": "C0GENERAL", "trigger_id": "t",
                                  "response_url": slack.response_url("serve")})
                now = int(time.time())
                return urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers={
                    "X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": sign(body, now),
                    "Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(hotlines("T0TEAM"), timeout=10) as response:
                answer = json.loads(response.read())
            assert answer["response_type"] == "ephemeral" and "EE" in json.dumps(answer["blocks"])
            # Signed with the same secret, but from a workspace auth.test did not name: refused.
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(hotlines("T0ELSEWHERE"), timeout=10)
            assert refused.value.code == 403
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0
    assert "listening on http://127.0.0.1:" in stderr and "Traceback" not in stderr
    assert "refused a request (403): signed, but from another workspace or app" in stderr


def test_serve_warns_at_start_when_a_report_could_reach_nobody(tmp_path):
    port = free_port()
    with FakeSlack(token=BOT_TOKEN) as slack:
        env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                          SLACK_API_URL=slack.api_url, PORT=str(port))
        sole = APP_YAML[:APP_YAML.index("backup_leads:")] + APP_YAML[APP_YAML.index("admins:"):]
        Path(env["STAFFSAFE_CONFIG"]).write_text(sole)
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for_health(port) == {"ok": True}
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=60)
    assert "a report about Lee Harper" in stderr and "would reach nobody" in stderr


def test_manifest_command_prints_yaml_with_app_yaml_command_names(tmp_path):
    env = environment(tmp_path)
    Path(env["STAFFSAFE_CONFIG"]).write_text(APP_YAML + "commands:\n  report: staffsafe-report\n")
    done = run("manifest", "slack", "--url", "https://staffsafe.example.org", env=env)
    assert done.returncode == 0, done.stderr
    manifest = yaml.safe_load(done.stdout)
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert "/staffsafe-report" in commands and "/report" not in commands
    assert manifest["settings"]["interactivity"]["request_url"] == "https://staffsafe.example.org/slack/events"


def test_manifest_refuses_a_plain_http_url(tmp_path):
    done = run("manifest", "slack", "--url", "http://staffsafe.example.org", env=environment(tmp_path))
    assert done.returncode == 2 and "https" in done.stderr


def test_socket_mode_serves_commands_and_stores_reports(tmp_path):
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        socket_mode = FakeSocketMode()
        slack.socket_url = socket_mode.url
        env = environment(tmp_path, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=slack.app_token,
                          SLACK_API_URL=slack.api_url)
        server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--socket"], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            socket_mode.wait_connected()
            ack = socket_mode.send("slash_commands", {
                "command": "/hotlines", "text": "vodafone", "user_id": "U0STAFF01", "user_name": "sam",
                "team_id": "T0TEAM", "channel_id": "C0GENERAL", "trigger_id": "t1",
                "response_url": slack.response_url("socket")})
            assert ack["payload"]["response_type"] == "ephemeral" and "Vodafone" in json.dumps(ack["payload"])
            socket_mode.send("slash_commands", {"command": "/report", "text": "", "user_id": "U0STAFF01",
                                                "user_name": "sam", "team_id": "T0TEAM", "trigger_id": "t2",
                                                "channel_id": "C0GENERAL", "response_url": slack.response_url("r")})
            view = slack.wait_for("views.open")[0].args["view"]
            ack = socket_mode.send("interactive", {
                "type": "view_submission", "team": {"id": "T0TEAM"}, "user": {"id": "U0STAFF01", "name": "sam"},
                "view": view | {"id": "V1", "state": {"values": report_state()}}})
            assert ack["payload"]["response_action"] == "update"
            slack.wait_for("chat.postMessage", count=2)  # the alert and the receipt, from the outbox
            # From a workspace auth.test did not name: acknowledged (or Slack sends it again), not handled.
            ack = socket_mode.send("interactive", {
                "type": "view_submission", "team": {"id": "T0ELSEWHERE"}, "user": {"id": "U0STAFF01", "name": "sam"},
                "view": view | {"id": "V2", "state": {"values": report_state()}}})
            assert not ack.get("payload")
        finally:
            server.send_signal(signal.SIGTERM)
            _, stderr = server.communicate(timeout=60)
            socket_mode.close()
    assert server.returncode == 0, stderr
    assert "connected to Slack over Socket Mode" in stderr and "Traceback" not in stderr
    assert "refused a request (403): over Socket Mode, from another workspace or app" in stderr
    reopened = run("check", "--socket", env=env)
    assert "1 open report." in reopened.stdout

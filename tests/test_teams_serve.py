"""`staffsafe serve` with Teams as an operator runs it: a real process, real settings from the environment,
the local Bot Framework, Entra (https, test CA) and Connector fakes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from testkit.fake_botframework import FakeBotFramework
from testkit.fake_connector import FakeConnector
from testkit.fake_entra import FakeEntra
from testkit.teams_harness import APP_YAML, STAFF, Activities
from testkit.instances import free_port, wait_for_health
from tests.test_slack_serve import ROOT, environment, run

SECRET = "fake-secret"


@pytest.fixture
def fakes(tmp_path):
    with FakeConnector() as connector, FakeBotFramework(service_url=connector.service_url) as botframework, \
            FakeEntra(tenant_id=botframework.tenant_id, app_id=botframework.app_id, secret=SECRET,
                      directory=tmp_path / "ca") as entra:
        yield botframework, entra, connector


def teams_environment(tmp_path, botframework, entra, **values: str) -> dict[str, str]:
    env = environment(tmp_path, CLIENT_ID=botframework.app_id, CLIENT_SECRET=SECRET, TENANT_ID=botframework.tenant_id,
                      TEAMS_OPENID_METADATA_URL=botframework.metadata_url, TEAMS_LOGIN_HOST=entra.login_host,
                      REQUESTS_CA_BUNDLE=str(entra.ca_bundle), **values)
    (tmp_path / "app.yaml").write_text(APP_YAML)
    return env


def post(port: int, activity: dict, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/messages", data=json.dumps(activity).encode(),
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_serve_runs_teams_alone_from_its_settings_and_stops_cleanly(tmp_path, fakes):
    botframework, entra, connector = fakes
    port = free_port()
    env = teams_environment(tmp_path, botframework, entra, PORT=str(port))
    server = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_health(port) == {"ok": True}
        install = Activities(service_url=botframework.service_url, tenant=botframework.tenant_id).install(user=STAFF)
        assert post(port, install, botframework.token())[0] == 200
        assert post(port, install, botframework.token(aud="someone-else")) == (401, {"error": "unauthorized"})
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    assert server.returncode == 0 and "Traceback" not in stderr
    assert f"listening on http://127.0.0.1:{port}/api/messages" in stderr and "/slack/events" not in stderr
    assert "refused a request (401): " in stderr  # one content-free line
    assert entra.requests("token") >= 1  # the bot's token was asked for once at start


def test_a_wrong_secret_stops_the_start_with_one_line(tmp_path, fakes):
    botframework, entra, _ = fakes
    entra.fail_next("token", aadsts=7000215)
    done = run("serve", env=teams_environment(tmp_path, botframework, entra, PORT=str(free_port())))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("staffsafe:")]
    assert "AADSTS7000215" in line or "secret" in line.lower()


def test_half_set_teams_settings_stop_the_start_naming_what_is_missing(tmp_path):
    env = environment(tmp_path, CLIENT_ID="00000000-0000-4000-8000-00000000b0a7")
    done = run("serve", env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "CLIENT_SECRET" in done.stderr and "TENANT_ID" in done.stderr


def test_with_nothing_set_up_serve_says_what_to_set(tmp_path):
    env = environment(tmp_path)
    (tmp_path / "app.yaml").write_text("organisation: Example\nleads: {console: [lee]}\n")
    done = run("serve", env=env)
    assert done.returncode == 2 and "Nothing to serve: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to serve " \
                                   "Slack, or CLIENT_ID, CLIENT_SECRET and TENANT_ID to serve Teams" in done.stderr

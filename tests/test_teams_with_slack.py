"""One deployment serving Slack and Teams at once: one server, one outbox worker, a report on each reaching every lead."""

from __future__ import annotations

import pytest

from bot.app import TeamsConnection
from testkit.fake_slack import FakeSlack
from testkit.slack_harness import BOT_TOKEN, LEAD_CHANNEL, SlackBot, file_report, posts_to
from testkit.teams_harness import TENANT, Activities, TeamsDoor
from testkit.waits import wait_until
from tests.test_teams_app import GOOD, OneTokenAuth, RecordingConnector, _dialog, _submit_data, _texts

TEAMS_LEAD = "44444444-0000-4000-8000-00000000000d"
TEAMS_STAFF = "55555555-0000-4000-8000-00000000000e"
SERVICE_URL = "https://smba.example.test/teams/"
BOTH = f"""
organisation: Example Academy Trust
leads:
  slack:
    - {{id: U0LEAD001, name: Lee Harper}}
  teams:
    - {{id: {TEAMS_LEAD}, name: Tess Lead}}
backup_leads:
  slack:
    - {{id: U0BACKUP1, name: Bea Moss}}
admins:
  slack: [U0LEAD001]
lead_channel:
  slack: {LEAD_CHANNEL}
"""


@pytest.fixture
def both(tmp_path):
    with FakeSlack(token=BOT_TOKEN, team_id="T0TEAM") as slack:
        connector = RecordingConnector()
        bot = SlackBot(tmp_path=tmp_path, slack=slack, app_yaml=BOTH,
                       teams=TeamsConnection(auth=OneTokenAuth(), connector=connector, downloads=connector))
        yield bot, slack, connector
        bot.stop()


def test_a_report_on_each_platform_reaches_the_leads_on_both(both):
    bot, slack, connector = both
    teams, door = Activities(service_url=SERVICE_URL, tenant=TENANT), TeamsDoor(bot.url)
    for person in (TEAMS_LEAD, TEAMS_STAFF):
        assert door.post(teams.install(user=person)).status == 200
    slack_report = file_report(bot, slack)
    data = _submit_data(_dialog(door, teams, user=TEAMS_STAFF)) | GOOD
    assert door.post(teams.invoke("task/submit", {"data": data}, user=TEAMS_STAFF)).status == 200
    store = bot.services.store
    references = {r.id: r.reference for r in store.all_reports()}
    assert len(references) == 2 and slack_report in references
    for reference in references.values():  # each report: the Slack leads' channel and the Teams lead's chat
        wait_until(lambda: any(reference in str(call.args) for call in posts_to(slack, LEAD_CHANNEL)))
        wait_until(lambda: any(conv == f"a:personal-{TEAMS_LEAD}" and reference in " ".join(_texts(a))
                               for _, conv, a in connector.sent))
    assert bot.get("/healthz").json() == {"ok": True}

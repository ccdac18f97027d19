"""`staffsafe check` names the Teams leads (and the leads' channel) the bot cannot message yet."""

from __future__ import annotations

from bot.app import running
from bot.settings import settings_from_env
from handlers.conversations import remember_conversation
from testkit.teams_harness import APP_YAML, BACKUP, LEAD, LEADS_CHANNEL
from tests.test_cli import staffsafe


def test_check_names_the_leads_who_have_not_installed_the_app(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text(APP_YAML + f"lead_channel: {{teams: '{LEADS_CHANNEL}'}}\n")
    data = tmp_path / "data"
    with running(settings_from_env({}, config_path=config, data_dir=data)) as (services, _):
        remember_conversation(services, target=f"teams:{LEAD}", service_url="https://smba.example.test/teams/",
                              conversation="a:lee", tenant="t")
    done = staffsafe("check", data_dir=data, config=config)
    assert done.returncode == 0, done.stderr
    assert (f"Warning: Teams lead Bea Moss (teams:{BACKUP}) has not installed StaffSafe: alerts for them wait until "
            "they add the app in Teams (Apps, then search for StaffSafe) or message it once.") in done.stdout
    assert "Lee Harper" not in done.stdout
    assert (f"Warning: StaffSafe is not installed in the team of the leads' channel {LEADS_CHANNEL}: alerts for the "
            "channel wait until the app is added to that team.") in done.stdout

"""The staffsafe command: check, key rotation and re-encryption, and clear start-up errors."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def staffsafe(*args, data_dir, config=ROOT / "app.yaml", stdin=""):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_")}
    env |= {"STAFFSAFE_DATA_DIR": str(data_dir), "STAFFSAFE_CONFIG": str(config)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)


def test_check_reports_ok(tmp_path):
    done = staffsafe("check", data_dir=tmp_path / "data")
    assert done.returncode == 0 and "OK: Example Academy Trust, 1 lead, 0 open reports." in done.stdout


def test_a_bad_app_yaml_stops_the_start_naming_the_setting(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("organisation: Example\nleads: {console: [{name: nobody}]}\n")
    done = staffsafe("console", "--user", "sam", data_dir=tmp_path / "data", config=config)
    assert done.returncode == 2 and "leads.console[0]" in done.stderr and "Traceback" not in done.stderr


def test_rotate_then_reencrypt_keeps_every_report_readable(tmp_path):
    data = tmp_path / "data"
    staffsafe("console", "--user", "sam", data_dir=data, stdin="/reply nothing here\n")  # creates the folder and key
    from tests.test_console import REPORT, console

    console(data, "--user", "sam", lines=REPORT)
    old_key_id = (data / "secret.key").read_text().split()[0]
    rotated = staffsafe("keys", "rotate", data_dir=data)
    assert rotated.returncode == 0 and "reencrypt" in rotated.stdout
    assert len((data / "secret.key").read_text().split()) == 2 and (data / "secret.key").stat().st_mode & 0o077 == 0
    assert staffsafe("keys", "reencrypt", data_dir=data).stdout.startswith("Re-encrypted")
    # Drop the old key: everything must still open with the new one alone.
    (data / "secret.key").write_text((data / "secret.key").read_text().split()[0] + "\n")
    assert old_key_id not in (data / "secret.key").read_text()
    mine = staffsafe("console", "--user", "sam", data_dir=data, stdin="/myreports\n")
    assert mine.returncode == 0 and "SS-" in mine.stdout, mine.stderr


def test_check_warns_when_a_report_could_reach_nobody(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("organisation: Example\nleads: {console: [{id: lee, name: Lee Harper}]}\n")
    done = staffsafe("check", data_dir=tmp_path / "data", config=config)
    assert done.returncode == 0
    assert "Warning: a report about Lee Harper (console:lee) would reach nobody" in done.stdout
    assert "Warning" not in staffsafe("check", data_dir=tmp_path / "data2").stdout  # lee has a backup lead


def test_check_runs_the_starts_checks_for_the_configured_platforms_and_lists_every_problem(tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("organisation: Example\nleads: {slack: [{id: U0LEAD, name: Lee Harper}], console: [bea]}\n")
    done = staffsafe("check", data_dir=tmp_path / "data", config=config)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    for problem in ("3 problems", "SLACK_BOT_TOKEN is not set", "SLACK_SIGNING_SECRET is not set",
                    "lead_channel.slack is not set"):
        assert problem in done.stderr
    socket = staffsafe("check", "--socket", data_dir=tmp_path / "data", config=config)
    assert "SLACK_APP_TOKEN is not set" in socket.stderr and "SIGNING_SECRET" not in socket.stderr

"""The console bot driven through a subprocess, as a user would script it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def console(data_dir, *args, lines):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_")}
    env |= {"STAFFSAFE_DATA_DIR": str(data_dir), "STAFFSAFE_CONFIG": str(ROOT / "app.yaml")}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", *args],
        input="".join(line + "\n" for line in lines), capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
    )
    return done


REPORT = [
    "/report",
    "",  # what happened: empty -> inline error, asked again
    "A parent keeps posting my photo with insults <!channel> \x1b[31m",
    "1",  # where: first platform
    "https://facebook.com/post/1 not-a-url",  # bad URL -> re-asked
    "https://facebook.com/post/1",
    "2030-01-01",  # future -> re-asked
    "yesterday",
    "3",
    "2",  # linked to a service user
    "1",  # adult: yes
    "",  # subject: skip
    "1,2",  # threatening, abusive
    "1",  # evidence saved: yes
    "1",  # wants
    "1",  # named
    "yes",  # send, after checking the summary
]


def test_hotlines_are_scriptable(data_dir):
    done = console(data_dir, "--user", "sam", lines=["/hotlines o2"])
    assert done.returncode == 0, done.stderr
    assert "O2" in done.stdout and "nuisance" in done.stdout.lower()


def test_every_staff_command_answers(data_dir):
    done = console(data_dir, "--user", "sam", lines=[
        "/help", "/hotlines", "/hotlines THREE", "/hotlines nokia", "/takedown", "/staysafe", "/myreports", "/frobnicate"])
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "/report" in out and "Three" in out and "I don't know the mobile network 'nokia'" in out
    assert "facebook" in out and "checklist" in out.lower() and "You have not filed any reports" in out
    assert "I don't know 'frobnicate'" in out and "Traceback" not in out + done.stderr


def test_report_flow_with_inline_errors_then_the_lead_handles_it(data_dir):
    done = console(data_dir, "--user", "sam", lines=[*REPORT, "/myreports"])
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "This is required." in out and "not a web address" in out and "in the future" in out
    reference = next(word for word in out.split() if word.startswith("SS-")).strip("*.,")
    assert "── leads channel ──" in out and "possible crime" in out
    assert "── private message to sam ──" in out and "retaliate" in out.lower()
    assert "\x1b" not in out  # the escape sequence in the report was made inert
    leads_pane = out.split("── leads channel ──")[1].split("└")[0]
    assert "insults" not in leads_pane and "Sam" not in leads_pane

    lead = console(data_dir, "--user", "lee", "--lead", lines=[
        "/queue", f"/ack {reference} named", "yes", f"/note {reference} Spoke to the head", f"/status {reference} in_progress",
        f"/message {reference} We are on it", f"/case {reference}", f"/letter {reference}", f"/export {reference}"])
    out = lead.stdout
    assert lead.returncode == 0, lead.stderr
    assert reference in out and "insults" in out and "Spoke to the head" in out
    assert "We are on it" in out and "Takedown request: Facebook" in out
    # The reporter's messages are sent from the lead's session, but never shown in it.
    assert "private message to sam" not in out and "acknowledged by Lee Harper" not in out
    assert f"── {reference}.txt ──" in out and "case.export by Lee Harper" in out

    again = console(data_dir, "--user", "olu", lines=[f"/case {reference}", f"/ack {reference}"])
    assert again.stdout.count("Only the designated leads can do that.") == 2


def test_data_folder_holds_no_report_text_or_user_id(data_dir):
    console(data_dir, "--user", "sam", lines=REPORT)
    for path in data_dir.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert b"insults" not in blob and b"console:sam" not in blob, path


def test_a_second_process_on_the_same_data_folder_is_refused(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_")}
    env |= {"STAFFSAFE_DATA_DIR": str(data_dir), "STAFFSAFE_CONFIG": str(ROOT / "app.yaml")}
    first = subprocess.Popen([sys.executable, "-m", "bot.cli", "console", "--user", "sam"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert "StaffSafe console" in first.stdout.readline()
        second = console(data_dir, "--user", "lee", lines=["/help"])
        assert second.returncode == 2 and "another" in second.stderr.lower() and "Traceback" not in second.stderr
    finally:
        first.communicate("", timeout=30)


def test_a_wrong_key_is_a_clear_error_and_changes_nothing(data_dir):
    console(data_dir, "--user", "sam", lines=REPORT)
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != "lock"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_")}
    env |= {"STAFFSAFE_DATA_DIR": str(data_dir), "STAFFSAFE_CONFIG": str(ROOT / "app.yaml"),
            "STAFFSAFE_SECRET_KEY": "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "console", "--user", "sam"], input="/myreports\n",
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "key" in done.stderr.lower() and "Traceback" not in done.stderr
    assert before == {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file() and p.name != "lock"}


def test_a_lead_named_by_display_name_never_sees_the_report_and_the_others_see_who_was_named(data_dir):
    lines = REPORT[:9] + ["3", "1", "Lee Haper", "LEE HARPER"] + REPORT[12:]  # a colleague; a typo, then the name
    filed = console(data_dir, "--user", "sam", lines=lines)
    assert "Did you mean Lee Harper?" in filed.stdout and "Type their name or their user id" in filed.stdout
    reference = filed.stdout.split("Your report ", 1)[1].split(" ", 1)[0].strip("*")
    lee = console(data_dir, "--user", "lee", "--lead", lines=["/queue", f"/case {reference}", f"/ack {reference}"])
    assert lee.stdout.count("There is no report with reference") == 2  # as for a reference that does not exist
    assert "No open reports" in lee.stdout and "refused" not in lee.stdout + lee.stderr
    bea = console(data_dir, "--user", "bea", "--lead", lines=[f"/case {reference}"])
    assert "Named as responsible: Lee Harper (lee)" in bea.stdout and "console:lee" not in bea.stdout

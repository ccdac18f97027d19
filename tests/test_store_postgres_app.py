"""STAFFSAFE_DATABASE_URL end to end: the console on PostgreSQL, `staffsafe check` read-only, key rotation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from bot.app import open_store
from bot.settings import settings_from_env
from bot.store.postgres.store import PostgresStore
from tests.test_cli import ROOT
from tests.test_console import REPORT


def staffsafe(*args: str, data_dir: Path, url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The staffsafe command with its store in the database at `url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFFSAFE_")}
    env |= {"STAFFSAFE_DATA_DIR": str(data_dir), "STAFFSAFE_CONFIG": str(ROOT / "app.yaml"),
            "STAFFSAFE_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_the_database_url_selects_the_postgres_store(tmp_path: Path, database: str) -> None:
    settings = settings_from_env({"STAFFSAFE_DATABASE_URL": database, "STAFFSAFE_DATA_DIR": str(tmp_path / "d")})
    store = open_store(settings)
    try:
        assert isinstance(store, PostgresStore)
    finally:
        store.close()


def test_check_reads_the_database_without_writing_then_the_console_files_a_report_into_it(
    tmp_path: Path, database: str
) -> None:
    data = tmp_path / "data"
    checked = staffsafe("check", data_dir=data, url=database)
    assert checked.returncode == 0, checked.stderr
    assert "OK: Example Academy Trust, 1 lead, 0 open reports." in checked.stdout
    assert "holds no StaffSafe schema yet: the next start creates it" in checked.stdout
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)
    filed = staffsafe("console", "--user", "sam", data_dir=data, url=database, stdin="\n".join(REPORT) + "\n")
    assert filed.returncode == 0 and "SS-" in filed.stdout, filed.stderr
    assert _count(database, "reports") == 1 and not (data / "store.json").exists()
    again = staffsafe("check", data_dir=data, url=database)
    assert "1 open report." in again.stdout and "next start" not in again.stdout, again.stdout


def test_keys_rotate_and_reencrypt_work_on_the_database(tmp_path: Path, database: str) -> None:
    data = tmp_path / "data"
    staffsafe("console", "--user", "sam", data_dir=data, url=database, stdin="\n".join(REPORT) + "\n")
    key_file = data / "secret.key"
    rotated = staffsafe("keys", "rotate", data_dir=data, url=database)
    assert rotated.returncode == 0 and "Every instance on the database needs the new key file" in rotated.stdout
    done = staffsafe("keys", "reencrypt", data_dir=data, url=database)
    assert done.returncode == 0 and done.stdout.startswith("Re-encrypted"), done.stderr
    key_file.write_text(key_file.read_text().split()[0] + "\n")  # the old key dropped
    mine = staffsafe("console", "--user", "sam", data_dir=data, url=database, stdin="/myreports\n")
    assert mine.returncode == 0 and "SS-" in mine.stdout, mine.stderr


def test_a_lost_key_file_is_not_replaced_by_a_new_key_for_a_database_that_holds_data(
    tmp_path: Path, database: str
) -> None:
    staffsafe("console", "--user", "sam", data_dir=tmp_path / "first", url=database, stdin="/help\n")
    elsewhere = tmp_path / "second"
    refused = staffsafe("console", "--user", "sam", data_dir=elsewhere, url=database, stdin="/help\n")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "the secret key file" in refused.stderr and "is missing, but the database" in refused.stderr
    assert not (elsewhere / "secret.key").exists()

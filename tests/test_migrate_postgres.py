"""`staffsafe migrate --to postgresql://...` as an operator runs it: a data folder copied into a real database."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bot.crypto import new_key
from bot.store.migrate import migrate
from bot.store.read_only import ReadOnlyStore
from bot.store.memory import MemoryStore
from tests.test_migrate import KEY, KEYRING, DiesAfter, Interrupted, fingerprint, folder, state  # noqa: F401 (a fixture)

postgres_store = pytest.importorskip("bot.store.postgres.store")

ROOT = Path(__file__).resolve().parents[1]
def staffsafe(*args: str, folder: Path, database: str = "", key: bytes = KEY) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAFFSAFE_", "SLACK_"))} | {
        "STAFFSAFE_CONFIG": str(ROOT / "app.yaml"), "STAFFSAFE_DATA_DIR": str(folder),
        "STAFFSAFE_SECRET_KEY": base64.b64encode(key).decode()}
    if database:
        env["STAFFSAFE_DATABASE_URL"] = database
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_migrate_copies_verifies_and_leaves_the_folder_as_it_was(folder, database):
    before = fingerprint(folder)
    done = staffsafe("migrate", "--to", database, folder=folder)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "(only read: nothing in it changes)" in out and "Copied: 259 records written." in out
    assert "Verified: the database holds exactly what the data folder holds (259 records; 10 files" in out
    assert "Keys: the database is sealed with the same keys as the data folder" in out
    assert "from STAFFSAFE_SECRET_KEY" in out and "STAFFSAFE_DATABASE_URL" in out
    assert "DIFFERENT" not in out and "Traceback" not in done.stderr
    assert fingerprint(folder) == before
    with closing(postgres_store.PostgresStore.open(database, KEYRING)) as copy, \
            closing(ReadOnlyStore.open(folder, KEYRING)) as source:
        assert state(copy) == state(source)
        still_open = len(source.open_reports())
    # What the instances will see: `staffsafe check` on the database counts the folder's open reports.
    checked = staffsafe("check", folder=folder, database=database)
    assert checked.returncode == 0 and f"{still_open} open reports" in checked.stdout, checked.stderr
    again = staffsafe("migrate", "--to", database, folder=folder)
    assert again.returncode == 0 and "already held this whole copy: nothing was written" in again.stdout


def test_an_interrupted_copy_into_the_database_goes_on_when_run_again(folder, database):
    with closing(ReadOnlyStore.open(folder, KEYRING)) as source, \
            closing(postgres_store.PostgresStore.open(database, KEYRING)) as target:
        with pytest.raises(Interrupted):
            migrate(source, DiesAfter(target, 1))  # type: ignore[arg-type]
        again = migrate(source, target)
        assert again.ok and again.resumed and state(target) == state(source)


def test_a_database_an_instance_already_used_is_refused(folder, database, tmp_path):
    with closing(postgres_store.PostgresStore.open(database, KEYRING)) as used:
        with closing(ReadOnlyStore.open(folder, KEYRING)) as source:
            migrate(source, MemoryStore())  # the folder itself is fine
        from tests.store_contract import report
        from bot.domain.ports import Changes
        used.commit(Changes(reports=(report(),)))
    done = staffsafe("migrate", "--to", database, folder=folder)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the database already holds 1 report that this data folder does not" in done.stderr


def test_wrong_keys_an_empty_folder_or_a_wrong_address_are_named(folder, database, tmp_path):
    other = staffsafe("migrate", "--to", database, folder=folder, key=new_key())
    assert other.returncode == 2 and "key" in other.stderr and "Traceback" not in other.stderr
    empty = staffsafe("migrate", "--to", database, folder=tmp_path / "nothing")
    assert empty.returncode == 2 and "nothing to copy" in empty.stderr
    wrong = staffsafe("migrate", "--to", "mysql://db/x", folder=folder)
    assert wrong.returncode == 2 and "--to must be a PostgreSQL address" in wrong.stderr

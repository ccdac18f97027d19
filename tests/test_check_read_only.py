"""`staffsafe check` changes nothing in the data folder, and says what the next start would change.

Each case snapshots every file's bytes, mode and mtime (and the folder's own) before and after the
check; then, where the check said what a start would do, a real start does it and the check has
nothing left to say.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import running
from bot.cli import main
from bot.crypto import load_keyring
from bot.domain.errors import ConfigError, StoreError
from bot.settings import settings_from_env
from bot.store.read_only import ReadOnlyStore
from bot.store.snapshot import temp_path
from bot.store.tinydb_store import JOURNAL_NAME, SNAPSHOT_NAME, TinyDBStore
from testkit.store_faults import DAMAGE, copy_of, pristine_folder, report, submission
from tests.test_cli import ROOT, staffsafe
from tests.test_store_blobs import inline_evidence_folder
from tests.test_store_repair import edit_last_line

FORMAT1 = ROOT / "tests" / "data" / "format1"
FORMAT1_KEY = bytes(range(32))
NEXT_START = "the next start"
SEEDED_YAML = (ROOT / "app.yaml").read_text().replace("reminders: []", """reminders:
  - name: Lock your screen
    channels: {console: [staffroom]}
    every: weekdays
    days: [mon, wed]
    time: "16:30"
    topic: device-locking""")

State = dict[str, tuple[int, int, int, bytes]]  # path -> mode, size, mtime in ns, bytes


def state_of(folder: Path) -> State:
    """Every file and folder under (and including) `folder`: mode, size, mtime and bytes."""
    found: State = {}
    for path in [folder, *sorted(folder.rglob("*"))] if folder.exists() else []:
        stat = path.lstat()
        found[str(path.relative_to(folder))] = (stat.st_mode, stat.st_size, stat.st_mtime_ns,
                                                b"" if path.is_dir() else path.read_bytes())
    return found


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `staffsafe check` in this process (fast): its exit code, stdout and stderr."""
    for name in list(os.environ):
        if name.startswith(("STAFFSAFE_", "SLACK_")):
            monkeypatch.delenv(name)

    def run(data: Path, *args: str, config: Path = ROOT / "app.yaml") -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["--config", str(config), "--data-dir", str(data), "check", *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def start_once(data: Path, config: Path = ROOT / "app.yaml") -> None:
    """What a real start does to the folder (then a clean stop)."""
    settings = settings_from_env({}, config_path=config, data_dir=data)
    with running(settings):
        pass


TORN = b'0123abcd.ffff 5 {"reports": ['  # a line cut short before its newline


def with_a_torn_tail(data: Path) -> None:
    pristine_folder(data)
    with open(data / JOURNAL_NAME, "ab") as journal:
        journal.write(TORN)


def of_format1(data: Path) -> None:
    shutil.copytree(FORMAT1, data)
    (data / "secret.key").write_text(base64.b64encode(FORMAT1_KEY).decode() + "\n")


def with_a_leftover_snapshot(data: Path) -> None:
    pristine_folder(data)
    temp_path(data / SNAPSHOT_NAME).write_bytes(b'{"_meta": ')


def with_a_new_key(data: Path) -> None:
    pristine_folder(data)
    assert staffsafe("keys", "rotate", data_dir=data).returncode == 0


def with_inline_evidence(data: Path) -> None:
    inline_evidence_folder(data, load_keyring(data_dir=data))


def with_an_orphan_blob(data: Path) -> None:
    pristine_folder(data)
    with TinyDBStore.open(data, load_keyring(data_dir=data)) as store:
        store.write_evidence_blob("r1", "e1", [b"a crash came before the commit naming it"])


@dataclass(frozen=True)
class Case:
    """A data folder and the words the check must say about it (each said as what the next start does)."""

    make: Callable[[Path], object]
    says: tuple[str, ...]


CASES = {
    "missing": Case(lambda data: None, ("does not exist: the next start creates it",
                                        "There is no secret key file")),
    "empty": Case(lambda data: data.mkdir(), ("holds no store yet: the next start creates one",
                                              "There is no secret key file")),
    "fresh": Case(start_once, ()),
    "data": Case(pristine_folder, ("holds 3 entries saved since the snapshot: the next start folds them into it",)),
    "torn": Case(with_a_torn_tail, (f"ends in a torn write of {len(TORN)} bytes (a write interrupted before it was "
                                    "acknowledged): the next start drops it",)),
    "format1": Case(of_format1, ("is in the old format 1, without authentication tags: the next start rewrites it",
                                 "2 outbox items stored before items carried their platform")),
    "leftover": Case(with_a_leftover_snapshot, ("store.json.tmp is left over from an interrupted snapshot: "
                                                "the next start deletes it",)),
    "new key": Case(with_a_new_key, ("is new to this data folder: the next start records it in the snapshot",)),
    "inline evidence": Case(with_inline_evidence, ("1 evidence file stored inside the records by an earlier version: "
                                                   "the next start moves it out into encrypted files in",)),
    "orphan blob": Case(with_an_orphan_blob, ("that no record names (an upload or purge interrupted by a crash): "
                                              "the next start deletes it",)),
}


@pytest.mark.parametrize("name", CASES)
def test_check_changes_nothing_and_says_what_the_next_start_changes(tmp_path: Path, check, name: str) -> None:
    case, data = CASES[name], tmp_path / "data"
    case.make(data)
    before, around = state_of(data), state_of(tmp_path)
    code, out, err = check(data)
    assert code == 0, err
    assert state_of(data) == before
    if not data.exists():
        assert state_of(tmp_path) == around  # not even an empty folder was left
    said = [line for line in out.splitlines() if NEXT_START in line]
    for words in case.says:
        assert any(words in line for line in said), (words, out)
    assert len(said) >= len(case.says) and "Traceback" not in out + err
    # The words are true: a real start does what was said, and then there is nothing left to say.
    start_once(data)
    code, out, _ = check(data)
    assert code == 0 and NEXT_START not in out, out


def test_reminders_app_yaml_would_seed_are_named_not_seeded(tmp_path: Path, check) -> None:
    config = tmp_path / "app.yaml"
    config.write_text(SEEDED_YAML)
    data = tmp_path / "data"
    pristine_folder(data)
    before = state_of(data)
    code, out, err = check(data, config=config)
    assert code == 0, err
    assert "1 reminder from app.yaml not created yet: the next start creates it (Lock your screen)." in out
    assert state_of(data) == before
    start_once(data, config)
    assert "from app.yaml not created yet" not in check(data, config=config)[1]


DAMAGED = {
    "edited journal line": lambda data: edit_last_line(data),
    "missing journal": lambda data: (data / JOURNAL_NAME).unlink(),
    "missing key file": lambda data: (data / "secret.key").unlink(),
    "edited snapshot": lambda data: (data / SNAPSHOT_NAME).write_bytes(
        (data / SNAPSHOT_NAME).read_bytes().replace(b'"status": "new"', b'"status": "closed"', 1)),
}


@pytest.mark.parametrize("damage", DAMAGED)
def test_check_of_a_folder_a_start_refuses_changes_nothing(tmp_path: Path, check, damage: str) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    DAMAGED[damage](data)
    before = state_of(data)
    code, out, err = check(data)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert state_of(data) == before


def test_check_of_a_folder_in_use_says_so_and_changes_nothing(tmp_path: Path, check) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    with TinyDBStore.open(data, load_keyring(data_dir=data)):
        before = state_of(data)
        code, _, err = check(data)
        assert code == 2 and "in use by another StaffSafe process" in err
        assert state_of(data) == before


def test_a_read_only_store_refuses_commits_and_reads_what_a_start_reads(tmp_path: Path) -> None:
    data = tmp_path / "data"
    reports = pristine_folder(data)
    keyring = load_keyring(data_dir=data)
    store = ReadOnlyStore.open(data, keyring)
    try:
        assert store.all_reports() == reports
        with pytest.raises(StoreError, match="read-only"):
            store.commit(submission(report()))
        store.preview(submission(extra := report()))
        assert store.report(extra.id) == extra
    finally:
        store.close()
    with TinyDBStore.open(data, keyring) as reopened:
        assert reopened.all_reports() == reports  # the preview never reached the disk


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A crash image: one report in the snapshot, three in the journal."""
    image = tmp_path_factory.mktemp("pristine") / "image"
    pristine_folder(image)
    return image


def cut_journal(folder: Path, data: st.DataObject) -> None:
    path = folder / JOURNAL_NAME
    raw = path.read_bytes()
    path.write_bytes(raw[: data.draw(st.integers(0, len(raw)), label="cut")])


# Its own health checks replace the profile's (tests/conftest.py), so too_slow is named again: a loaded machine is no bug.
@settings(max_examples=24, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from([*DAMAGE, "the journal cut short"]), seed=st.integers(0, 2**32 - 1), data=st.data())
def test_check_of_any_damage_changes_nothing_and_agrees_with_a_start(
    pristine: Path, check, kind: str, seed: int, data: st.DataObject
) -> None:
    with copy_of(pristine) as folder:
        if kind in DAMAGE:
            DAMAGE[kind](folder, random.Random(seed))
        else:
            cut_journal(folder, data)
        before = state_of(folder)
        code, _, err = check(folder)
        assert state_of(folder) == before, kind
        assert code in (0, 2) and "Traceback" not in err and (code == 0 or err.count("\n") == 1)
        try:
            with TinyDBStore.open(folder, load_keyring(data_dir=folder)):
                started = True
        except (StoreError, ConfigError):
            started = False
        assert started == (code == 0), (kind, err)

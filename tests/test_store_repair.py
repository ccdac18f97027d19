"""`staffsafe check` reports damage and changes nothing; `staffsafe check --repair` mends the journal and says what was lost."""

from __future__ import annotations

import json
from pathlib import Path

from bot.crypto import load_keyring
from bot.store.tinydb_store import JOURNAL_NAME, SNAPSHOT_NAME, TinyDBStore
from testkit.store_faults import pristine_folder
from tests.test_cli import staffsafe


def edit_last_line(data: Path) -> bytes:
    """Mark the last journal entry's report closed, keeping its tag (an insider's edit); the journal before."""
    path = data / JOURNAL_NAME
    before = path.read_bytes()
    *head, last = before.splitlines(keepends=True)
    tag, seq, payload = last.rstrip(b"\n").split(b" ", 2)
    entry = json.loads(payload)
    entry["reports"][0]["status"] = "closed"
    path.write_bytes(b"".join(head) + b" ".join([tag, seq, json.dumps(entry, separators=(",", ":")).encode()]) + b"\n")
    return before


def files(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data.iterdir())}


def test_check_reports_an_edited_last_entry_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    edit_last_line(data)
    before = files(data)
    done = staffsafe("check", data_dir=data)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and str(data / JOURNAL_NAME) in done.stderr
    assert "check --repair" in done.stderr
    assert files(data) == before


def test_repair_moves_the_damaged_tail_aside_and_lists_what_it_held(tmp_path: Path) -> None:
    data = tmp_path / "data"
    reports = pristine_folder(data)
    edit_last_line(data)
    journal = (data / JOURNAL_NAME).read_bytes()
    offset = journal.rindex(b"\n", 0, len(journal) - 1) + 1
    done = staffsafe("check", "--repair", data_dir=data)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"byte offset {offset}" in out and "kept 2 entries" in out and "NOT RECOVERED" in out
    assert "a line that cannot be read (damaged or edited)" in out
    assert "OK:" in out and "3 open reports" in out
    [aside] = data.glob(f"{JOURNAL_NAME}.damaged-*")
    assert aside.read_bytes() == journal[offset:] and aside.stat().st_mode & 0o077 == 0
    with TinyDBStore.open(data, load_keyring(data_dir=data)) as store:
        assert [r.id for r in store.all_reports()] == [r.id for r in reports[:3]]
    again = staffsafe("check", "--repair", data_dir=data)
    assert again.returncode == 0 and "needs no repair" in again.stdout


def test_repair_lists_the_readable_entries_after_a_damaged_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    reports = pristine_folder(data)
    path = data / JOURNAL_NAME
    first, second, third = path.read_bytes().splitlines(keepends=True)
    damaged = bytearray(second)
    damaged[len(second) // 2] ^= 0x20
    path.write_bytes(first + bytes(damaged) + third)
    done = staffsafe("check", "--repair", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "kept 1 entry" in done.stdout and "cannot be read" in done.stdout
    start = len(first) + len(second)
    assert f"entry 4 (bytes {start}-{start + len(third)}): 1 report; 1 audit event; reference" in done.stdout
    assert reports[3].reference in done.stdout  # named, so the lead knows which report to ask for again
    assert reports[3].what_happened not in done.stdout and reports[2].reference not in done.stdout


def test_a_missing_journal_is_refused_then_recreated_on_request(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    (data / JOURNAL_NAME).unlink()
    before = files(data)
    refused = staffsafe("check", data_dir=data)
    assert refused.returncode == 2 and "missing" in refused.stderr and files(data) == before
    done = staffsafe("check", "--repair", data_dir=data)
    assert done.returncode == 0 and "created an empty one" in done.stdout and "NOT RECOVERED" in done.stdout
    assert "1 open report." in done.stdout


def test_repair_cannot_mend_a_damaged_snapshot_and_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    snapshot = data / SNAPSHOT_NAME
    snapshot.write_bytes(snapshot.read_bytes().replace(b'"status": "new"', b'"status": "closed"', 1))
    before = files(data)
    done = staffsafe("check", "--repair", data_dir=data)
    assert done.returncode == 2 and "backup" in done.stderr and str(snapshot) in done.stderr
    assert files(data) == before


def test_a_deleted_key_file_stops_the_start_without_writing_a_new_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    (data / "secret.key").unlink()
    done = staffsafe("check", data_dir=data)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "secret.key is missing" in done.stderr
    assert not (data / "secret.key").exists()


def test_a_data_folder_that_cannot_be_created_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    done = staffsafe("check", data_dir=blocker / "data")
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert str(blocker / "data") in done.stderr


def test_a_damaged_key_id_in_a_journal_line_is_damage_that_repair_sets_aside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    path = data / JOURNAL_NAME
    journal = path.read_bytes()
    last = journal.rindex(b"\n", 0, len(journal) - 1) + 1
    kid = journal[last:last + 8]
    path.write_bytes(journal[:last] + (b"00000000" if kid != b"00000000" else b"11111111") + journal[last + 8:])
    refused = staffsafe("check", data_dir=data)
    assert refused.returncode == 2 and f"byte offset {last}" in refused.stderr
    done = staffsafe("check", "--repair", data_dir=data)
    assert done.returncode == 0 and "kept 2 entries" in done.stdout and "3 open reports" in done.stdout


def test_rotating_a_missing_key_file_is_one_clear_line(tmp_path: Path) -> None:
    done = staffsafe("keys", "rotate", data_dir=tmp_path / "data")
    assert done.returncode == 2 and "does not exist" in done.stderr and done.stderr.count("\n") == 1
    assert not (tmp_path / "data" / "secret.key").exists()


def test_repair_deletes_evidence_files_no_record_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pristine_folder(data)
    with TinyDBStore.open(data, load_keyring(data_dir=data)) as store:
        store.write_evidence_blob("r1", "e1", [b"written, then the process died before the commit"])
    done = staffsafe("check", "--repair", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert f"Deleted 1 file in {data / 'evidence'} that no record names" in done.stdout
    assert list((data / "evidence").iterdir()) == []
    assert "needs no repair" in staffsafe("check", "--repair", data_dir=data).stdout

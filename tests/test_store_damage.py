"""TinyDBStore against damaged data folders: every kind of damage stops the start, naming the file.

Damage is generated (bytes flipped at offsets hypothesis picks, cuts at any length, edits of every
field left in clear, files deleted); in each case either the start is refused with the folder left
exactly as found, or every acknowledged record is there.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crypto import Keyring, load_keyring
from bot.domain.errors import ConfigError, KeyMismatch, StoreCorrupt, StoreError
from bot.domain.ports import Changes
from bot.store.journal import encode_untagged_line, encode_payload
from bot.store.snapshot import FORMAT, TAG
from bot.store.tinydb_store import JOURNAL_NAME, SNAPSHOT_NAME, TinyDBStore
from testkit.store_faults import copy_of, pristine_folder
from tests.store_contract import note, report, submission

KEYRING = Keyring(keys=[bytes(range(32))])
FORMAT_1 = Path(__file__).parent / "data" / "format1"
# Its own health checks replace the profile's (tests/conftest.py), so too_slow is named again: a loaded machine is no bug.
GENERATED = settings(max_examples=60, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def files(folder: Path) -> dict[str, bytes]:
    """Every file in a data folder, by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A crash image: one report in the snapshot, three in the journal; and every report's id."""
    image = tmp_path_factory.mktemp("pristine") / "image"
    return image, [r.id for r in pristine_folder(image)]


def refused(folder: Path, *, naming: Path) -> StoreError:
    """Open `folder`, expecting a refusal that names `naming` and leaves every file as it was."""
    before = files(folder)
    with pytest.raises(StoreCorrupt) as caught:
        TinyDBStore.open(folder, load_keyring(data_dir=folder))
    assert str(naming) in str(caught.value)
    assert files(folder) == before
    return caught.value


def report_ids(folder: Path) -> list[str]:
    with TinyDBStore.open(folder, load_keyring(data_dir=folder)) as store:
        return [r.id for r in store.all_reports()]


@GENERATED
@given(data=st.data())
def test_any_changed_byte_in_the_snapshot_stops_the_start(pristine: tuple[Path, list[str]], data: st.DataObject) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        path = folder / SNAPSHOT_NAME
        raw = bytearray(path.read_bytes())
        offset = data.draw(st.integers(0, len(raw) - 1), label="offset")
        raw[offset] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[offset]), label="byte")
        path.write_bytes(raw)
        refused(folder, naming=path)


@GENERATED
@given(data=st.data())
def test_a_changed_journal_byte_stops_the_start_or_loses_nothing(
    pristine: tuple[Path, list[str]], data: st.DataObject
) -> None:
    image, ids = pristine
    with copy_of(image) as folder:
        path = folder / JOURNAL_NAME
        raw = bytearray(path.read_bytes())
        # Half the time in the last line: a complete last line is no torn write either.
        last = raw.rindex(b"\n", 0, len(raw) - 1) + 1
        low = data.draw(st.sampled_from([0, last]), label="region")
        offset = data.draw(st.integers(low, len(raw) - 1), label="offset")
        raw[offset] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[offset]), label="byte")
        path.write_bytes(raw)
        if offset == len(raw) - 1:  # only the last newline: the line itself is whole and is kept
            assert report_ids(folder) == ids
        else:
            refused(folder, naming=path)


@GENERATED
@given(data=st.data())
def test_a_cut_journal_keeps_every_whole_line(pristine: tuple[Path, list[str]], data: st.DataObject) -> None:
    image, ids = pristine
    with copy_of(image) as folder:
        path = folder / JOURNAL_NAME
        raw = path.read_bytes()
        cut = data.draw(st.integers(0, len(raw)), label="cut")
        path.write_bytes(raw[:cut])
        # What a crash can leave: whole lines, then part of one (dropped, never acknowledged); a line cut
        # just before its newline is whole.
        whole = raw[:cut].count(b"\n") + (raw[cut:cut + 1] == b"\n")
        assert report_ids(folder) == ids[: 1 + whole]


@GENERATED
@given(data=st.data())
def test_a_cut_snapshot_stops_the_start(pristine: tuple[Path, list[str]], data: st.DataObject) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        path = folder / SNAPSHOT_NAME
        raw = path.read_bytes()
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1), label="cut")])
        refused(folder, naming=path)


# Every field of a report left in clear, with an edit an insider might want.
CLEAR_EDITS: list[tuple[str, Any]] = [
    ("status", "closed"),
    ("legal_hold", True),
    ("occasions", 1),
    ("where", "email"),
    ("reference", "SS-AAAAA-AAAAA"),
    ("escalations", 0),
    ("closed_at", "2020-01-01T00:00:00+00:00"),
]


@pytest.mark.parametrize(("field", "value"), CLEAR_EDITS)
def test_an_edited_clear_field_in_the_snapshot_stops_the_start(
    pristine: tuple[Path, list[str]], field: str, value: Any
) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        path = folder / SNAPSHOT_NAME
        text = json.loads(path.read_bytes())
        doc = text["reports"]["1"]
        doc[field] = value if doc[field] != value else "edited"
        path.write_text(json.dumps(text))  # the layout StaffSafe writes, the old tag kept
        assert "edited" in str(refused(folder, naming=path))


@pytest.mark.parametrize("line", [0, -1], ids=["first line", "last line"])
@pytest.mark.parametrize(("field", "value"), CLEAR_EDITS)
def test_an_edited_clear_field_in_the_journal_stops_the_start(
    pristine: tuple[Path, list[str]], field: str, value: Any, line: int
) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        path = folder / JOURNAL_NAME
        lines = path.read_bytes().splitlines(keepends=True)
        tag, seq, payload = lines[line].rstrip(b"\n").split(b" ", 2)
        entry = json.loads(payload)
        doc = entry["reports"][0]
        doc[field] = value if doc[field] != value else "edited"
        lines[line] = b" ".join([tag, seq, json.dumps(entry, separators=(",", ":")).encode()]) + b"\n"
        path.write_bytes(b"".join(lines))
        error = refused(folder, naming=path)
        assert f"byte offset {sum(map(len, lines[:line]))}" in str(error)


def test_a_missing_journal_beside_its_snapshot_stops_the_start(pristine: tuple[Path, list[str]]) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        (folder / JOURNAL_NAME).unlink()
        error = refused(folder, naming=folder / JOURNAL_NAME)
        assert "missing" in str(error) and "check --repair" in str(error)


def test_a_missing_snapshot_beside_its_journal_stops_the_start(pristine: tuple[Path, list[str]]) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        (folder / SNAPSHOT_NAME).unlink()
        refused(folder, naming=folder)


def test_an_untagged_line_in_a_tagged_folder_stops_the_start(pristine: tuple[Path, list[str]]) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        path = folder / JOURNAL_NAME
        lines = path.read_bytes().splitlines(keepends=True)
        seq = int(lines[-1].split(b" ")[1]) + 1
        path.write_bytes(b"".join(lines) + encode_untagged_line(seq, encode_payload({}, {"reports": ["x"]})))
        assert "untagged" in str(refused(folder, naming=path))


def test_a_folder_written_before_tags_opens_and_is_upgraded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(FORMAT_1, folder, ignore=shutil.ignore_patterns("README.md"))
    with caplog.at_level(logging.WARNING):
        store = TinyDBStore.open(folder, KEYRING)
    with store:
        assert [r.reference for r in store.all_reports()] == ["SS-M27GQ-F7QSP", "SS-RZDPM-DYC29"]
        [first, _] = store.all_reports()
        assert [n.text for n in store.notes(first.id)] == ["a note"]
        # The indexes behind the targeted reads are built at start: an old folder answers them too.
        assert store.open_report_count() == 2 and store.open_reports(1) == [first]
        assert store.escalation_due(first.created_at + timedelta(hours=24), timedelta(hours=24)) == [first]
    assert "format 1" in caplog.text
    snapshot = json.loads((folder / SNAPSHOT_NAME).read_bytes())
    assert snapshot["_meta"]["1"]["format"] == FORMAT and TAG in snapshot
    assert (folder / JOURNAL_NAME).read_bytes() == b""
    with TinyDBStore.open(folder, KEYRING) as again:
        assert len(again.all_reports()) == 2


def test_a_tagged_snapshot_passed_off_as_the_old_format_stops_the_start(pristine: tuple[Path, list[str]]) -> None:
    image, _ = pristine
    with copy_of(image) as folder:
        path = folder / SNAPSHOT_NAME
        text = json.loads(path.read_bytes())
        del text[TAG]
        text["_meta"]["1"]["format"] = 1
        text["reports"]["1"]["legal_hold"] = True
        path.write_text(json.dumps(text))
        assert "untagged format but was written tagged" in str(refused(folder, naming=path))


def test_a_commit_after_the_old_format_is_read_is_tagged(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(FORMAT_1, folder, ignore=shutil.ignore_patterns("README.md"))
    later = report(minutes=9)
    store = TinyDBStore.open(folder, KEYRING)
    store.commit(Changes(reports=(later,), notes=(note(later.id),)))
    line = (folder / JOURNAL_NAME).read_bytes()
    assert line.split(b" ", 1)[0].startswith(KEYRING.primary_id.encode() + b".")
    store.close()


def test_a_deleted_key_file_is_not_replaced_beside_data(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with TinyDBStore.open(folder, load_keyring(data_dir=folder)) as store:
        store.commit(submission(report()))
    (folder / "secret.key").unlink()
    with pytest.raises(ConfigError, match="secret.key is missing") as caught:
        load_keyring(data_dir=folder)
    assert SNAPSHOT_NAME in str(caught.value)
    assert not (folder / "secret.key").exists()


def test_a_folder_tagged_under_a_key_the_keyring_lacks_is_a_key_mismatch_not_damage(tmp_path: Path) -> None:
    old, new = Keyring(keys=[bytes(range(32))]), Keyring(keys=[bytes(range(1, 33)), bytes(range(32))])
    folder = tmp_path / "data"
    TinyDBStore.open(folder, old).close()
    live = TinyDBStore.open(folder, new)  # records the new key in the folder, then tags with it
    live.commit(submission(report()))
    image = tmp_path / "image"
    shutil.copytree(folder, image)
    live.close()
    before = files(image)
    with pytest.raises(KeyMismatch, match=new.primary_id):
        TinyDBStore.open(image, old)
    assert files(image) == before

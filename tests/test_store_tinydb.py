"""TinyDBStore: the Store contract, plus recovery from crashes, torn writes and damaged files."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tinydb import TinyDB

from bot.crypto import Keyring
from bot.domain.errors import StoreCorrupt, StoreLocked
from bot.domain.ports import Changes, Store
from bot.domain.report import MAX_EVIDENCE_BYTES, Report
from bot.store.blobs import blob_name
from bot.store.journal import encode_line, encode_payload, scan
from bot.store.sealing import Sealer
from bot.store.tinydb_store import JOURNAL_NAME, SNAPSHOT_NAME, TinyDBStore
from tests.store_contract import StoreContract, evidence, note, purge_record, report, submission

ROOT = Path(__file__).resolve().parents[1]
KEY = bytes(range(32))
SEALER = Sealer(keyring=Keyring(keys=[KEY]))


class TinyDBFactory:
    """Stores in one data folder; reopening closes the store and opens the folder again."""

    def __init__(self, *, data_dir: Path, keyring: Keyring) -> None:
        self.data_dir = data_dir
        self.keyring = keyring
        self.opened: list[TinyDBStore] = []

    def open(self) -> Store:
        store = TinyDBStore.open(self.data_dir, self.keyring)
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        store.close()
        return self.open()


class TestTinyDBStore(StoreContract):
    @pytest.fixture
    def factory(self, tmp_path: Path) -> Iterator[TinyDBFactory]:
        factory = TinyDBFactory(data_dir=tmp_path / "data", keyring=Keyring(keys=[KEY]))
        yield factory
        for store in factory.opened:
            store.close()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(keys=[KEY])


def files(data_dir: Path) -> dict[str, bytes]:
    """Every file under a data folder, by relative path."""
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def crash_image(store_dir: Path, into: Path) -> Path:
    """A copy of a live store's files: what a crash right now would leave (every commit is fsynced)."""
    shutil.copytree(store_dir, into)
    return into


def test_snapshot_is_readable_by_stock_tinydb(tmp_path: Path, keyring: Keyring) -> None:
    r = report()
    with TinyDBStore.open(tmp_path / "data", keyring) as store:
        store.commit(submission(r))
    shutil.copy(tmp_path / "data" / SNAPSHOT_NAME, tmp_path / "copy.json")
    db = TinyDB(tmp_path / "copy.json")
    [doc] = db.table("reports").all()
    assert doc["id"] == r.id and doc["reference"] == r.reference and doc["status"] == "new"
    assert doc["what_happened"].startswith("ss1:")
    assert len(db.table("outbox").all()) == 1 and len(db.table("audit").all()) == 1
    db.close()


def test_evidence_in_the_snapshot_is_sealed_with_its_metadata_clear(tmp_path: Path, keyring: Keyring) -> None:
    r = report()
    with TinyDBStore.open(tmp_path / "data", keyring) as store:
        e = evidence(store, r.id, data=b"pixels", source_id="F0123")
        store.commit(Changes(reports=(r,), evidence=(e,)))
    db = TinyDB(tmp_path / "data" / SNAPSHOT_NAME, access_mode="r")
    [doc] = db.table("evidence").all()
    db.close()
    for sealed in ("file_name", "source_id"):
        assert doc[sealed].startswith(f"ss1:{keyring.primary_id}:"), sealed
    assert "data" not in doc  # the bytes are a blob of their own
    [blob] = (tmp_path / "data" / "evidence").iterdir()
    assert b"pixels" not in blob.read_bytes() and blob.stat().st_mode & 0o077 == 0
    assert doc["source_hmac"] == keyring.keyed_hash("F0123", purpose="source_id")
    assert (doc["report_id"], doc["media_type"], doc["size"], doc["sha256"]) == (
        r.id, "image/png", 6, hashlib.sha256(b"pixels").hexdigest()
    )


def test_data_files_are_private(tmp_path: Path, keyring: Keyring) -> None:
    with TinyDBStore.open(tmp_path / "data", keyring) as store:
        store.commit(submission(report()))
        for path in (tmp_path / "data").iterdir():
            assert path.stat().st_mode & 0o077 == 0, path.name


def crashed_after_three_commits(tmp_path: Path, keyring: Keyring) -> tuple[Path, list[Report]]:
    """Three commits to `live`, its crash image in `image`, then `live` closed (and so compacted)."""
    store = TinyDBStore.open(tmp_path / "live", keyring)
    reports = [report(minutes=i) for i in range(3)]
    for r in reports:
        store.commit(submission(r))
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    return image, reports


def test_journal_is_replayed_after_a_crash(tmp_path: Path, keyring: Keyring) -> None:
    image, reports = crashed_after_three_commits(tmp_path, keyring)
    assert (image / JOURNAL_NAME).stat().st_size > 0
    with TinyDBStore.open(image, keyring) as again:
        assert again.all_reports() == reports
        assert (image / JOURNAL_NAME).stat().st_size == 0  # folded into the snapshot at open


def test_a_crash_between_snapshot_and_journal_reset_is_harmless(tmp_path: Path, keyring: Keyring) -> None:
    image, reports = crashed_after_three_commits(tmp_path, keyring)  # live's new snapshot holds all three
    shutil.copy(tmp_path / "live" / SNAPSHOT_NAME, image / SNAPSHOT_NAME)  # journal not yet reset
    with TinyDBStore.open(image, keyring) as again:
        assert again.all_reports() == reports
        later = report(minutes=9)
        again.commit(submission(later))
    with TinyDBStore.open(image, keyring) as again:
        assert again.all_reports() == [*reports, later]


def test_compaction_when_the_journal_grows(tmp_path: Path, keyring: Keyring) -> None:
    store = TinyDBStore.open(tmp_path / "data", keyring, compact_every=10_000)
    reports = [report(minutes=i) for i in range(30)]
    for r in reports:
        store.commit(submission(r))
        store.settle()  # compaction runs beside the commits
        journal, snapshot = ((tmp_path / "data" / name).stat().st_size for name in (JOURNAL_NAME, SNAPSHOT_NAME))
        assert journal < max(10_000, snapshot) + 5_000  # compacted once as big as the snapshot (or the minimum)
    image = crash_image(tmp_path / "data", tmp_path / "image")
    store.close()
    with TinyDBStore.open(image, keyring) as again:
        assert again.all_reports() == reports


def test_commits_go_on_while_a_snapshot_is_written(tmp_path: Path, keyring: Keyring) -> None:
    store = TinyDBStore.open(tmp_path / "data", keyring, compact_every=5_000)
    reports = [report(minutes=i) for i in range(200)]
    threads = [threading.Thread(target=lambda part=part: [store.commit(submission(r)) for r in part])
               for part in (reports[0::2], reports[1::2])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.settle()
    image = crash_image(tmp_path / "data", tmp_path / "image")  # as if killed now
    store.close()
    for folder in (image, tmp_path / "data"):
        with TinyDBStore.open(folder, keyring) as again:
            assert {r.id for r in again.all_reports()} == {r.id for r in reports}


def test_torn_last_entry_is_dropped_and_the_file_repaired(
    tmp_path: Path, keyring: Keyring, caplog: pytest.LogCaptureFixture
) -> None:
    store = TinyDBStore.open(tmp_path / "live", keyring)
    first, second, torn = report(), report(), report(what_happened="TORN-MARKER text")
    for r in (first, second, torn):
        store.commit(submission(r))
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    journal = image / JOURNAL_NAME
    whole = journal.read_bytes()
    cut = len(whole) - 40  # inside the last line
    journal.write_bytes(whole[:cut])
    torn_offset = whole.rindex(b"\n", 0, cut) + 1
    with caplog.at_level(logging.WARNING):
        again = TinyDBStore.open(image, keyring)
    assert again.all_reports() == [first, second]
    assert f"byte offset {torn_offset}" in caplog.text
    for secret in (torn.id, torn.reporter_id, "TORN-MARKER", torn.reference):
        assert secret not in caplog.text
    assert journal.read_bytes() == b""  # the torn bytes are gone, the rest is in the snapshot
    third = report()
    again.commit(submission(third))
    again.close()
    with TinyDBStore.open(image, keyring) as reopened:
        assert reopened.all_reports() == [first, second, third]


@pytest.mark.parametrize("damage", ["flipped byte", "garbage line", "missing entry"])
def test_damage_in_the_middle_of_the_journal_is_corruption(
    tmp_path: Path, keyring: Keyring, damage: str
) -> None:
    store = TinyDBStore.open(tmp_path / "live", keyring)
    for _ in range(3):
        store.commit(submission(report()))
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    journal = image / JOURNAL_NAME
    lines = journal.read_bytes().splitlines(keepends=True)
    if damage == "flipped byte":
        middle = bytearray(lines[1])
        middle[len(middle) // 2] ^= 0x01
        lines[1] = bytes(middle)
    elif damage == "garbage line":
        lines.insert(1, b"\x00\x17not a journal line\n")
    else:
        del lines[1]
    journal.write_bytes(b"".join(lines))
    before = files(image)
    with pytest.raises(StoreCorrupt, match="journal"):
        TinyDBStore.open(image, keyring)
    assert files(image) == before


@pytest.mark.parametrize("damage", ["truncated", "not json", "tampered ciphertext", "wrong format"])
def test_a_damaged_snapshot_is_corruption_and_left_untouched(
    tmp_path: Path, keyring: Keyring, damage: str
) -> None:
    data = tmp_path / "data"
    with TinyDBStore.open(data, keyring) as store:
        store.commit(submission(report()))
    snapshot = data / SNAPSHOT_NAME
    text = snapshot.read_bytes()
    if damage == "truncated":
        snapshot.write_bytes(text[: len(text) // 2])
    elif damage == "not json":
        snapshot.write_bytes(b"\x00" * 64)
    elif damage == "tampered ciphertext":
        start = text.index(b'"what_happened": "ss1:') + 40
        snapshot.write_bytes(text[:start] + (b"A" if text[start:start + 1] != b"A" else b"B") + text[start + 1 :])
    else:
        snapshot.write_bytes(text.replace(b'"format": 2', b'"format": 99'))
    before = files(data)
    with pytest.raises(StoreCorrupt):
        TinyDBStore.open(data, keyring)
    assert files(data) == before


def test_a_journal_without_its_snapshot_is_corruption(tmp_path: Path, keyring: Keyring) -> None:
    store = TinyDBStore.open(tmp_path / "live", keyring)
    store.commit(submission(report()))
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    (image / SNAPSHOT_NAME).unlink()
    before = files(image)
    with pytest.raises(StoreCorrupt, match="no snapshot"):
        TinyDBStore.open(image, keyring)
    assert files(image) == before


def test_a_failed_open_releases_the_lock(tmp_path: Path, keyring: Keyring) -> None:
    data = tmp_path / "data"
    with TinyDBStore.open(data, keyring) as store:
        store.commit(submission(report()))
    good = (data / SNAPSHOT_NAME).read_bytes()
    (data / SNAPSHOT_NAME).write_bytes(b"{")
    with pytest.raises(StoreCorrupt):
        TinyDBStore.open(data, keyring)
    (data / SNAPSHOT_NAME).write_bytes(good)
    TinyDBStore.open(data, keyring).close()


def test_a_second_open_in_this_process_is_refused(tmp_path: Path, keyring: Keyring) -> None:
    with TinyDBStore.open(tmp_path / "data", keyring):
        with pytest.raises(StoreLocked, match=str(tmp_path / "data")):
            TinyDBStore.open(tmp_path / "data", keyring)


SECOND_PROCESS = """
import sys
from pathlib import Path
from bot.crypto import Keyring
from bot.domain.errors import StoreLocked
from bot.store.tinydb_store import TinyDBStore
try:
    TinyDBStore.open(Path(sys.argv[1]), Keyring(keys=[bytes(range(32))]))
except StoreLocked as exc:
    print("StoreLocked:", exc)
"""


def test_a_second_process_gets_store_locked(tmp_path: Path, keyring: Keyring) -> None:
    data = tmp_path / "data"
    with TinyDBStore.open(data, keyring) as store:
        store.commit(submission(report()))
        before = files(data)
        child = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, str(data)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )
        assert child.stdout.startswith("StoreLocked:"), child.stderr
        assert str(data) in child.stdout
        assert files(data) == before


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from bot.crypto import Keyring
from bot.domain.errors import StoreError
from bot.store.tinydb_store import JOURNAL_NAME, TinyDBStore
from tests.store_contract import report, submission
data = Path(sys.argv[1])
store = TinyDBStore.open(data, Keyring(keys=[bytes(range(32))]))
kept = report(what_happened="x" * 3000)
store.commit(submission(kept))
# Files may not grow past the journal's size + 1,000 bytes: the next commit is written in part.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = (data / JOURNAL_NAME).stat().st_size + 1000
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
for attempt in range(2):
    try:
        store.commit(submission(report(what_happened="y" * 3000)))
    except StoreError as exc:
        print("refused:", exc)
print("size ok:", (data / JOURNAL_NAME).stat().st_size < limit)
print("kept:", [r.id for r in store.all_reports()] == [kept.id], "healthy:", store.healthy)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
healed = report(what_happened="z" * 3000)
store.commit(submission(healed))  # space is back: no restart needed
print("healthy:", store.healthy)
print(kept.id, healed.id, flush=True)
import os; os._exit(0)
"""


def test_a_failed_write_commits_nothing_leaves_no_partial_line_and_heals(tmp_path: Path, keyring: Keyring) -> None:
    data = tmp_path / "data"
    child = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(data)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    lines = child.stdout.splitlines()
    assert len(lines) == 6, child.stderr
    assert all("nothing was committed" in line and "EFBIG" in line for line in lines[0:2])
    assert lines[2:5] == ["size ok: True", "kept: True healthy: False", "healthy: True"]
    assert child.stderr.count("fail (EFBIG") == 1 and child.stderr.count("work again") == 1  # logged once each
    with TinyDBStore.open(data, keyring) as again:
        assert [r.id for r in again.all_reports()] == lines[5].split()


def test_note_text_round_trips_through_the_journal(tmp_path: Path, keyring: Keyring) -> None:
    r = report()
    n = note(r.id, text='multi\nline "quoted" text \u2028 with \\ escapes and emoji \U0001f600')
    store = TinyDBStore.open(tmp_path / "live", keyring)
    store.commit(Changes(reports=(r,), notes=(n,)))
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    with TinyDBStore.open(image, keyring) as again:
        assert again.notes(r.id) == [n]


def test_a_5_mb_file_stays_out_of_the_journal_and_the_snapshot(tmp_path: Path, keyring: Keyring) -> None:
    r = report()
    data = os.urandom(5 * 1024 * 1024)  # random, so incompressible like a real screenshot
    store = TinyDBStore.open(tmp_path / "live", keyring)
    big = evidence(store, r.id, data=data, file_name="scroll capture.png")
    store.commit(Changes(reports=(r,), evidence=(big,)))
    journal = (tmp_path / "live" / JOURNAL_NAME).read_bytes()
    assert journal.count(b"\n") == 1 and len(journal) < 8_000  # the record, not the bytes
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    assert (tmp_path / "live" / SNAPSHOT_NAME).stat().st_size < 20_000
    for folder in (image, tmp_path / "live"):  # replayed from the journal; read from the snapshot
        with TinyDBStore.open(folder, keyring) as again:
            assert again.evidence(r.id) == [big]
            assert b"".join(again.open_evidence(r.id, big.id)) == data


def test_a_crash_between_the_blob_and_its_commit_leaves_an_orphan_the_next_start_deletes(
    tmp_path: Path, keyring: Keyring
) -> None:
    r = report()
    store = TinyDBStore.open(tmp_path / "live", keyring)
    store.commit(submission(r))
    kept = evidence(store, r.id, data=b"committed")
    store.commit(Changes(evidence=(kept,)))
    store.write_evidence_blob(r.id, "never committed", (os.urandom(200_000),))
    image = crash_image(tmp_path / "live", tmp_path / "image")  # killed before the commit naming it
    (image / "evidence" / "0123.tmp").write_bytes(b"a half-written blob")  # killed mid-write, too
    store.close()
    assert len(list((image / "evidence").iterdir())) == 3
    with TinyDBStore.open(image, keyring) as again:
        assert [p.name for p in (image / "evidence").iterdir()] == [blob_name(r.id, kept.id)]
        assert again.evidence(r.id) == [kept] and b"".join(again.open_evidence(r.id, kept.id)) == b"committed"


def test_a_journal_line_for_the_largest_file_reads_back(tmp_path: Path) -> None:
    # The largest file makes a ~14 MB line; the crc and the line split must not care about size.
    token = "A" * (MAX_EVIDENCE_BYTES * 4 // 3 + 100)
    payload = json.dumps({"evidence": [{"id": "e1", "data": token}]}).encode()
    lines = [encode_line(1, payload, SEALER), encode_line(2, b'{"notes":[]}', SEALER)]
    result = scan(b"".join(lines), source=tmp_path, sealer=SEALER)
    assert [e.seq for e in result.entries] == [1, 2] and result.torn_at is None
    assert result.entries[0].tables["evidence"][0]["data"] == token
    torn = scan(lines[0] + lines[1][:5], source=tmp_path, sealer=SEALER)
    assert len(torn.entries) == 1 and torn.torn_at == len(lines[0])
    damaged = bytearray(lines[0])
    damaged[len(damaged) // 2] ^= 0x01
    assert scan(bytes(damaged) + lines[1], source=tmp_path, sealer=SEALER).damage is not None


def committed_purge(tmp_path: Path, keyring: Keyring) -> tuple[TinyDBStore, Report, Report, Changes]:
    """A live store with a purged report (with a note, a file, audit and outbox) and a kept one."""
    store = TinyDBStore.open(tmp_path / "live", keyring)
    gone, kept = report(minutes=1), report(minutes=2)
    store.commit(submission(gone))
    store.commit(submission(kept))
    attached = Changes(notes=(note(gone.id),), evidence=(evidence(store, gone.id),))
    store.commit(attached)
    [sent] = store.outbox_of(kept.id)
    store.commit(Changes(purge_reports=(gone,), purges=(purge_record(gone),), drop_outbox=(sent.id,)))
    return store, gone, kept, attached


def test_a_journal_holding_a_purge_is_replayed(tmp_path: Path, keyring: Keyring) -> None:
    store, gone, kept, attached = committed_purge(tmp_path, keyring)
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    last = scan((image / JOURNAL_NAME).read_bytes(), source=image, sealer=SEALER).entries[-1]
    assert last.removed["reports"] == [gone.id] and last.removed["notes"] == [attached.notes[0].id]
    assert set(last.removed) == {"reports", "notes", "evidence", "audit", "outbox"}
    assert len(last.removed["outbox"]) == 2  # the purged report's alert, and the dropped one
    assert list((image / "evidence").iterdir()) == []  # its file went after the commit that purged it
    for _ in range(2):  # replayed from the journal, then read from the snapshot written at open
        with TinyDBStore.open(image, keyring) as again:
            assert again.all_reports() == [kept] and again.report_by_reference(gone.reference) is None
            assert again.notes(gone.id) == [] and again.evidence(gone.id) == [] and again.audit(gone.id) == []
            assert again.outbox_of(gone.id) == [] and again.outbox_of(kept.id) == []
            assert [p.reference for p in again.purges()] == [gone.reference]


def test_a_torn_purge_leaves_the_report_whole(tmp_path: Path, keyring: Keyring) -> None:
    store, gone, kept, attached = committed_purge(tmp_path, keyring)
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    journal = image / JOURNAL_NAME
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-10])  # killed while writing the purge's line
    with TinyDBStore.open(image, keyring) as again:
        assert again.all_reports() == [gone, kept] and again.purges() == []
        assert again.notes(gone.id) == list(attached.notes) and len(again.outbox_of(kept.id)) == 1


@pytest.mark.parametrize("compaction", ["compact", "close"])
def test_no_trace_of_a_purged_report_in_the_files_after_compaction(
    tmp_path: Path, keyring: Keyring, compaction: str
) -> None:
    store, gone, kept, attached = committed_purge(tmp_path, keyring)
    getattr(store, compaction)()
    on_disk = files(tmp_path / "live")
    assert on_disk[JOURNAL_NAME] == b""
    traces = [gone.id, attached.notes[0].id, attached.evidence[0].id, attached.evidence[0].sha256]
    for name, data in on_disk.items():
        for trace in traces:
            assert trace.encode() not in data, (trace, name)
    snapshot = json.loads(on_disk[SNAPSHOT_NAME])
    [record] = snapshot["purges"].values()
    del snapshot["purges"]  # the purge record keeps the reference on purpose
    assert record["reference"] == gone.reference and gone.reference not in json.dumps(snapshot)
    assert kept.id in {doc["id"] for doc in snapshot["reports"].values()}
    store.close()


@pytest.mark.parametrize(
    "removed", [b'"_removed":["r1"]', b'"_removed":{"reports":"r1"}', b'"_removed":{"reports":[1]}']
)
def test_a_malformed_removal_list_is_a_damaged_line(tmp_path: Path, removed: bytes) -> None:
    lines = [encode_line(1, b"{" + removed + b"}", SEALER), encode_line(2, b'{"notes":[]}', SEALER)]
    for journal in (lines[0], lines[0][:-1], b"".join(lines)):  # last line, without its newline, or not
        result = scan(journal, source=tmp_path, sealer=SEALER)
        assert result.entries == [] and result.damage is not None or result.torn_at == 0


def test_a_removal_from_an_unknown_table_is_corruption(tmp_path: Path, keyring: Keyring) -> None:
    store = TinyDBStore.open(tmp_path / "live", keyring)
    store.commit(submission(report()))
    image = crash_image(tmp_path / "live", tmp_path / "image")
    store.close()
    with open(image / JOURNAL_NAME, "ab") as journal:
        journal.write(encode_line(2, encode_payload({}, {"secrets": ["x"]}), SEALER))
    before = files(image)
    with pytest.raises(StoreCorrupt, match="unknown table"):
        TinyDBStore.open(image, keyring)
    assert files(image) == before

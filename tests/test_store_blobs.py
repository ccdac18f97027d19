"""Evidence blobs on disk: encrypted in chunks bound to their file, tamper-evident, streamed in bounded memory."""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.crypto import Keyring
from bot.domain.errors import EvidenceUnreadable, KeyMismatch
from bot.domain.ports import Changes
from bot.store.blobs import FolderBlobs, blob_name
from bot.store.read_only import ReadOnlyStore
from bot.store.sealing import Sealer
from bot.store.snapshot import read_snapshot, write_snapshot
from bot.store.tinydb_store import JOURNAL_NAME, SNAPSHOT_NAME, TinyDBStore
from testkit.builders import an_evidence, evidence_in
from tests.store_contract import report

KEY_A, KEY_B = bytes(range(32)), bytes(range(1, 33))
CHUNK = 1024  # small chunks, so short test files span many of them
HEADER = 36


def blobs_in(folder: Path, *keys: bytes, chunk_bytes: int = CHUNK) -> FolderBlobs:
    return FolderBlobs(folder=folder, keyring=Keyring(keys=list(keys or (KEY_A,))), chunk_bytes=chunk_bytes)


def read_all(blobs: FolderBlobs, report_id: str, evidence_id: str, data: bytes) -> bytes:
    return b"".join(blobs.open(report_id, evidence_id, size=len(data), sha256=hashlib.sha256(data).hexdigest()))


def given_out(blobs: FolderBlobs, report_id: str, evidence_id: str, data: bytes) -> tuple[bytes, Exception | None]:
    """What a reader received before it stopped, and why it stopped (None: it read to the end)."""
    received = b""
    try:
        for chunk in blobs.open(report_id, evidence_id, size=len(data), sha256=hashlib.sha256(data).hexdigest()):
            received += chunk
    except EvidenceUnreadable as error:
        return received, error
    return received, None


DATA = bytes(range(256)) * 20  # 5 KiB: five chunks
SEALED = CHUNK + 16


def flip(offset: int) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        changed = bytearray(raw)
        changed[offset] ^= 0x01
        return bytes(changed)
    return edit


def swap(raw: bytes) -> bytes:
    first, second = HEADER, HEADER + SEALED
    return raw[:first] + raw[second:second + SEALED] + raw[first:second] + raw[second + SEALED:]


TAMPERING: dict[str, Callable[[bytes], bytes]] = {
    "a flipped byte in the first chunk": flip(HEADER + 10),
    "a flipped byte in the last chunk's tag": flip(-1),
    "a flipped byte in the salt": flip(20),
    "a flipped byte in the chunk size": flip(HEADER - 1),
    "cut after the fourth of five chunks": lambda raw: raw[:HEADER + 4 * SEALED],
    "cut inside a chunk": lambda raw: raw[:HEADER + 2 * SEALED + 100],
    "cut to its header": lambda raw: raw[:HEADER],
    "cut inside its header": lambda raw: raw[:20],
    "empty": lambda raw: b"",
    "two chunks swapped": swap,
    "a chunk repeated": lambda raw: raw[:HEADER + SEALED] + raw[HEADER:],
    "bytes appended": lambda raw: raw + raw[HEADER:HEADER + SEALED],
}


@pytest.mark.parametrize("tampering", TAMPERING)
def test_tampering_is_detected_and_no_wrong_byte_is_given(tmp_path: Path, tampering: str) -> None:
    blobs = blobs_in(tmp_path)
    blobs.write("r1", "e1", [DATA])
    path = blobs.path("r1", "e1")
    path.write_bytes(TAMPERING[tampering](path.read_bytes()))
    received, error = given_out(blobs, "r1", "e1", DATA)
    assert isinstance(error, EvidenceUnreadable), tampering
    assert "evidence file e1 of report r1" in str(error)
    assert DATA.startswith(received) and len(received) < len(DATA)


def test_a_blob_moved_to_another_report_or_file_does_not_open(tmp_path: Path) -> None:
    blobs = blobs_in(tmp_path)
    blobs.write("r1", "e1", [DATA])
    for report_id, evidence_id in (("r2", "e1"), ("r1", "e2")):
        shutil.copy(blobs.path("r1", "e1"), blobs.path(report_id, evidence_id))
        received, error = given_out(blobs, report_id, evidence_id, DATA)
        assert isinstance(error, EvidenceUnreadable) and "chunk 0 does not authenticate" in str(error)
        assert received == b""


def test_a_missing_blob_is_named_and_bytes_other_than_recorded_are_refused(tmp_path: Path) -> None:
    blobs = blobs_in(tmp_path)
    with pytest.raises(EvidenceUnreadable, match="missing"):
        blobs.open("r1", "nothing", size=0, sha256="")
    blobs.write("r1", "e1", [DATA])
    with pytest.raises(EvidenceUnreadable, match="SHA-256 recorded"):
        b"".join(blobs.open("r1", "e1", size=len(DATA), sha256="0" * 64))


def test_the_file_is_encrypted_and_private(tmp_path: Path) -> None:
    blobs = blobs_in(tmp_path)
    marker = b"PANGOLIN he knows where I live " * 100
    # Ids long enough that random ciphertext cannot hold them by chance (a 2-byte id sometimes did).
    report_id, evidence_id = "report-0f3c9a1e7b", "evidence-5d2e8c4a91"
    blobs.write(report_id, evidence_id, [marker])
    raw = blobs.path(report_id, evidence_id).read_bytes()
    assert b"PANGOLIN" not in raw and report_id.encode() not in raw and evidence_id.encode() not in raw
    assert blobs.path(report_id, evidence_id).stat().st_mode & 0o077 == 0 and tmp_path.stat().st_mode & 0o077 == 0
    assert blobs.path("r1", "e1").name == blob_name("r1", "e1") != blob_name("r1", "e2")


def test_old_keys_still_open_blobs_and_an_unknown_key_is_named(tmp_path: Path) -> None:
    blobs_in(tmp_path, KEY_A).write("r1", "e1", [DATA])
    rotated = blobs_in(tmp_path, KEY_B, KEY_A)
    assert read_all(rotated, "r1", "e1", DATA) == DATA
    assert rotated.key_id("r1", "e1") == Keyring(keys=[KEY_A]).primary_id
    with pytest.raises(KeyMismatch, match=Keyring(keys=[KEY_A]).primary_id):
        read_all(blobs_in(tmp_path, KEY_B), "r1", "e1", DATA)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), chunk_bytes=st.integers(1, 700), cuts=st.lists(st.integers(0, 3000)),
       flip_at=st.one_of(st.none(), st.integers(0, 10_000)))
def test_any_file_in_any_pieces_round_trips_and_any_flip_is_caught(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk_bytes: int, cuts: list[int], flip_at: int | None
) -> None:
    blobs = blobs_in(tmp_path_factory.mktemp("blobs"), chunk_bytes=chunk_bytes)
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    written = blobs.write("r", "e", (data[a:b] for a, b in zip(bounds, bounds[1:])))
    assert (written.size, written.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    if flip_at is None:
        assert read_all(blobs, "r", "e", data) == data
        return
    path = blobs.path("r", "e")
    raw = bytearray(path.read_bytes())
    raw[flip_at % len(raw)] ^= 0x80
    path.write_bytes(bytes(raw))
    received, error = given_out(blobs, "r", "e", data)
    assert error is not None and data.startswith(received) and len(received) < max(len(data), 1)


def test_memory_stays_bounded_by_a_chunk_whatever_the_file_size(tmp_path: Path) -> None:
    size = 24 * 1024 * 1024
    piece = os.urandom(64 * 1024)

    def incoming() -> Iterator[bytes]:  # as from the platform: never whole
        for _ in range(size // len(piece)):
            yield piece

    with TinyDBStore.open(tmp_path / "data", Keyring(keys=[KEY_A])) as store:
        r = report()
        store.commit(Changes(reports=(r,)))
        tracemalloc.start()
        try:
            written = store.write_evidence_blob(r.id, "big", incoming())
            _, writing_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            record = an_evidence(report_id=r.id, id="big", size=written.size, sha256=written.sha256)
            store.commit(Changes(evidence=(record,)))
            read = sum(len(chunk) for chunk in store.open_evidence(r.id, "big"))
            _, reading_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert read == size
    assert writing_peak < 1024 * 1024 and reading_peak < 1024 * 1024, (writing_peak, reading_peak)


# --- data folders written before evidence blobs


def inline_evidence_folder(data: Path, keyring: Keyring, *, in_journal: bool = False) -> tuple[str, str, bytes]:
    """A data folder as versions before blobs left it: a file's bytes sealed inside its evidence document.

    Returns (report id, evidence id, the file's bytes).
    """
    pixels = b"\x89PNG inline from an earlier version " * 3000
    r = report()
    with TinyDBStore.open(data, keyring) as store:
        record = evidence_in(store, report_id=r.id, data=pixels)
        store.commit(Changes(reports=(r,), evidence=(record,)))
    shutil.rmtree(data / "evidence")
    sealer = Sealer(keyring=keyring)
    snapshot = read_snapshot(data / SNAPSHOT_NAME, sealer)
    assert snapshot is not None
    [doc] = snapshot.tables["evidence"]
    # Exactly as the old Sealer sealed a binary field: the raw bytes, bound to evidence/<id>/data.
    doc["data"] = keyring.encrypt(pixels, aad=f"evidence/{record.id}/data".encode())
    write_snapshot(data / SNAPSHOT_NAME, snapshot, sealer)
    return r.id, record.id, pixels


def test_a_start_moves_inline_evidence_out_into_blobs(tmp_path: Path) -> None:
    data, keyring = tmp_path / "data", Keyring(keys=[KEY_A])
    report_id, evidence_id, pixels = inline_evidence_folder(data, keyring)
    assert b'"data": "ss1:' in (data / SNAPSHOT_NAME).read_bytes()
    checking = ReadOnlyStore.open(data, keyring)
    try:
        assert any("1 evidence file stored inside the records by an earlier version: the next start moves it "
                   "out into encrypted files" in line for line in checking.next_start)
        assert b"".join(checking.open_evidence(report_id, evidence_id)) == pixels  # readable before the move
    finally:
        checking.close()
    assert not (data / "evidence").exists()  # the check wrote nothing
    with TinyDBStore.open(data, keyring) as store:
        assert b"".join(store.open_evidence(report_id, evidence_id)) == pixels
    assert b'"data"' not in (data / SNAPSHOT_NAME).read_bytes() and (data / JOURNAL_NAME).stat().st_size == 0
    assert [p.name for p in (data / "evidence").iterdir()] == [blob_name(report_id, evidence_id)]
    checking = ReadOnlyStore.open(data, keyring)
    try:
        assert checking.next_start == ()
    finally:
        checking.close()


def test_an_orphan_is_reported_by_the_check_and_deleted_by_a_start(tmp_path: Path) -> None:
    data, keyring = tmp_path / "data", Keyring(keys=[KEY_A])
    with TinyDBStore.open(data, keyring) as store:
        store.write_evidence_blob("r1", "never committed", [b"pixels"])
    checking = ReadOnlyStore.open(data, keyring)
    try:
        assert any("1 file in" in line and "that no record names" in line for line in checking.next_start)
    finally:
        checking.close()
    assert len(list((data / "evidence").iterdir())) == 1
    TinyDBStore.open(data, keyring).close()
    assert list((data / "evidence").iterdir()) == []

"""A data folder opened to read only (`staffsafe check`): what a start would load, and what it would change.

Opening the TinyDB store writes: it drops a torn journal tail, rewrites an old-format folder, folds
the journal into a new snapshot, deletes a leftover temporary snapshot, and creates the folder and
its lock file. Here the same `recover` reads the folder, nothing is created, truncated or renamed
(the lock is only shared, and only if its file exists), commits are refused, and each change a
real start would make is said in words instead (and what it would commit at start, adopted outbox
items and seeded reminders, can be previewed in memory so the check counts what a start would).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bot.crypto import Keyring
from bot.domain.errors import StoreError
from bot.domain.ports import BlobWritten, Changes
from bot.domain.ui import counted
from bot.store.base import TablesStore
from bot.store.blobs import FOLDER_NAME as BLOBS_FOLDER, Blobs, FolderBlobs
from bot.store.recovery import DataPaths, Recovered, recover
from bot.store.sealing import LEGACY_EVIDENCE_DATA, Sealer
from bot.store.snapshot import temp_path
from bot.store.tables import Tables
from bot.store.tinydb_store import LOCK_NAME, data_paths, share_folder_lock, unusable_folder


class ReadOnlyStore(TablesStore):
    """The committed state of a data folder, read without changing a byte; every commit is refused."""

    def __init__(self, *, tables: Tables, blobs: Blobs, next_start: tuple[str, ...], lock_fd: int | None,
                 sealer: Sealer | None = None, inline: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__(tables=tables, blobs=blobs)
        self.next_start = next_start  # what a start would change in the folder, one sentence each
        self._lock_fd = lock_fd
        self._sealer = sealer
        self._inline = inline or {}  # evidence documents that still hold their bytes (an earlier version's)

    @classmethod
    def open(cls, data_dir: Path, keyring: Keyring) -> ReadOnlyStore:
        """Read the store in `data_dir` as a start would, changing nothing; StoreError where a start would stop."""
        paths = data_paths(Path(data_dir))
        lock_fd = None
        try:
            _check_usable(paths)
            if paths.folder.exists():
                lock_fd = share_folder_lock(paths.folder)
            sealer = Sealer(keyring=keyring)
            state = recover(paths, sealer)
            blobs = FolderBlobs(folder=paths.folder / BLOBS_FOLDER, keyring=keyring)
            inline = {i: doc for i, doc in state.sealed["evidence"].items() if LEGACY_EVIDENCE_DATA in doc}
            next_start = [*_what_a_start_changes(paths, state, sealer), *_what_a_start_does_to_evidence(
                state, blobs, len(inline))]
            return cls(tables=state.tables, blobs=blobs, next_start=tuple(next_start), lock_fd=lock_fd,
                       sealer=sealer, inline=inline)
        except BaseException as exc:
            if lock_fd is not None:
                os.close(lock_fd)
            if isinstance(exc, OSError):
                raise unusable_folder(paths.folder, exc) from None
            raise

    def commit(self, changes: Changes) -> None:
        """Refuse: this store only reads."""
        raise StoreError("the data folder was opened read-only (to check it): nothing was written")

    def write_evidence_blob(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Refuse: this store only reads."""
        raise StoreError("the data folder was opened read-only (to check it): nothing was written")

    def open_evidence(self, report_id: str, evidence_id: str) -> Iterator[bytes]:
        """A file's bytes: from its blob, or from inside its record where an earlier version kept them."""
        doc = self._inline.get(evidence_id)
        if doc is None or self._sealer is None or \
                self._read(self._tables.evidence.get, evidence_id).report_id != report_id:
            return super().open_evidence(report_id, evidence_id)
        return iter((self._sealer.open_legacy_evidence(doc),))

    def preview(self, changes: Changes) -> None:
        """Apply `changes` in memory only, as a start would commit them: later reads see them, the disk never does."""
        self._apply_in_memory(changes)

    def close(self) -> None:
        """Release the shared lock; later calls raise StoreError."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._lock_fd is not None:
                os.close(self._lock_fd)


def _what_a_start_changes(paths: DataPaths, state: Recovered, sealer: Sealer) -> list[str]:
    folder, journal = paths.folder, paths.journal
    if not folder.exists():
        return [f"The data folder {folder} does not exist: the next start creates it."]
    said = []
    if state.upgraded_from is not None:
        said.append(f"The data folder {folder} is in the old format {state.upgraded_from}, without "
                    "authentication tags: the next start rewrites it in the current format.")
    elif not paths.snapshot.exists():
        said.append(f"The data folder {folder} holds no store yet: the next start creates one.")
    elif state.needs_snapshot:
        said.append(f"The key {sealer.primary_id} is new to this data folder: the next start records it "
                    "in the snapshot.")
    journal_bytes = journal.stat().st_size if journal.exists() else 0
    if state.torn_at is not None:
        said.append(f"The journal {journal} ends in a torn write of {journal_bytes - state.torn_at} bytes "
                    "(a write interrupted before it was acknowledged): the next start drops it.")
        journal_bytes = state.torn_at
    if state.replayed:
        said.append(f"The journal {journal} holds {_entries(state.replayed)} saved since the snapshot: "
                    "the next start folds them into it.")
    elif journal_bytes:
        said.append(f"The journal {journal} holds only entries already in the snapshot: the next start empties it.")
    leftover = temp_path(paths.snapshot)
    if leftover.exists():
        said.append(f"{leftover} is left over from an interrupted snapshot: the next start deletes it.")
    return said


def _what_a_start_does_to_evidence(state: Recovered, blobs: FolderBlobs, inline: int) -> list[str]:
    said = []
    if inline:
        said.append(f"{counted(inline, 'evidence file')} stored inside the records by an earlier version: the next "
                    f"start moves {_them(inline)} out into encrypted files in {blobs.folder}.")
    orphans = blobs.orphans((e.report_id, e.id) for e in state.tables.evidence.values())
    if orphans:
        said.append(f"{counted(len(orphans), 'file')} in {blobs.folder} that no record names (an upload or purge "
                    f"interrupted by a crash): the next start deletes {_them(len(orphans))}.")
    return said


def _them(count: int) -> str:
    return "it" if count == 1 else "them"


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _check_usable(paths: DataPaths) -> None:
    """StoreError where a start could not use the folder: not a folder, not writable, or not creatable."""
    folder = existing = paths.folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise unusable_folder(folder, _os_error(errno.ENOTDIR))
    if os.statvfs(existing).f_flag & os.ST_RDONLY:
        raise unusable_folder(folder, _os_error(errno.EROFS))
    # A start creates the folder (in its nearest existing parent), the lock, snapshot and journal.
    writable = [existing, *(p for p in (folder / LOCK_NAME, paths.journal) if p.exists())]
    if not all(os.access(p, os.W_OK) for p in writable):
        raise unusable_folder(folder, _os_error(errno.EACCES))


def _os_error(code: int) -> OSError:
    return OSError(code, os.strerror(code))

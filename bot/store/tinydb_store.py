"""The default Store: a data folder with a TinyDB-layout snapshot plus an fsynced journal.

Stock TinyDB rewrites its whole file in place on every insert (slow, and torn by a crash) and is not
thread-safe, so live writes do not go through it. Records live in memory (decoded, plus their
sealed documents): they are opened once, at start, where the indexes behind the targeted reads are
built too, so a read never decrypts anything. Each commit is validated, appended to the journal as one line and fsynced
before `commit` returns. Compaction folds the journal into a new snapshot (temp file, fsync,
rename) and then drops the journal entries the snapshot holds (the rest go to a new journal file,
renamed into place); a crash between the steps is harmless because replay skips entries the
snapshot already holds. It runs in a thread beside the commits once the journal is as big as the
snapshot, so no acknowledgement waits for it and its cost per commit stays flat as the store grows.

A failed write (a full disk) commits nothing and fails that commit only: the next commit tries
again, so writes heal by themselves once space is back. While they fail, `healthy` is False (the
health check reports it), and the failure is logged once when it starts and once when it clears.

Files in the data folder: `staffsafe.lock` (flock, one process at a time), `store.json` (snapshot,
readable by `TinyDB(path)`; sensitive fields sealed; the whole file tagged), `journal.log` (each
line tagged), `evidence/` (one encrypted blob file per evidence record, see `bot/store/blobs.py`:
written before the commit naming it, deleted after the commit purging it; orphans swept at open).
Only evidence records (names, sizes, hashes) are in memory, never their bytes.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from pathlib import Path

from bot.crypto import Keyring
from bot.domain.errors import StoreCorrupt, StoreError, StoreLocked
from bot.domain.ports import Changes
from bot.domain.ui import counted
from bot.store.base import TablesStore
from bot.store.codec import TABLES, by_table, to_doc
from bot.store.journal import Journal, Writer, encode_line, encode_payload
from bot.store.recovery import DataPaths, Sealed, forget, recover
from bot.store.blobs import FOLDER_NAME as BLOBS_FOLDER, FolderBlobs
from bot.store.sealing import LEGACY_EVIDENCE_DATA, Sealer
from bot.durable import fsync_dir
from bot.store.snapshot import Snapshot, temp_path, write_snapshot
from bot.store.tables import Tables

log = logging.getLogger(__name__)

LOCK_NAME = "staffsafe.lock"
SNAPSHOT_NAME = "store.json"
JOURNAL_NAME = "journal.log"
DEFAULT_COMPACT_EVERY = 16 * 1024 * 1024  # journal bytes; bounds replay time at open


class TinyDBStore(TablesStore):
    """A durable, crash-safe, encrypted Store in one data folder, used by one process at a time."""

    def __init__(
        self,
        *,
        data_dir: Path,
        sealer: Sealer,
        tables: Tables,
        sealed: Sealed,
        key_checks: dict[str, str],
        seq: int,
        journal: Journal,
        lock_fd: int,
        compact_every: int,
        blobs: FolderBlobs,
    ) -> None:
        super().__init__(tables=tables, blobs=blobs)
        self._folder_blobs = blobs
        self._dir = data_dir
        self._sealer = sealer
        self._sealed = sealed
        self._key_checks = key_checks
        self._seq = seq
        self._journal = journal
        self._lock_fd = lock_fd
        self._compact_every = compact_every
        self._compact_at = compact_every
        self._failing: str | None = None  # why writes fail, while they do
        # Held for a whole compaction, taken before the store lock: one compaction at a time.
        self._compaction = threading.Lock()
        self._compactor: threading.Thread | None = None

    @classmethod
    def open(
        cls, data_dir: Path, keyring: Keyring, *, compact_every: int = DEFAULT_COMPACT_EVERY,
        write: Writer = os.write,
    ) -> TinyDBStore:
        """Open (or create) the store in `data_dir`, recovering from any crash.

        `write` writes journal lines (os.write; tests give one that fails like a full disk).
        """
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock_fd = lock_folder(data_dir)
        except OSError as exc:
            raise unusable_folder(data_dir, exc) from None
        try:
            return cls._load(data_dir, Sealer(keyring=keyring), lock_fd, compact_every, write)
        except BaseException as exc:
            os.close(lock_fd)
            if isinstance(exc, OSError):
                raise unusable_folder(data_dir, exc) from None
            raise

    @classmethod
    def _load(
        cls, data_dir: Path, sealer: Sealer, lock_fd: int, compact_every: int, write: Writer
    ) -> TinyDBStore:
        paths = data_paths(data_dir)
        state = recover(paths, sealer)  # reads and checks only: raises before changing anything
        if state.upgraded_from is not None:
            log.warning("data folder %s was written in format %d, without authentication tags; "
                        "rewriting it in the current format now", data_dir, state.upgraded_from)
        if state.torn_at is not None:
            log.warning(
                "journal %s: dropping an incomplete last entry at byte offset %d (interrupted write)",
                paths.journal,
                state.torn_at,
            )
            os.truncate(paths.journal, state.torn_at)
        temp_path(paths.snapshot).unlink(missing_ok=True)
        store = cls(
            data_dir=data_dir,
            sealer=sealer,
            tables=state.tables,
            sealed=state.sealed,
            key_checks=state.key_checks,
            seq=state.seq,
            journal=Journal(path=paths.journal, write=write),
            lock_fd=lock_fd,
            compact_every=compact_every,
            blobs=FolderBlobs(folder=data_dir / BLOBS_FOLDER, keyring=sealer.keyring),
        )
        try:
            moved = store._move_inline_evidence()
            swept = store._folder_blobs.sweep(store._named_blobs())
            if swept:
                log.warning("deleted %s in %s that no record names (left by an upload or purge interrupted "
                            "by a crash)", counted(swept, "evidence file"), store._folder_blobs.folder)
            if moved or state.needs_snapshot or store._journal.size:
                store._compact_locked()
            else:
                store._compact_at = store._next_compaction(paths.snapshot.stat().st_size)
            fsync_dir(data_dir)
        except BaseException:
            store._journal.close()
            raise
        return store

    def commit(self, changes: Changes) -> None:
        """Store every record of `changes` atomically; durable (fsynced) when this returns."""
        # Encrypt and serialise before taking the lock: it is the costly part and needs no state.
        docs = {t: [self._sealer.seal(t, to_doc(r)) for r in rs] for t, rs in by_table(changes) if rs}
        payload = encode_payload(docs, {})
        with self._lock:
            self._check_open()
            # What a commit removes depends on the state, so it is listed here, under the lock.
            removed = self._tables.check(changes)
            self._check_blobs(changes)
            if not (docs or removed):
                return
            gone = self._blobs_removed(changes, removed)
            if removed:  # rare (retention, clean-up) and small: serialised again here, with the ids
                payload = encode_payload(docs, removed)
            line = encode_line(self._seq + 1, payload, self._sealer)
            try:
                self._journal.append(line)
            except OSError as exc:
                # The journal cut the line back off (or will, before the next append): nothing of
                # this commit is on disk or in memory, and the next commit simply tries again.
                self._writes_failed(exc)
                raise StoreError(
                    f"could not write to the data folder {self._dir} ({_reason(exc)}); nothing was committed"
                ) from exc
            self._writes_work()
            self._seq += 1
            self._tables.apply(changes, removed)
            for table, table_docs in docs.items():
                for doc in table_docs:
                    self._sealed[table][doc["id"]] = doc
            forget(self._sealed, removed)
            self._blobs_committed(changes, gone)
            if self._journal.size >= self._compact_at and self._compactor is None:
                # Compacting takes long at scale (serialise and fsync every record): do it beside
                # the commits, not inside one, so acknowledgements never wait for it.
                self._compactor = threading.Thread(target=self._compact_beside, name="staffsafe-compact",
                                                   daemon=True)
                self._compactor.start()
        self._queued.fire_for(changes)  # outside the lock: waking a worker must not hold up other commits

    @property
    def healthy(self) -> bool:
        """False while writes to the data folder fail (a full or failing disk)."""
        return self._failing is None

    def compact(self) -> None:
        """Fold the journal into a fresh snapshot now."""
        with self._compaction, self._lock:
            self._check_open()
            self._compact_locked()

    def settle(self) -> None:
        """Wait for a compaction running in the background to finish."""
        compactor = self._compactor
        if compactor is not None:
            compactor.join()

    def reencrypt(self) -> int:
        """Re-seal every record and evidence file under the primary key, recompute keyed hashes; the record count.

        Blobs first, each rewritten whole (temporary file, rename) only if an older key sealed it, so
        that by the time the key checks stop naming the old keys nothing needs them.
        """
        with self._compaction, self._lock:
            self._check_open()
            primary = self._sealer.primary_id
            for record in self._tables.evidence.values():
                if self._folder_blobs.key_id(record.report_id, record.id) != primary:
                    self._folder_blobs.write(record.report_id, record.id, self._blobs.open(
                        record.report_id, record.id, size=record.size, sha256=record.sha256))
            sealed: Sealed = {
                table: {
                    rid: self._sealer.seal(table, to_doc(record))
                    for rid, record in self._tables.records(table).items()
                }
                for table in TABLES
            }
            self._sealed = sealed
            self._key_checks = self._sealer.key_check()  # old keys are no longer needed
            self._compact_locked()
            return sum(len(docs) for docs in sealed.values())

    def _named_blobs(self) -> list[tuple[str, str]]:
        """The blob of every evidence record, as (report id, evidence id)."""
        return [(e.report_id, e.id) for e in self._tables.evidence.values()]

    def _move_inline_evidence(self) -> int:
        """Move evidence bytes stored inline by earlier versions out into blob files; how many (at start).

        One file at a time: its bytes are decrypted, written as a blob and checked against the record,
        and its document re-sealed without them. The caller then writes a snapshot, so the bytes leave
        the folder's records; a crash before that only means doing it again at the next start.
        """
        inline = [doc for doc in self._sealed["evidence"].values() if LEGACY_EVIDENCE_DATA in doc]
        for doc in inline:
            record = self._tables.evidence[doc["id"]]
            data = self._sealer.open_legacy_evidence(doc)
            written = self._folder_blobs.write(record.report_id, record.id, (data,))
            del data
            if (written.size, written.sha256) != (record.size, record.sha256):
                self._folder_blobs.delete([(record.report_id, record.id)])
                raise StoreCorrupt(f"evidence record {record.id}: its stored bytes do not match the size and "
                                   "SHA-256 recorded with them; its records were left as they were")
            self._sealed["evidence"][record.id] = self._sealer.seal("evidence", to_doc(record))
        if inline:
            log.warning("moved %s stored inside the records by an earlier version out into encrypted files "
                        "in %s", counted(len(inline), "evidence file"), self._folder_blobs.folder)
        return len(inline)

    def close(self) -> None:
        """Compact, release the data folder; later calls raise StoreError."""
        with self._compaction, self._lock:
            if self._closed:
                return
            try:
                if self._journal.size and self._failing is None:
                    self._compact_quietly()
            finally:
                self._closed = True
                self._journal.close()
                os.close(self._lock_fd)  # releases the flock

    def __enter__(self) -> TinyDBStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _compact_locked(self) -> None:
        try:
            written = write_snapshot(self._dir / SNAPSHOT_NAME, self._snapshot(), self._sealer)
        except OSError as exc:
            # The old snapshot and the journal are untouched: nothing is lost, replay is longer.
            raise StoreError(f"could not write a snapshot in {self._dir} ({_reason(exc)})") from exc
        try:
            self._journal.reset()
        except OSError as exc:
            # The snapshot holds every entry, so the journal's are skipped on replay, and the
            # journal finishes the truncation before its next append.
            raise StoreError(f"could not empty the journal in {self._dir} ({_reason(exc)})") from exc
        self._compact_at = self._next_compaction(written)

    def _next_compaction(self, snapshot_bytes: int) -> int:
        # Compact again once the journal is as big as the snapshot (or the set minimum): the cost of
        # rewriting everything is then spread over as many bytes of commits, whatever the store's size.
        return max(self._compact_every, snapshot_bytes)

    def _compact_beside(self) -> None:
        """Write a snapshot while commits go on, then drop the journal entries it holds."""
        try:
            with self._compaction:
                with self._lock:
                    if self._closed or self._failing is not None:
                        return
                    snapshot = self._snapshot()
                    offset = self._journal.size  # the journal up to here is in the snapshot
                try:
                    written = write_snapshot(self._dir / SNAPSHOT_NAME, snapshot, self._sealer)
                except OSError as exc:
                    with self._lock:
                        self._compact_at = self._journal.size + self._compact_every
                    log.warning("compaction failed, will retry later (%s)", _reason(exc))
                    return
                with self._lock:
                    try:
                        self._journal.drop_prefix(offset)
                    except OSError as exc:
                        # The snapshot holds the entries; the whole journal is still valid too.
                        self._compact_at = self._journal.size + self._compact_every
                        log.warning("could not shorten the journal, will retry later (%s)", _reason(exc))
                        return
                    self._compact_at = self._journal.size + self._next_compaction(written)
        finally:
            self._compactor = None

    def _snapshot(self) -> Snapshot:
        """Everything committed so far (copies of the index: records themselves are immutable)."""
        return Snapshot(
            seq=self._seq,
            key_checks=self._key_checks,
            tables={table: list(docs.values()) for table, docs in self._sealed.items()},
        )

    def _compact_quietly(self) -> None:
        # The commit that triggered this is already durable in the journal; a failed compaction
        # only means a longer replay next time, so it must not fail the commit.
        try:
            self._compact_locked()
        except StoreError as exc:
            self._compact_at = self._journal.size + self._compact_every
            log.warning("compaction failed, will retry later: %s", exc)

    def _writes_failed(self, exc: OSError) -> None:
        reason = _reason(exc)
        if self._failing is None:
            log.error("writes to the data folder %s fail (%s); reports are refused until this clears",
                      self._dir, reason)
        self._failing = reason

    def _writes_work(self) -> None:
        if self._failing is not None:
            log.warning("writes to the data folder %s work again (they failed with %s)", self._dir, self._failing)
            self._failing = None


def data_paths(data_dir: Path) -> DataPaths:
    """The files of the data folder `data_dir`."""
    return DataPaths(snapshot=data_dir / SNAPSHOT_NAME, journal=data_dir / JOURNAL_NAME, folder=data_dir)


def _reason(exc: OSError) -> str:
    # The errno's name and text say what went wrong (no space, read-only) without any file content.
    name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return f"{name}: {exc.strerror}" if exc.strerror else name


def unusable_folder(data_dir: Path, exc: OSError) -> StoreError:
    """The one clear error for a data folder that cannot be used as `exc` says (not writable, disk full)."""
    return StoreError(
        f"the data folder {data_dir} cannot be used ({_reason(exc)}); check that it exists, "
        "is writable by this user, and that its disk is neither full nor read-only"
    )


def lock_folder(data_dir: Path) -> int:
    """Take the data folder's lock (one process at a time); StoreLocked if another process has it."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    return _flock(fd, data_dir, fcntl.LOCK_EX)


def share_folder_lock(data_dir: Path) -> int | None:
    """Take the data folder's lock shared, to read while nothing writes; None if no process ever locked it.

    Creates nothing: a folder without a lock file was never opened for writing.
    """
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    return _flock(fd, data_dir, fcntl.LOCK_SH)


def _flock(fd: int, data_dir: Path, operation: int) -> int:
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(
            f"the data folder {data_dir} is in use by another StaffSafe process; "
            "stop it first, or give this one its own data folder"
        ) from None
    return fd

"""Reading a data folder back into memory: snapshot, then the journal entries after it.

Only reads and checks: every problem is raised before the caller changes a single byte, so a
damaged or foreign data folder is left exactly as it was found.

Folders written before files carried tags (snapshot format 1, CRC-only journal lines) are still
read, and rewritten at once as format 2 (`needs_snapshot`): the upgrade happens on the first open,
not at some later compaction, so the window in which untagged data is accepted closes at once.
Untagged lines are accepted only beside a format 1 snapshot, or when already folded into the
snapshot (a crash during that first compaction); anywhere else they are an edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.errors import KeyMismatch, StoreCorrupt, StoreError
from bot.store.codec import TABLES, from_doc
from bot.store.journal import Entry, JournalDamaged, scan
from bot.store.sealing import Sealer
from bot.store.snapshot import UNTAGGED_FORMAT, Snapshot, read_snapshot
from bot.store.tables import Removed, Tables

Sealed = dict[str, dict[str, dict[str, Any]]]  # table -> record id -> sealed document


@dataclass(frozen=True)
class DataPaths:
    """The files of one data folder."""

    folder: Path
    snapshot: Path
    journal: Path


@dataclass(frozen=True)
class Recovered:
    """The last committed state, and what the caller must repair or write."""

    tables: Tables
    sealed: Sealed
    seq: int
    key_checks: dict[str, str]
    needs_snapshot: bool  # a new folder, a key to record in the key checks, or an old format
    torn_at: int | None  # byte offset of a torn last journal line, to cut away
    upgraded_from: int | None = None  # the snapshot format read, when older than the one written
    replayed: int = 0  # journal entries read after the snapshot (a start folds them into a new one)


def recover(paths: DataPaths, sealer: Sealer) -> Recovered:
    """The state committed in a data folder; StoreCorrupt or KeyMismatch if it cannot be read."""
    snapshot = read_snapshot(paths.snapshot, sealer)
    journal_exists = paths.journal.exists()
    journal_bytes = paths.journal.read_bytes() if journal_exists else b""
    created = snapshot is None
    if snapshot is None:
        if journal_bytes:
            raise StoreCorrupt(
                f"data folder {paths.folder} has a journal but no snapshot; it was left untouched"
            )
        snapshot = Snapshot(seq=0, key_checks=sealer.key_check(), tables={t: [] for t in TABLES})
    elif not journal_exists:
        raise StoreCorrupt(
            f"the journal {paths.journal} is missing beside its snapshot: every change saved since the "
            f"snapshot was written (entry {snapshot.seq}) would be lost; restore it from a backup, or run "
            "`staffsafe check --repair` to start from the snapshot alone; nothing was changed"
        )
    untagged = snapshot.format == UNTAGGED_FORMAT
    journal = scan(journal_bytes, source=paths.journal, sealer=sealer, folder_keys=snapshot.key_checks.keys())
    if journal.damage is not None:
        raise _damaged(paths.journal, journal.damage.offset, journal.damage.reason)

    tables = Tables(keyed_hash=sealer.keyed_hash)
    sealed: Sealed = {t: {} for t in TABLES}
    for table, docs in snapshot.tables.items():
        for doc in docs:
            if doc["id"] in sealed[table]:
                raise StoreCorrupt(f"snapshot {paths.snapshot}: {table} record {doc['id']} twice")
            _load(sealer, tables, sealed, table, doc, source=paths.snapshot)
    seq = snapshot.seq
    for entry in _entries_after(journal.entries, seq, source=paths.journal):
        if not (entry.tagged or untagged):
            raise _damaged(paths.journal, entry.offset, "an untagged line in a folder whose lines are tagged")
        # In the order of Tables.apply: the entry's records, then what it removes.
        try:
            for table, doc in _entry_docs(entry, source=paths.journal):
                _load(sealer, tables, sealed, table, doc, source=paths.journal)
        except KeyMismatch:
            raise
        except StoreCorrupt as exc:
            raise JournalDamaged(str(exc), offset=entry.offset) from None
        tables.remove(entry.removed)
        forget(sealed, entry.removed)
        seq = entry.seq

    key_checks = snapshot.key_checks
    if untagged:
        # Checks bound to the tagged format, so the upgraded folder cannot be passed off as an old one.
        key_checks = sealer.key_check()
    elif sealer.primary_id not in key_checks:
        # New records will be sealed with this key: record that it belongs to this folder.
        key_checks = {**key_checks, **sealer.key_check()}
    return Recovered(
        tables=tables,
        sealed=sealed,
        seq=seq,
        key_checks=key_checks,
        needs_snapshot=created or key_checks is not snapshot.key_checks,
        torn_at=journal.torn_at,
        upgraded_from=snapshot.format if untagged else None,
        replayed=seq - snapshot.seq,
    )


def _damaged(journal: Path, offset: int, reason: str) -> JournalDamaged:
    return JournalDamaged(
        f"journal {journal} is damaged or was edited at byte offset {offset} ({reason}); it was left "
        "untouched; `staffsafe check --repair` moves the damaged part aside and lists what it held",
        offset=offset,
    )


def _entries_after(entries: list[Entry], seq: int, *, source: Path) -> list[Entry]:
    # Entries up to `seq` are already in the snapshot (a crash after writing it, before the
    # journal was emptied); the rest must follow on without a gap.
    newer = [e for e in entries if e.seq > seq]
    if newer and newer[0].seq != seq + 1:
        raise _damaged(source, newer[0].offset,
                       f"it starts at entry {newer[0].seq} but the snapshot ends at entry {seq}: entries are missing")
    return newer


def forget(sealed: Sealed, removed: Removed) -> None:
    """Drop removed records' documents, so no later snapshot holds them."""
    for table, ids in removed.items():
        for record_id in ids:
            sealed[table].pop(record_id, None)


def _entry_docs(entry: Entry, *, source: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    if not set(entry.tables).union(entry.removed) <= TABLES.keys():
        raise StoreCorrupt(f"journal {source}: entry {entry.seq} names an unknown table")
    for table, docs in entry.tables.items():
        for doc in docs:
            yield table, doc


def _load(
    sealer: Sealer, tables: Tables, sealed: Sealed, table: str, doc: dict[str, Any], *, source: Path
) -> None:
    try:
        record = from_doc(TABLES[table], sealer.unseal(table, doc))
    except StoreError as exc:
        raise type(exc)(f"{source}: {exc}") from None
    except ValueError as exc:
        raise StoreCorrupt(f"{source}: {table} record {doc.get('id')}: {exc}") from None
    tables.put(record)
    sealed[table][record.id] = doc

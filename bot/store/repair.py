"""`staffsafe check --repair`: set a damaged journal tail aside, and say exactly what it held.

Only the journal can be mended without a backup: its entries after the first damaged line are
moved, bytes unchanged, to `journal.log.damaged-<time>` beside it (so nothing is destroyed and a
specialist can still look), and the journal is cut there. A missing journal is recreated empty. A
damaged snapshot cannot be mended here: the report says to restore it from a backup. Every line of
the report is content-free: entry numbers, byte ranges, record counts and report references.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from bot.crypto import Keyring
from bot.domain.errors import StoreCorrupt
from bot.durable import fsync_dir
from bot.store.journal import Entry, JournalDamaged, scan
from bot.domain.ui import counted
from bot.store.blobs import FOLDER_NAME as BLOBS_FOLDER, FolderBlobs
from bot.store.recovery import DataPaths, Recovered, recover
from bot.store.sealing import Sealer
from bot.store.snapshot import read_snapshot
from bot.store.tinydb_store import data_paths, lock_folder


def repair_data_folder(data_dir: Path, keyring: Keyring, *, now: datetime) -> list[str]:
    """Mend what can be mended in `data_dir` and describe it, line by line; StoreCorrupt if it cannot."""
    paths, sealer = data_paths(Path(data_dir)), Sealer(keyring=keyring)
    if not paths.folder.is_dir():
        return [f"The data folder {paths.folder} does not exist: nothing to repair."]
    lock_fd = lock_folder(paths.folder)
    try:
        done: list[str] = []
        while True:  # each pass mends one problem; the journal only gets shorter, so this ends
            try:
                if paths.snapshot.exists() and not paths.journal.exists():
                    read_snapshot(paths.snapshot, sealer)  # a damaged snapshot is said first, before any change
                    done.append(_recreate_journal(paths))
                state = recover(paths, sealer)
            except JournalDamaged as damaged:
                done += _set_tail_aside(paths, sealer, damaged.offset, now, why="damaged or edited")
                continue
            except StoreCorrupt as error:
                raise StoreCorrupt(f"{error}. `--repair` cannot mend this: restore the file from a backup") from None
            if state.torn_at is not None:
                done += _set_tail_aside(paths, sealer, state.torn_at, now, why="an interrupted write")
                continue
            done += _sweep_orphans(paths, state, keyring)
            return done or [f"The data folder {paths.folder} needs no repair."]
    finally:
        os.close(lock_fd)


def _sweep_orphans(paths: DataPaths, state: Recovered, keyring: Keyring) -> list[str]:
    """Delete evidence files no record names (a crash between writing one and its commit, or a purge's)."""
    blobs = FolderBlobs(folder=paths.folder / BLOBS_FOLDER, keyring=keyring)
    swept = blobs.sweep((e.report_id, e.id) for e in state.tables.evidence.values())
    if not swept:
        return []
    return [f"Deleted {counted(swept, 'file')} in {blobs.folder} that no record names (an upload or purge "
            "interrupted by a crash; no report lost anything)."]


def _recreate_journal(paths: DataPaths) -> str:
    seq = _snapshot_seq(paths)
    written = datetime.fromtimestamp(paths.snapshot.stat().st_mtime, tz=timezone.utc)
    _write_private(paths.journal, b"")
    return (f"The journal {paths.journal} was missing: created an empty one. NOT RECOVERED: every change saved "
            f"after the snapshot (entry {seq}, written {written:%Y-%m-%d %H:%M} UTC); restore the journal from a "
            "backup taken since then to get them back.")


def _snapshot_seq(paths: DataPaths) -> int:
    return int(json.loads(paths.snapshot.read_bytes())["_meta"]["1"]["seq"])


def _set_tail_aside(paths: DataPaths, sealer: Sealer, offset: int, now: datetime, *, why: str) -> list[str]:
    data = paths.journal.read_bytes()
    tail = data[offset:]
    aside = paths.journal.with_name(f"{paths.journal.name}.damaged-{now:%Y%m%dT%H%M%SZ}-at-{offset}")
    _write_private(aside, tail)  # durable before the journal loses it
    with open(paths.journal, "r+b") as journal:
        journal.truncate(offset)
        os.fsync(journal.fileno())
    fsync_dir(paths.folder)
    kept = scan(data[:offset], source=paths.journal, sealer=sealer, folder_keys=sealer.key_ids).entries
    lines = [f"The journal {paths.journal} is {why} at byte offset {offset}: kept "
             f"{len(kept)} entr{'y' if len(kept) == 1 else 'ies'} before it; moved the remaining {len(tail)} bytes "
             f"to {aside}. NOT RECOVERED:"]
    lines += [f"  - {item}" for item in _describe(tail, offset, sealer, paths.journal)]
    return lines


def _describe(tail: bytes, offset: int, sealer: Sealer, source: Path) -> list[str]:
    """What each line of a journal tail held, as far as it can be read (content-free)."""
    described = []
    pos = 0
    for line in tail.splitlines(keepends=True):
        entries = scan(line, source=source, sealer=sealer).entries
        start, end = offset + pos, offset + pos + len(line)
        pos += len(line)
        if entries:
            described.append(f"entry {entries[0].seq} (bytes {start}-{end}): {_summary(entries[0])}")
        elif line.endswith(b"\n"):
            described.append(f"bytes {start}-{end}: a line that cannot be read (damaged or edited)")
        else:
            described.append(f"bytes {start}-{end}: part of a line (a write interrupted before it was acknowledged)")
    return described


# What one record of each table is, in words an operator reads.
_NOUNS = {"reports": "report", "notes": "note", "evidence": "evidence file", "audit": "audit event",
          "outbox": "outbox item", "reminders": "reminder", "runs": "reminder send", "presses": "button press",
          "purges": "purge record"}


def _summary(entry: Entry) -> str:
    parts = [f"{len(docs)} {_NOUNS.get(table, table)}{'s' if len(docs) != 1 else ''}"
             for table, docs in entry.tables.items() if docs]
    references = [doc["reference"] for doc in entry.tables.get("reports", []) if isinstance(doc.get("reference"), str)]
    if references:
        parts.append("reference " + ", ".join(references))
    removed = sum(len(ids) for ids in entry.removed.values())
    if removed:
        parts.append(f"{removed} removal{'s' if removed != 1 else ''}")
    return "; ".join(parts) or "nothing"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)

"""The append-only journal: one line per commit, `<crc32-hex> <seq> <json>\\n`, fsynced before return.

The JSON maps each table to the sealed documents the commit stores, and the reserved key
`_removed` (only when the commit removes anything) to `{table: [record id, ...]}`: every record it
removes, listed at commit time so replay needs no state to work it out. Replay stores, then removes.

A crash can only tear the last line (each commit is one write, and the next one starts after its
fsync), so a damaged last line is dropped on open; a damaged line with more after it is not a torn
write but corruption, and opening stops with StoreCorrupt before anything is changed.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.errors import StoreCorrupt
from bot.durable import fsync_dir


REMOVED = "_removed"


@dataclass(frozen=True)
class Entry:
    """One committed unit: sealed documents per table, then the ids it removes per table."""

    seq: int
    tables: dict[str, list[dict[str, Any]]]
    removed: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Scan:
    """What a journal file holds: its whole entries, and where a torn last line starts."""

    entries: list[Entry]
    torn_at: int | None  # byte offset of an incomplete last line, if any


def encode_payload(docs: dict[str, list[dict[str, Any]]], removed: dict[str, list[str]]) -> bytes:
    """The JSON of one entry: sealed documents per table, and the ids it removes if any."""
    body: dict[str, Any] = {**docs, REMOVED: removed} if removed else docs
    return json.dumps(body, separators=(",", ":")).encode()


def encode_line(seq: int, payload: bytes) -> bytes:
    """A journal line for the JSON `payload` committed as number `seq`."""
    body = b"%d " % seq + payload
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def scan(data: bytes, *, source: Path) -> Scan:
    """Parse a journal's bytes; StoreCorrupt if a damaged line is followed by more data."""
    entries: list[Entry] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        line_end = len(data) if end < 0 else end + 1
        entry = _parse(data[pos:end]) if end >= 0 else None
        if entry is None:
            if line_end < len(data):
                raise StoreCorrupt(
                    f"journal {source} is damaged at byte offset {pos} with entries after it; "
                    "it was left untouched"
                )
            return Scan(entries=entries, torn_at=pos)
        if entries and entry.seq != entries[-1].seq + 1:
            raise StoreCorrupt(
                f"journal {source} skips from entry {entries[-1].seq} to {entry.seq} "
                f"at byte offset {pos}; it was left untouched"
            )
        entries.append(entry)
        pos = line_end
    return Scan(entries=entries, torn_at=None)


def _parse(line: bytes) -> Entry | None:
    crc, _, body = line.partition(b" ")
    try:
        if len(crc) != 8 or int(crc, 16) != zlib.crc32(body):
            return None
        seq_text, _, payload = body.partition(b" ")
        tables = json.loads(payload)
        if not isinstance(tables, dict):
            return None
        removed = tables.pop(REMOVED, {})
        if not (_all_lists_of(dict, tables) and isinstance(removed, dict) and _all_lists_of(str, removed)):
            return None
        return Entry(seq=int(seq_text), tables=tables, removed=removed)
    except ValueError:
        return None


def _all_lists_of(tp: type, lists: dict[str, Any]) -> bool:
    return all(isinstance(items, list) and all(isinstance(i, tp) for i in items) for items in lists.values())


class Journal:
    """An open journal file, appended to with one write and one fsync per commit."""

    def __init__(self, *, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = os.fstat(self._fd).st_size

    def append(self, line: bytes) -> None:
        """Write `line` and fsync; on failure cut the file back so no partial line is left."""
        try:
            _write_all(self._fd, line)
            os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, self.size)
            raise
        self.size += len(line)

    def reset(self) -> None:
        """Empty the journal (its entries are all in a durable snapshot)."""
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.size = 0

    def drop_prefix(self, offset: int) -> None:
        """Keep only the bytes from `offset` (entries newer than a snapshot just written).

        The tail goes to a new file that replaces this one by rename: a crash leaves either the
        whole old journal (whose older entries replay skips) or the tail, never a mix.
        """
        with open(self.path, "rb") as current:  # the append descriptor is write-only
            current.seek(offset)
            tail = current.read(self.size - offset)
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, tail)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self.path)
        fsync_dir(self.path.parent)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.size = len(tail)

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

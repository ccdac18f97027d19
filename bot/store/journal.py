"""The append-only journal: one line per commit, `<tag> <seq> <json>\\n`, fsynced before return.

The JSON maps each table to the sealed documents the commit stores, and the reserved key
`_removed` (only when the commit removes anything) to `{table: [record id, ...]}`: every record it
removes, listed at commit time so replay needs no state to work it out. Replay stores, then removes.

The tag (`<key id>.<HMAC-SHA256>` under a key derived from the keyring) authenticates `<seq> <json>`:
an edited or damaged line, even one whose damage a checksum would miss, does not verify. Lines
written before tags existed carry a CRC-32 (8 hex digits) instead; `recover` accepts them only in a
folder whose snapshot is of that older format too.

A crash can only tear the last line (each commit is one write, and the next one starts after its
fsync), so only a last line *without its newline* may be a torn write, and is dropped on open. A
complete line that does not verify is damage wherever it is, last line included, and opening stops
with JournalDamaged before anything is changed.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.errors import KeyMismatch, StoreCorrupt
from bot.durable import fsync_dir
from bot.store.sealing import Sealer


REMOVED = "_removed"
TAG_PURPOSE = b"staffsafe/journal"
_TAG_LENGTH = 8 + 1 + 64  # key id, dot, HMAC-SHA256 hex
_CRC_LENGTH = 8

Writer = Callable[[int, memoryview], int]  # os.write, or a fake that fails like a full disk


class JournalDamaged(StoreCorrupt):
    """A complete journal line is damaged or was edited; everything from `offset` on is suspect."""

    def __init__(self, message: str, *, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True)
class Entry:
    """One committed unit: sealed documents per table, then the ids it removes per table."""

    seq: int
    tables: dict[str, list[dict[str, Any]]]
    removed: dict[str, list[str]] = field(default_factory=dict)
    offset: int = 0  # where its line starts in the file
    tagged: bool = True  # False for a line written before tags existed (a CRC only)


@dataclass(frozen=True)
class Damage:
    """Where a journal stops being trustworthy, and why (no content)."""

    offset: int
    reason: str


@dataclass(frozen=True)
class Scan:
    """What a journal file holds: its whole entries, where a torn last line starts, and any damage."""

    entries: list[Entry]
    torn_at: int | None  # byte offset of an incomplete last line, if any
    damage: Damage | None = None


def encode_payload(docs: dict[str, list[dict[str, Any]]], removed: dict[str, list[str]]) -> bytes:
    """The JSON of one entry: sealed documents per table, and the ids it removes if any."""
    body: dict[str, Any] = {**docs, REMOVED: removed} if removed else docs
    return json.dumps(body, separators=(",", ":")).encode()


def encode_line(seq: int, payload: bytes, sealer: Sealer) -> bytes:
    """A journal line for the JSON `payload` committed as number `seq`, tagged under the primary key."""
    body = b"%d " % seq + payload
    return sealer.tag(body, purpose=TAG_PURPOSE).encode("ascii") + b" " + body + b"\n"


def encode_untagged_line(seq: int, payload: bytes) -> bytes:
    """A line as written before tags existed (CRC-32 only); for reading old folders in tests."""
    body = b"%d " % seq + payload
    return b"%08x " % zlib.crc32(body) + body + b"\n"


def scan(data: bytes, *, source: Path, sealer: Sealer, folder_keys: Collection[str] = ()) -> Scan:
    """Parse a journal's bytes up to the first damaged line.

    KeyMismatch for a line tagged under one of `folder_keys` (the keys the folder was written with)
    that the keyring lacks; a line naming any other key not in the keyring is damaged.
    """
    entries: list[Entry] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        if end < 0:
            segment = data[pos:]
            # A whole line that lost only its newline (cut just before it, or the newline itself
            # damaged) is kept: nothing in it is torn.
            entry = _parse(segment, pos, sealer, folder_keys) or _parse(segment[:-1], pos, sealer, folder_keys)
            if entry is None:
                return Scan(entries=entries, torn_at=pos)
        else:
            entry = _parse(data[pos:end], pos, sealer, folder_keys)
            if entry is None:
                reason = "a complete line does not match its tag"
                return Scan(entries=entries, torn_at=None, damage=Damage(offset=pos, reason=reason))
        if entries and entry.seq != entries[-1].seq + 1:
            reason = f"it skips from entry {entries[-1].seq} to {entry.seq}"
            return Scan(entries=entries, torn_at=None, damage=Damage(offset=pos, reason=reason))
        entries.append(entry)
        pos = len(data) if end < 0 else end + 1
    return Scan(entries=entries, torn_at=None)


def _parse(line: bytes, offset: int, sealer: Sealer, folder_keys: Collection[str]) -> Entry | None:
    tag, _, body = line.partition(b" ")
    try:
        if len(tag) == _TAG_LENGTH:
            if not _tag_matches(body, tag.decode("ascii"), sealer, folder_keys):
                return None
        elif len(tag) != _CRC_LENGTH or int(tag, 16) != zlib.crc32(body):
            return None
        seq_text, _, payload = body.partition(b" ")
        tables = json.loads(payload)
        if not isinstance(tables, dict):
            return None
        removed = tables.pop(REMOVED, {})
        if not (_all_lists_of(dict, tables) and isinstance(removed, dict) and _all_lists_of(str, removed)):
            return None
        return Entry(seq=int(seq_text), tables=tables, removed=removed, offset=offset,
                     tagged=len(tag) == _TAG_LENGTH)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return None


def _tag_matches(body: bytes, tag: str, sealer: Sealer, folder_keys: Collection[str]) -> bool:
    try:
        return sealer.tag_matches(body, tag, purpose=TAG_PURPOSE, where="a journal line")
    except KeyMismatch:
        if tag.split(".", 1)[0] in folder_keys:
            raise  # a key the folder was written with, missing from the configuration
        return False  # a key this folder never had: the key id itself is damaged


def _all_lists_of(tp: type, lists: dict[str, Any]) -> bool:
    return all(isinstance(items, list) and all(isinstance(i, tp) for i in items) for items in lists.values())


class Journal:
    """An open journal file, appended to with one write and one fsync per commit.

    A failed write (a full disk) is cut back off the file; if even that fails, the next append cuts
    it back first, so the file never holds part of a line before a whole one. Nothing stays broken:
    once space is back, appends succeed again.
    """

    def __init__(self, *, path: Path, write: Writer = os.write) -> None:
        self.path = path
        self._write = write
        self._fd = _open_for_append(path)
        self.size = os.fstat(self._fd).st_size
        self._unsure = False  # a failed write may have left bytes after `size`
        self._dir_unsure = False  # a rename into place may not be durable yet

    def append(self, line: bytes) -> None:
        """Write `line` and fsync; on failure cut the file back so no partial line is left."""
        self._settle()
        try:
            _write_all(self._fd, line, self._write)
            os.fsync(self._fd)
        except OSError:
            self._unsure = True
            try:
                self._settle()
            except OSError:
                pass  # tried again before the next append
            raise
        self.size += len(line)

    def reset(self) -> None:
        """Empty the journal (its entries are all in a durable snapshot)."""
        os.ftruncate(self._fd, 0)
        self.size = 0
        self._unsure = True  # until the truncation is durable
        self._settle()

    def drop_prefix(self, offset: int) -> None:
        """Keep only the bytes from `offset` (entries newer than a snapshot just written).

        The tail goes to a new file that replaces this one by rename: a crash leaves either the
        whole old journal (whose older entries replay skips) or the tail, never a mix.
        """
        self._settle()
        with open(self.path, "rb") as current:  # the append descriptor is write-only
            current.seek(offset)
            tail = current.read(self.size - offset)
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, tail, self._write)
            os.fsync(fd)
            os.replace(temp, self.path)
        except BaseException:
            os.close(fd)
            raise
        # From here on appends go to the new file, whatever happens: it is the one at `path`.
        os.close(self._fd)
        self._fd, self.size, self._dir_unsure = fd, len(tail), True
        self._settle()

    def close(self) -> None:
        """Close the file."""
        os.close(self._fd)

    def _settle(self) -> None:
        # Finish what a failed call left half done, before anything new is written.
        if self._unsure:
            os.ftruncate(self._fd, self.size)
            os.fsync(self._fd)
            self._unsure = False
        if self._dir_unsure:
            fsync_dir(self.path.parent)
            self._dir_unsure = False


def _open_for_append(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _write_all(fd: int, data: bytes, write: Writer) -> None:
    view = memoryview(data)
    while view:
        view = view[write(fd, view):]

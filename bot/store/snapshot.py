"""The snapshot file: every sealed document in TinyDB's own JSON layout, replaced atomically.

Layout (stock `TinyDB(path)` can read it): `{"_meta": {"1": {...}}, "reports": {"1": doc, ...}, ...}`.
`_meta` holds the format version, the last journal sequence number folded in, and key checks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.errors import StoreCorrupt
from bot.durable import fsync_dir
from bot.store.codec import TABLES

FORMAT = 1
META = "_meta"


@dataclass(frozen=True)
class Snapshot:
    """The contents of a snapshot file."""

    seq: int
    key_checks: dict[str, str]
    tables: dict[str, list[dict[str, Any]]]  # sealed documents per table, in arrival order


def read_snapshot(path: Path) -> Snapshot | None:
    """The snapshot at `path`, None if there is none; StoreCorrupt if it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        meta = data[META]["1"]
        if meta["format"] != FORMAT:
            raise StoreCorrupt(
                f"{path} has format {meta['format']!r}; this version reads format {FORMAT}"
            )
        seq, checks = meta["seq"], meta["key_checks"]
        if type(seq) is not int or not isinstance(checks, dict):
            raise ValueError("bad _meta")
        tables = {name: _documents(data.get(name, {})) for name in TABLES}
    except StoreCorrupt:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # The exception text could quote file contents; name its type only.
        raise StoreCorrupt(
            f"snapshot {path} cannot be read ({type(exc).__name__}); it was left untouched"
        ) from None
    return Snapshot(seq=seq, key_checks=checks, tables=tables)


def _documents(table: dict[str, Any]) -> list[dict[str, Any]]:
    docs = list(table.values())
    if not all(isinstance(d, dict) and isinstance(d.get("id"), str) for d in docs):
        raise ValueError("a document without an id")
    return docs


def write_snapshot(path: Path, snapshot: Snapshot) -> int:
    """Write `snapshot` to a temporary file, fsync it, and rename it over `path` (crash-safe); its size.

    The JSON is written document by document rather than by one `json.dumps` of everything (as
    TinyDB's JSONStorage does): one call over every record holds the interpreter lock for as long
    as it takes (about 0.3 s at 10,000 reports), and compaction runs beside request threads.
    """
    tmp = temp_path(path)
    # Created here first so it is private (0600) before any data goes in.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        meta = {"format": FORMAT, "seq": snapshot.seq, "key_checks": snapshot.key_checks}
        out.write(f'{{"{META}": {{"1": {json.dumps(meta)}}}')
        for name, docs in snapshot.tables.items():
            out.write(f", {json.dumps(name)}: {{")
            out.write(", ".join(f'"{i}": {json.dumps(doc)}' for i, doc in enumerate(docs, start=1)))
            out.write("}")
        out.write("}")
        out.flush()
        os.fsync(out.fileno())
        size = out.tell()
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return size


def temp_path(path: Path) -> Path:
    """Where a snapshot is written before it replaces `path`; a leftover one is never read."""
    return path.with_name(path.name + ".tmp")

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

from tinydb.storages import JSONStorage

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


def write_snapshot(path: Path, snapshot: Snapshot) -> None:
    """Write `snapshot` to a temporary file, fsync it, and rename it over `path` (crash-safe)."""
    data: dict[str, dict[str, Any]] = {
        META: {"1": {"format": FORMAT, "seq": snapshot.seq, "key_checks": snapshot.key_checks}}
    }
    for name, docs in snapshot.tables.items():
        data[name] = {str(i): doc for i, doc in enumerate(docs, start=1)}
    tmp = temp_path(path)
    # Created here first so it is private (0600) before any data goes in.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    storage = JSONStorage(str(tmp), access_mode="r+", encoding="utf-8")
    try:
        storage.write(data)  # flushes and fsyncs
    finally:
        storage.close()
    os.replace(tmp, path)
    fsync_dir(path.parent)


def temp_path(path: Path) -> Path:
    """Where a snapshot is written before it replaces `path`; a leftover one is never read."""
    return path.with_name(path.name + ".tmp")

"""The snapshot file: every sealed document in TinyDB's own JSON layout, replaced atomically.

Layout (stock `TinyDB(path)` can read it):
`{"_meta": {"1": {...}}, "reports": {"1": doc, ...}, ..., "_tag": {"1": {"tag": "<key id>.<hmac>"}}}`.
`_meta` holds the format version, the last journal sequence number folded in, and key checks.
The `_tag` table comes last and authenticates every byte before it (format 2), so an edit to any
field, sealed or not (a status, a legal hold, a reference), stops the start. Format 1 snapshots,
written before tags existed, are still read (see `recover`) and rewritten as format 2 at once.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.domain.errors import KeyMismatch, StoreCorrupt
from bot.durable import fsync_dir
from bot.store.codec import TABLES
from bot.store.sealing import Sealer

FORMAT = 2
UNTAGGED_FORMAT = 1  # before snapshots carried a tag: readable, never written
META = "_meta"
TAG = "_tag"
TAG_PURPOSE = b"staffsafe/snapshot"
_TAG_SUFFIX = re.compile(rb', "_tag": \{"1": \{"tag": "([0-9a-f]{8}\.[0-9a-f]{64})"\}\}\}\Z')


@dataclass(frozen=True)
class Snapshot:
    """The contents of a snapshot file."""

    seq: int
    key_checks: dict[str, str]
    tables: dict[str, list[dict[str, Any]]]  # sealed documents per table, in arrival order
    format: int = FORMAT


def read_snapshot(path: Path, sealer: Sealer) -> Snapshot | None:
    """The snapshot at `path`, None if there is none; StoreCorrupt if it is damaged or was edited.

    KeyMismatch if no configured key wrote it. A format 1 snapshot is returned unchecked beyond
    its key checks: the caller decides whether an untagged folder may still be read.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    tagged = _TAG_SUFFIX.search(raw)
    if tagged:
        _check_tag(path, sealer, raw[: tagged.start()], tagged.group(1).decode("ascii"), raw)
    try:
        data = json.loads(raw)
        meta = data[META]["1"]
        fmt, seq, checks = meta["format"], meta["seq"], meta["key_checks"]
        if type(seq) is not int or not isinstance(checks, dict):
            raise ValueError("bad _meta")
        tables = {name: _documents(data.get(name, {})) for name in TABLES}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # The exception text could quote file contents; name its type only.
        raise StoreCorrupt(
            f"snapshot {path} cannot be read ({type(exc).__name__}); it is damaged or was edited; "
            "it was left untouched"
        ) from None
    if fmt == FORMAT and not tagged or fmt == UNTAGGED_FORMAT and TAG in data:
        raise StoreCorrupt(
            f"snapshot {path} has lost its authentication tag (damaged or edited); it was left untouched"
        )
    if fmt not in (FORMAT, UNTAGGED_FORMAT):
        raise StoreCorrupt(f"{path} has format {fmt!r}; this version reads formats {UNTAGGED_FORMAT} and {FORMAT}")
    if fmt == UNTAGGED_FORMAT:
        _check_untagged(path, sealer, checks)
    else:
        sealer.verify_key_checks(checks, folder=str(path.parent))
    return Snapshot(seq=seq, key_checks=checks, tables=tables, format=fmt)


def _check_tag(path: Path, sealer: Sealer, signed: bytes, tag: str, raw: bytes) -> None:
    try:
        matches = sealer.tag_matches(signed, tag, purpose=TAG_PURPOSE, where=f"snapshot {path}")
    except KeyMismatch:
        # A tag under a key we lack: say first whether any configured key opens this folder at all.
        try:
            checks = json.loads(raw)[META]["1"]["key_checks"]
        except (ValueError, KeyError, TypeError):
            checks = None
        if isinstance(checks, dict):
            sealer.verify_key_checks(checks, folder=str(path.parent))
            if tag.split(".", 1)[0] not in checks:  # a key this folder never had: the tag is damaged
                raise _edited(path) from None
        raise
    if not matches:
        raise _edited(path)


def _check_untagged(path: Path, sealer: Sealer, checks: dict[str, str]) -> None:
    try:
        sealer.verify_key_checks(checks, folder=str(path.parent), authenticated=False)
    except KeyMismatch:
        try:
            sealer.verify_key_checks(checks, folder=str(path.parent), authenticated=True)
        except KeyMismatch:
            raise  # truly written with other keys
        # Key checks of the tagged format in a file that says it is untagged: its tag was stripped.
        raise StoreCorrupt(
            f"snapshot {path} says it is of the old, untagged format but was written tagged: it was edited; "
            "it was left untouched; restore it from a backup"
        ) from None


def _edited(path: Path) -> StoreCorrupt:
    return StoreCorrupt(
        f"snapshot {path} was edited or is damaged (it does not match its authentication tag); "
        "it was left untouched; restore it from a backup"
    )


def _documents(table: dict[str, Any]) -> list[dict[str, Any]]:
    docs = list(table.values())
    if not all(isinstance(d, dict) and isinstance(d.get("id"), str) for d in docs):
        raise ValueError("a document without an id")
    return docs


def write_snapshot(path: Path, snapshot: Snapshot, sealer: Sealer) -> int:
    """Write `snapshot` to a temporary file, fsync it, and rename it over `path` (crash-safe); its size.

    The JSON is written document by document rather than by one `json.dumps` of everything (as
    TinyDB's JSONStorage does): one call over every record holds the interpreter lock for as long
    as it takes (about 0.3 s at 10,000 reports), and compaction runs beside request threads.
    """
    tmp = temp_path(path)
    tagger = sealer.tagger(purpose=TAG_PURPOSE)
    # Created here first so it is private (0600) before any data goes in.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:

        def write(text: str) -> None:
            piece = text.encode("ascii")  # json.dumps escapes everything else
            tagger.update(piece)
            out.write(piece)

        meta = {"format": FORMAT, "seq": snapshot.seq, "key_checks": snapshot.key_checks}
        write(f'{{"{META}": {{"1": {json.dumps(meta)}}}')
        for name, docs in snapshot.tables.items():
            write(f", {json.dumps(name)}: {{")
            write(", ".join(f'"{i}": {json.dumps(doc)}' for i, doc in enumerate(docs, start=1)))
            write("}")
        out.write(f', "{TAG}": {{"1": {{"tag": "{tagger.finish()}"}}}}}}'.encode("ascii"))
        out.flush()
        os.fsync(out.fileno())
        size = out.tell()
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return size


def temp_path(path: Path) -> Path:
    """Where a snapshot is written before it replaces `path`; a leftover one is never read."""
    return path.with_name(path.name + ".tmp")

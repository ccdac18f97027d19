"""Records <-> table rows: the sealed document, its tag, and the columns queries use.

A row's `doc` is the record sealed exactly as the TinyDB store seals it (`bot/store/sealing.py`), as
JSON text (text, not jsonb: jsonb refuses a NUL in a string and does not keep the bytes the tag
covers); `tag` authenticates that text, bound to the table and id, under the key that wrote it. The
query columns carry ids, times, states and keyed hashes only: nothing a reporter wrote.
Evidence bytes are not in the document: they go to `evidence_chunks`, written before the commit
naming them, sealed chunk by chunk (each bound to its report, file, number and whether it is the last).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.domain.errors import EvidenceUnreadable, KeyMismatch, StoreCorrupt
from bot.domain.reminder import Reminder, ReminderPress, ReminderRun, PurgeRecord
from bot.domain.report import AuditEvent, ClaimOrder, Evidence, Note, OutboxItem, Report
from bot.store.codec import TABLE_OF, TABLES, Record, from_doc, to_doc
from bot.store.sealing import Sealer

CHUNK_BYTES = 1024 * 1024  # evidence bytes per sealed chunk row

# The query columns of each table, besides id, seq, doc and tag (see migrations.py).
COLUMNS: dict[str, tuple[str, ...]] = {
    "reports": ("reference", "reporter_hmac", "created_at", "is_open", "version", "subject_hmac", "acknowledged",
                "escalations", "closed_since", "retention_warned_at", "legal_hold"),
    "notes": ("report_id", "at"),
    "evidence": ("report_id", "received_at", "source_hmac"),
    "audit": ("report_id", "at"),
    "outbox": ("report_id", "run_id", "kind", "rank", "platform", "state", "is_open", "due_at", "claimed_until",
               "delivered_at"),
    "reminders": ("created_at", "version", "next_run", "active"),
    "runs": ("reminder_id", "claimed_at"),
    "presses": ("reminder_id", "run_id", "button", "presser_hmac"),
    "purges": ("purged_at",),
    "conversations": (),
}


@dataclass(frozen=True)
class Row:
    """One record as stored: its table, id, query column values (in COLUMNS order), document and tag."""

    table: str
    id: str
    columns: tuple[Any, ...]
    doc: str
    tag: str

    @property
    def values(self) -> tuple[Any, ...]:
        """Every value in column order: id, the query columns, doc, tag."""
        return (self.id, *self.columns, self.doc, self.tag)


class Rows:
    """Seals records into rows and opens rows back into records, with one Sealer."""

    def __init__(self, *, sealer: Sealer) -> None:
        self._sealer = sealer

    def encode(self, record: Record) -> Row:
        """The row of a record, sealed under the primary key."""
        table = TABLE_OF[type(record)]
        plain = to_doc(record)
        sealed = self._sealer.seal(table, plain)
        doc = json.dumps(sealed, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        tag = self._sealer.tag(doc.encode(), purpose=_purpose(table, record.id))
        return Row(table=table, id=record.id, columns=_columns(record, sealed), doc=doc, tag=tag)

    def decode(self, table: str, record_id: str, doc: str, tag: str) -> Any:
        """The record of a row; StoreCorrupt if it was edited outside StaffSafe, KeyMismatch for an unknown key."""
        where = f"the {table} record {record_id} in the database"
        if not self._sealer.tag_matches(doc.encode(), tag, purpose=_purpose(table, record_id), where=where):
            raise StoreCorrupt(f"{where} does not match its authentication tag (changed outside StaffSafe)")
        try:
            sealed = json.loads(doc)
        except ValueError:
            raise StoreCorrupt(f"{where} is not a JSON document") from None
        if not isinstance(sealed, dict) or sealed.get("id") != record_id:
            raise StoreCorrupt(f"{where} holds another record")
        plain = self._sealer.unseal(table, sealed)
        try:
            return from_doc(TABLES[table], plain)
        except ValueError as exc:
            raise StoreCorrupt(f"{where}: {exc}") from None

    def keyed_hashes(self, field: str, value: str) -> list[str]:
        """The keyed hash of a person under every key of the keyring: rows sealed before a rotation match too."""
        return self._sealer.keyed_hashes(field, value)

    def seal_chunk(self, report_id: str, evidence_id: str, n: int, last: bool, piece: bytes) -> bytes:
        """Chunk `n` of a file's bytes, sealed under the primary key and bound to its place (see `_chunk_aad`)."""
        return self._sealer.seal_bytes(piece, aad=_chunk_aad(report_id, evidence_id, n, last))

    def open_chunk(self, report_id: str, evidence_id: str, n: int, last: bool, sealed: bytes) -> bytes:
        """A chunk sealed by `seal_chunk` for this place; EvidenceUnreadable if it was not (KeyMismatch: a key we lack)."""
        where = f"evidence file {evidence_id} of report {report_id} in the database"
        try:
            return self._sealer.open_bytes(sealed, aad=_chunk_aad(report_id, evidence_id, n, last), where=where)
        except KeyMismatch:
            raise
        except StoreCorrupt:
            raise EvidenceUnreadable(
                f"{where}: chunk {n} does not authenticate (damaged, missing, moved from another file, or the file "
                "was cut short); nothing from that chunk on was given out") from None


def _purpose(table: str, record_id: str) -> bytes:
    return f"postgres-row/{table}/{record_id}".encode()


def _chunk_aad(report_id: str, evidence_id: str, n: int, last: bool) -> bytes:
    # Whether it is the last is bound too, so a chunk cut off the end (or one added) fails to open.
    return f"evidence_chunks/{json.dumps([report_id, evidence_id])}/{n}/{'last' if last else 'more'}".encode()


def _columns(record: Record, sealed: dict[str, Any]) -> tuple[Any, ...]:
    if isinstance(record, Report):
        return (record.reference, sealed["reporter_hmac"], record.created_at, record.is_open, record.version,
                sealed["subject_hmac"], record.acknowledged, record.escalations, record.closed_since,
                record.retention_warned_at, record.legal_hold)
    if isinstance(record, (Note, AuditEvent)):
        return record.report_id, record.at
    if isinstance(record, Evidence):
        return record.report_id, record.received_at, sealed["source_hmac"]
    if isinstance(record, OutboxItem):
        return (record.report_id, record.run_id, record.kind.value, int(ClaimOrder.of(record.kind)), record.platform,
                record.state.value, record.pending, record.due_at, record.claimed_until, record.delivered_at)
    if isinstance(record, Reminder):
        return record.created_at, record.version, record.next_run, record.active
    if isinstance(record, ReminderRun):
        return record.reminder_id, record.claimed_at
    if isinstance(record, ReminderPress):
        return record.reminder_id, record.run_id, record.button.value, sealed["presser_hmac"]
    if isinstance(record, PurgeRecord):
        return (record.purged_at,)
    return ()

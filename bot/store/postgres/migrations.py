"""The PostgreSQL schema as versioned migrations, applied in order at start under an advisory lock.

`schema_version` holds one row per migration applied. A start applies the missing ones in one
transaction, holding a transaction-scoped advisory lock, so two instances starting at once do not
race: the second waits, then finds nothing left to do. A database whose schema is newer than this
code knows is refused (an older StaffSafe must not write to tables it does not understand).

Every table keeps each record as its sealed JSON document (`doc`: the same document the TinyDB store
writes, sensitive fields encrypted and bound to table/id/field) with `tag`, an authentication tag over
that document, so an edit to a field left in clear (a status, a legal hold) is noticed on read. The
other columns are only what queries filter and sort on: ids, times, states, and keyed hashes of people,
never report content. `seq` is arrival order, which breaks ties between equal times. Ids sort by
code point (COLLATE "C"), as Python sorts them.

Append a migration to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from bot.domain.errors import StoreError

# The advisory lock key held while migrating: any constant, the same in every instance.
MIGRATION_LOCK = 0x5354_4146_4653_4146  # "STAFFSAF"


@dataclass(frozen=True)
class Migration:
    """One step of the schema: its version (1, 2, ...), what it does, and its SQL."""

    version: int
    name: str
    sql: str


_ID = 'text COLLATE "C"'

INITIAL = f"""
CREATE TABLE reports (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    reference {_ID} NOT NULL UNIQUE,
    reporter_hmac text NOT NULL,
    created_at timestamptz NOT NULL,
    is_open boolean NOT NULL,
    version integer NOT NULL,
    -- What the scheduler's targeted reads need (see the Store port): when and how far a case was
    -- handled, and the keyed hash of whom it is about; never who reported it or who handles it.
    subject_hmac text,
    acknowledged boolean NOT NULL,
    escalations integer NOT NULL,
    closed_since timestamptz,
    retention_warned_at timestamptz,
    legal_hold boolean NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL
);
CREATE INDEX reports_by_created ON reports (created_at, seq);
CREATE INDEX reports_by_reporter ON reports (reporter_hmac, created_at);
CREATE INDEX reports_open ON reports (created_at, seq) WHERE is_open;
CREATE INDEX reports_unacknowledged ON reports (created_at, id) WHERE is_open AND NOT acknowledged;
CREATE INDEX reports_to_warn ON reports (closed_since, id)
    WHERE NOT legal_hold AND retention_warned_at IS NULL AND closed_since IS NOT NULL;
CREATE INDEX reports_to_purge ON reports (closed_since, id)
    WHERE NOT legal_hold AND retention_warned_at IS NOT NULL;

CREATE TABLE notes (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    report_id {_ID} NOT NULL,
    at timestamptz NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL
);
CREATE INDEX notes_of ON notes (report_id, at, seq);

CREATE TABLE audit (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    report_id {_ID} NOT NULL,
    at timestamptz NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL
);
CREATE INDEX audit_of ON audit (report_id, at, seq);

CREATE TABLE evidence (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    report_id {_ID} NOT NULL,
    received_at timestamptz NOT NULL,
    source_hmac text NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL,
    UNIQUE (report_id, source_hmac)
);
CREATE INDEX evidence_of ON evidence (report_id, received_at, id);

-- An evidence file's bytes, sealed chunk by chunk (each bound to its file, place and count).
CREATE TABLE evidence_chunks (
    evidence_id {_ID} NOT NULL,
    n integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (evidence_id, n)
);

CREATE TABLE outbox (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    report_id {_ID} NOT NULL,
    run_id {_ID} NOT NULL,
    kind text NOT NULL,
    rank smallint NOT NULL,
    platform text NOT NULL,
    state text NOT NULL,
    is_open boolean NOT NULL,
    due_at timestamptz NOT NULL,
    claimed_until timestamptz,
    delivered_at timestamptz,
    doc text NOT NULL,
    tag text NOT NULL
);
CREATE INDEX outbox_due ON outbox (rank, due_at, seq) WHERE is_open;
CREATE INDEX outbox_of ON outbox (report_id, seq) WHERE report_id <> '';
CREATE INDEX outbox_of_run ON outbox (run_id, seq) WHERE run_id <> '';
CREATE INDEX outbox_delivered ON outbox (kind, delivered_at, seq) WHERE NOT is_open;

CREATE TABLE reminders (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    created_at timestamptz NOT NULL,
    version integer NOT NULL,
    next_run timestamptz,
    active boolean NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL
);
CREATE INDEX reminders_due ON reminders (next_run, id) WHERE active;

CREATE TABLE runs (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    reminder_id {_ID} NOT NULL,
    claimed_at timestamptz NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL
);
CREATE INDEX runs_of ON runs (reminder_id, claimed_at, seq);

CREATE TABLE presses (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    reminder_id {_ID} NOT NULL,
    run_id {_ID} NOT NULL,
    button text NOT NULL,
    presser_hmac text NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL,
    UNIQUE (run_id, button, presser_hmac)
);
CREATE INDEX presses_of ON presses (reminder_id, button);

CREATE TABLE purges (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    purged_at timestamptz NOT NULL,
    doc text NOT NULL,
    tag text NOT NULL
);

CREATE TABLE conversations (
    id {_ID} PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    doc text NOT NULL,
    tag text NOT NULL
);

-- Store-wide values: the key checks (which keys wrote this database).
CREATE TABLE meta (
    name text PRIMARY KEY,
    value text NOT NULL
);

-- One row per committed Changes, written in its transaction: a retry after a lost acknowledgement
-- finds its own commit here instead of taking it for someone else's (a Conflict). Pruned after a day.
CREATE TABLE commits (
    id text PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now()
);
"""

# Evidence bytes are written before the commit naming them (streamed, never whole in memory), so a
# crash in between leaves chunks no record names: their time lets a start sweep only those old enough
# that no instance can still be about to commit them.
STREAMED_EVIDENCE = """
ALTER TABLE evidence_chunks ADD COLUMN written_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX evidence_chunks_written ON evidence_chunks (written_at);
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(version=1, name="reports, their records, reminders, outbox, key checks", sql=INITIAL),
    Migration(version=2, name="evidence chunks written before the record naming them", sql=STREAMED_EVIDENCE),
)
LATEST = MIGRATIONS[-1].version

_CREATE_VERSIONS = """
CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def current_version(conn: psycopg.Connection) -> int | None:
    """The schema version of the database (0: a schema_version table with no row), None if it has none."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    found = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(found[0]) if found and found[0] is not None else 0


def pending(version: int | None) -> list[Migration]:
    """The migrations a start would apply to a database at `version`."""
    return [m for m in MIGRATIONS if m.version > (version or 0)]


def refuse_newer(version: int | None, where: str) -> None:
    """StoreError if the database's schema is newer than this code knows."""
    if version is not None and version > LATEST:
        raise StoreError(
            f"the database {where} has schema version {version}, newer than this StaffSafe knows "
            f"(up to {LATEST}): it was upgraded by a newer StaffSafe; run that version (or newer), "
            "never an older one, against it"
        )


def migrate(conn: psycopg.Connection, where: str) -> list[Migration]:
    """Bring the schema up to date inside the caller's transaction, under the advisory lock; those applied."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
    conn.execute(_CREATE_VERSIONS)
    version = current_version(conn)
    refuse_newer(version, where)
    steps = pending(version)
    for step in steps:
        conn.execute(step.sql)
        conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)", (step.version, step.name))
    return steps

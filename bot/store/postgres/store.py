"""The PostgreSQL Store: several instances on one database, the same contract and sealing as TinyDB.

- One transaction per `Changes` (READ COMMITTED is enough: every check is a row-level condition).
  Versioned records are written with `UPDATE ... WHERE version = n - 1` (no row: Conflict); new and
  append-only records by their primary keys and unique keys (a unique violation: Conflict). A Conflict
  rolls the whole transaction back, so nothing of the commit is written.
- Due outbox items are claimed with `FOR UPDATE SKIP LOCKED`: concurrent workers, on this instance
  or another, skip rows another claim holds, and a lapsed lease is taken over (marked uncertain).
- Transient failures (a lost connection, a failover, a serialization failure or deadlock) are
  retried within a short budget; then StoreError, which users see as "try again". A commit whose
  acknowledgement was lost may have been applied: each commit writes a marker row (`commits`) in its
  own transaction, and a retry first looks for it, so it finds its own write rather than taking it
  for someone else's (a Conflict that would tell the user their report was not saved).
- Durability is the server's: a commit returns once PostgreSQL has committed it (by default, flushed
  to its WAL; replication settings are the operator's).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from decimal import Decimal
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from bot.crypto import Keyring
from bot.domain.errors import ConfigError, Conflict, EvidenceUnreadable, KeyMismatch, NotFound, StoreError
from bot.domain.platform import ConversationRef, conversation_id_of
from bot.domain.reminder import PressKind, PurgeRecord, Reminder, ReminderRun
from bot.domain.ports import BlobWritten, Changes
from bot.domain.report import AuditEvent, Delivery, Evidence, Note, OutboxItem, Report, new_id
from bot.domain.ui import counted
from bot.store.codec import TABLES, by_table
from bot.store.postgres.migrations import current_version, migrate
from bot.store.postgres.notify import OutboxListener, notify_if_queued
from bot.store.postgres.retry import Attempt, Health, RetryPolicy, is_transient, reason, with_retries
from bot.store.blobs import rechunk
from bot.store.postgres.rows import CHUNK_BYTES, COLUMNS, Row, Rows
from bot.store.sealing import Sealer
from bot.store.wakeups import Wake

log = logging.getLogger(__name__)
T = TypeVar("T")

KEY_CHECKS = "key_checks"  # the meta row naming the keys that wrote this database
RECONNECT_SECONDS = 5.0  # how long the pool keeps retrying a connection on its own (see open)
PRUNE_EVERY = 1000  # commits between clean-ups of old commit markers
CHUNK_BATCH = 8  # evidence chunks (up to 1 MB each) re-sealed per transaction
VERSIONED = ("reports", "reminders")
UPSERTED = ("outbox", "conversations")
ORPHANS_AFTER = "1 hour"  # chunks no record names are swept once this old: far longer than any upload takes
# Lapsed claims come back whatever their due time; claim order is ClaimOrder, then due time, then arrival.
_CLAIMABLE = (
    "SELECT id, doc, tag FROM outbox WHERE is_open AND platform = ANY(%(platforms)s) AND ("
    "(state = 'pending' AND due_at <= %(now)s) OR "
    "(state = 'sending' AND (claimed_until IS NULL OR claimed_until <= %(now)s))) "
    "ORDER BY rank, due_at, seq LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
)
# What one claim took: the same lease end (and, checked on the records, the same owner).
_CLAIMED_UNTIL = ("SELECT id, doc, tag FROM outbox WHERE is_open AND state = 'sending' AND claimed_until = %(until)s "
                  "AND platform = ANY(%(platforms)s) ORDER BY rank, due_at, seq LIMIT %(limit)s")
# Unique constraints (named by PostgreSQL's defaults) that mean something more than "already stored".
_CONSTRAINTS = {
    "reports_reference_key": "a report's reference is already used by another report",
    "evidence_report_id_source_hmac_key": "its report already has this file",
    "presses_run_id_button_presser_hmac_key": "this person already pressed this button of this send",
}


CONNECTION: dict[str, Any] = {
    "autocommit": True,  # reads need no transaction; writes open one explicitly
    "connect_timeout": 10,
    "application_name": "staffsafe",  # how its sessions show in pg_stat_activity
    # A server gone without a word (a failover, a dropped route) is noticed by TCP keepalives.
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}
# Bounds on one statement: a lock held elsewhere (a stuck session) must not hold a user's answer for
# ever; a lock timeout is retried like any transient failure, and then the user is asked to try again.
SESSION_SETTINGS = ("SET lock_timeout = '5s'", "SET statement_timeout = '60s'")


def _configure(conn: psycopg.Connection) -> None:
    for setting in SESSION_SETTINGS:
        conn.execute(setting)


def describe(url: str) -> str:
    """A database as an operator knows it ("staffsafe on db.example:5432"), without any password."""
    try:
        params = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ConfigError("STAFFSAFE_DATABASE_URL is not a PostgreSQL connection URL "
                          "(postgresql://user@host:5432/database)") from None
    host = str(params.get("host") or "localhost")
    port = str(params.get("port") or "5432")
    return f"{params.get('dbname') or params.get('user') or 'postgres'} on {host}:{port}"


def connect(url: str, where: str, *, read_only: bool = False) -> psycopg.Connection:
    """One connection, with a clear StoreError if the server cannot be reached or refuses us."""
    try:
        conn = psycopg.connect(url, connect_timeout=10, autocommit=not read_only)
    except psycopg.OperationalError as exc:
        # The server's own words (refused, no such database, authentication failed) name no secret.
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else reason(exc)
        raise StoreError(f"cannot connect to the database {where} ({detail}); check STAFFSAFE_DATABASE_URL "
                         "and that the server is running") from None
    if read_only:
        conn.execute("SET default_transaction_read_only = on")
        conn.commit()
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot for everything read
    return conn


def database_written(url: str) -> bool:
    """Whether StaffSafe has written to this database (it holds key checks); reads only."""
    where = describe(url)
    with connect(url, where, read_only=True) as conn:
        if not current_version(conn):
            return False
        return bool(read_key_checks(conn))


def verify_key_checks(sealer: Sealer, checks: dict[str, str], where: str) -> None:
    """KeyMismatch unless one of our keys wrote one of the database's key checks."""
    try:
        sealer.verify_key_checks(checks, folder=where)
    except KeyMismatch:
        raise KeyMismatch(
            f"none of the configured keys (key ids {', '.join(sealer.key_ids)}) opens the database {where}, "
            f"which was written with key ids {', '.join(sorted(checks))}; configure the key it was created with"
        ) from None


class PostgresStore:
    """A Store in a PostgreSQL database, shared by any number of instances (see the module docstring)."""

    def __init__(self, *, pool: ConnectionPool, sealer: Sealer, where: str, policy: RetryPolicy,
                 listener: OutboxListener) -> None:
        self._pool = pool
        self._listener = listener
        self._sealer = sealer
        self._rows = Rows(sealer=sealer)
        self._where = where
        self._policy = policy
        self._health = Health(where=where)
        self._commits = itertools.count(1)
        self._closed = False
        self._written: dict[tuple[str, str], BlobWritten] = {}  # files this process wrote, not yet committed
        self._written_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, keyring: Keyring, *, pool_size: int = 10, policy: RetryPolicy | None = None) -> PostgresStore:
        """Connect, bring the schema up to date (versioned migrations) and check the keys; StoreError if it cannot."""
        where = describe(url)
        sealer = Sealer(keyring=keyring)
        with connect(url, where) as conn:
            with conn.transaction():
                applied = migrate(conn, where)
                _record_key(conn, sealer, where)
                conn.execute("DELETE FROM commits WHERE at < now() - interval '1 day'")
                swept = _sweep_orphan_chunks(conn)
        if swept:
            log.warning("database %s: deleted %s no record names (an upload interrupted before its commit)",
                        where, counted(swept, "evidence chunk"))
        for step in applied:
            log.info("database %s: applied migration %d (%s)", where, step.version, step.name)
        # The pool warns of every failed connection attempt; Health logs an outage once as it starts and ends.
        logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
        pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False, name="staffsafe",
                              kwargs=CONNECTION, configure=_configure, check=ConnectionPool.check_connection,
                              # The pool's own retries back off exponentially (1, 2, 4 ... s): after a long
                              # outage they would keep us away for minutes once the server is back. Giving
                              # up soon lets the next request try at once.
                              reconnect_timeout=RECONNECT_SECONDS)
        try:
            pool.open(wait=True, timeout=15)
        except PoolTimeout:
            pool.close()
            raise StoreError(f"cannot connect to the database {where}; check that the server is running") from None
        return cls(pool=pool, sealer=sealer, where=where, policy=policy or RetryPolicy(),
                   listener=OutboxListener(conninfo=url))

    # --- writing

    def commit(self, changes: Changes) -> None:
        """Store every record of `changes` in one transaction; committed by the server when this returns."""
        self._check_open()
        _refuse_repeats(changes)
        rows = {table: [self._rows.encode(r) for r in records] for table, records in by_table(changes) if records}
        if not (rows or changes.drop_outbox or changes.purge_reports):
            return
        marker = new_id()

        def attempt(this: Attempt) -> None:
            with self._pool.connection(timeout=this.wait) as conn:
                if this.number > 1 and _committed(conn, marker):
                    return  # the earlier attempt committed; only its acknowledgement was lost
                try:
                    with conn.transaction():
                        self._write(conn, changes, rows)
                        conn.execute("INSERT INTO commits (id) VALUES (%s)", (marker,))
                        notify_if_queued(conn, changes)  # delivered to other instances only if this commits
                except (Conflict, psycopg.errors.UniqueViolation):
                    # A retry may meet its own earlier attempt, committed while we looked: not a Conflict.
                    if this.number > 1 and _committed(conn, marker):
                        return
                    raise

        try:
            with_retries(attempt, policy=self._policy, health=self._health, what="commit the changes")
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(_CONSTRAINTS.get(exc.diag.constraint_name or "",
                                            "a record of this commit is already stored and is append-only")) from None
        with self._written_lock:
            for e in changes.evidence:
                self._written.pop((e.report_id, e.id), None)
        if next(self._commits) % PRUNE_EVERY == 0:
            self._prune_markers()

    def write_evidence_blob(self, report_id: str, evidence_id: str, chunks: Iterable[bytes]) -> BlobWritten:
        """Store a file's bytes as sealed chunk rows, streamed in one transaction, before the commit naming them.

        Not retried (the chunks are read once): a lost connection is a StoreError, and the caller (the
        outbox) fetches the file again later. Rows left by an earlier try of the same file are replaced.
        """
        self._check_open()
        digest, size = hashlib.sha256(), 0
        try:
            # As long as any other call waits for a connection (the pool's default is 30 s).
            with self._pool.connection(timeout=self._policy.budget) as conn, conn.transaction():
                if conn.execute("SELECT 1 FROM evidence WHERE id = %s", (evidence_id,)).fetchone():
                    raise StoreError(f"evidence {evidence_id} is already stored, and evidence is append-only")
                conn.execute("DELETE FROM evidence_chunks WHERE evidence_id = %s", (evidence_id,))
                for n, (piece, last) in enumerate(rechunk(chunks, CHUNK_BYTES)):
                    digest.update(piece)
                    size += len(piece)
                    conn.execute("INSERT INTO evidence_chunks (evidence_id, n, data) VALUES (%s, %s, %s)",
                                 (evidence_id, n, self._rows.seal_chunk(report_id, evidence_id, n, last, piece)))
        except (psycopg.Error, PoolTimeout) as exc:
            raise StoreError(f"could not store a file in the database {self._where} ({reason(exc)}); "
                             "nothing of it was kept") from None
        written = BlobWritten(size=size, sha256=digest.hexdigest())
        with self._written_lock:
            self._written[report_id, evidence_id] = written
        return written

    def open_evidence(self, report_id: str, evidence_id: str) -> Iterator[bytes]:
        """A committed file's bytes, one chunk row read at a time, each checked before it is given."""
        record = self._one("evidence", "SELECT id, doc, tag FROM evidence WHERE id = %s", (evidence_id,))
        if record is None or record.report_id != report_id:
            raise NotFound("There is no such evidence file.")
        first = self._chunk(evidence_id, 0)
        if first is None:
            raise EvidenceUnreadable(f"evidence file {evidence_id} of report {report_id}: its bytes are missing "
                                     "from the database")
        return self._plaintext(record, first)

    def _plaintext(self, record: Evidence, current: bytes) -> Iterator[bytes]:
        digest, total, n = hashlib.sha256(), 0, 0
        while True:
            following = self._chunk(record.id, n + 1)  # one ahead: the last chunk was sealed as the last
            piece = self._rows.open_chunk(record.report_id, record.id, n, following is None, current)
            digest.update(piece)
            total += len(piece)
            if following is None:
                if (total, digest.hexdigest()) != (record.size, record.sha256):
                    raise EvidenceUnreadable(f"evidence file {record.id} of report {record.report_id}: its bytes do "
                                             "not match the size and SHA-256 recorded")
                yield piece
                return
            yield piece
            current, n = following, n + 1

    def _chunk(self, evidence_id: str, n: int) -> bytes | None:
        found = self._fetch("SELECT data FROM evidence_chunks WHERE evidence_id = %s AND n = %s", (evidence_id, n))
        return bytes(found[0][0]) if found else None

    def _check_blobs(self, changes: Changes) -> None:
        """StoreError unless each new evidence record names chunks this store wrote with its size and hash."""
        with self._written_lock:
            for e in changes.evidence:
                if self._written.get((e.report_id, e.id)) != BlobWritten(size=e.size, sha256=e.sha256):
                    raise StoreError(f"evidence {e.id}: no file was written for it with this size and SHA-256 "
                                     "(write_evidence_blob comes first); nothing was committed")

    def _write(self, conn: psycopg.Connection, changes: Changes, rows: dict[str, list[Row]]) -> None:
        purged = [r.id for r in changes.purge_reports]
        if purged:
            # Locked first, and checked against the versions as read before this commit's own writes.
            stored = dict(conn.execute("SELECT id, version FROM reports WHERE id = ANY(%s) FOR UPDATE",
                                       (purged,)).fetchall())
            for given in changes.purge_reports:
                if stored.get(given.id) != given.version:
                    raise Conflict(f"report {given.id} is gone or changed since it was read; it was not purged")
        if len(self._sealer.key_ids) > 1:
            self._refuse_stored_under_older_keys(conn, changes)
        with conn.cursor() as cur:
            for table in TABLES:
                table_rows = rows.get(table, [])
                if table in VERSIONED:
                    self._write_versioned(cur, table, table_rows)
                elif table_rows:
                    cur.executemany(_insert_sql(table, upsert=table in UPSERTED), [r.values for r in table_rows])
            # After the inserts: a file stored already is a Conflict (append-only) before it is anything else.
            self._check_blobs(changes)
            if changes.drop_outbox:
                cur.execute("DELETE FROM outbox WHERE id = ANY(%s)", (list(changes.drop_outbox),))
            if purged:
                cur.execute("DELETE FROM evidence_chunks WHERE evidence_id IN "
                            "(SELECT id FROM evidence WHERE report_id = ANY(%s))", (purged,))
                for table in ("notes", "evidence", "audit", "outbox"):
                    cur.execute(f"DELETE FROM {table} WHERE report_id = ANY(%s)", (purged,))
                cur.execute("DELETE FROM reports WHERE id = ANY(%s)", (purged,))

    def _write_versioned(self, cur: psycopg.Cursor, table: str, table_rows: list[Row]) -> None:
        # Optimistic concurrency: version 1 must be new (its primary key), version n must follow n - 1.
        kind = table.removesuffix("s")
        new = [r for r in table_rows if _version(r) == 1]
        if new:
            cur.executemany(_insert_sql(table), [r.values for r in new])
        for row in table_rows:
            if _version(row) == 1:
                continue
            cur.execute(_update_sql(table), (*row.columns, row.doc, row.tag, row.id, _version(row) - 1))
            if cur.rowcount != 1:
                raise Conflict(f"{kind} {row.id} is not at version {_version(row) - 1}; "
                               f"version {_version(row)} cannot follow it")

    def _refuse_stored_under_older_keys(self, conn: psycopg.Connection, changes: Changes) -> None:
        # The unique keys hold hashes under the key that wrote each row: after a rotation (before
        # `keys reencrypt`) a file or press stored under an older key is found by its hash under every key.
        for e in changes.evidence:
            hashes = self._sealer.keyed_hashes("source_id", e.source_id)
            if conn.execute("SELECT 1 FROM evidence WHERE report_id = %s AND source_hmac = ANY(%s)",
                            (e.report_id, hashes)).fetchone():
                raise Conflict(f"evidence {e.id}: its report already has this file")
        for p in changes.presses:
            hashes = self._sealer.keyed_hashes("presser_id", p.presser_id)
            if conn.execute("SELECT 1 FROM presses WHERE run_id = %s AND button = %s AND presser_hmac = ANY(%s)",
                            (p.run_id, p.button.value, hashes)).fetchone():
                raise Conflict(f"press {p.id}: this person already pressed this button of this send")

    def claim_due(self, now: datetime, limit: int, owner: str, lease: timedelta,
                  platforms: Collection[str]) -> list[OutboxItem]:
        """Claim up to `limit` due items of these platforms for `owner` until now + lease, in claim order.

        Rows another claim holds are skipped, not waited for. Like a commit, a claim writes a marker:
        a retry whose earlier try was committed, with only its acknowledgement lost, returns the items
        that try claimed (this owner's, with this lease end: each call's own, as the clock moves on)
        rather than leaving them for their lease to lapse.
        """
        self._check_open()
        if not platforms or limit <= 0:
            return []
        params = {"platforms": sorted(platforms), "now": now, "limit": limit, "until": now + lease}
        marker = new_id()

        def attempt(this: Attempt) -> list[OutboxItem]:
            with self._pool.connection(timeout=this.wait) as conn, conn.transaction():
                if this.number > 1 and _committed(conn, marker):
                    held = (self._rows.decode("outbox", *row) for row in conn.execute(_CLAIMED_UNTIL, params))
                    return [item for item in held if item.claimed_by == owner]
                found = conn.execute(_CLAIMABLE, params).fetchall()
                taken = [self._rows.decode("outbox", *row).claim(owner=owner, until=now + lease) for row in found]
                if taken:
                    encoded = [self._rows.encode(item) for item in taken]
                    with conn.cursor() as cur:
                        cur.executemany(_rewrite_sql("outbox"), [(*r.columns, r.doc, r.tag, r.id) for r in encoded])
                    conn.execute("INSERT INTO commits (id) VALUES (%s)", (marker,))
                return taken

        return with_retries(attempt, policy=self._policy, health=self._health, what="claim due items")

    # --- reading

    def report(self, report_id: str) -> Report | None:
        """The report with this internal id."""
        return self._one("reports", "SELECT id, doc, tag FROM reports WHERE id = %s", (report_id,))

    def report_by_reference(self, reference: str) -> Report | None:
        """The report with this reference."""
        return self._one("reports", "SELECT id, doc, tag FROM reports WHERE reference = %s", (reference,))

    def reports_by_reporter(self, reporter_id: str, since: datetime | None = None) -> list[Report]:
        """A reporter's reports (only those created after `since`, if given), newest first."""
        hashes = self._rows.keyed_hashes("reporter_id", reporter_id)
        found: list[Report] = self._many(
            "reports", "SELECT id, doc, tag FROM reports WHERE reporter_hmac = ANY(%s) "
            "AND (%s::timestamptz IS NULL OR created_at > %s) ORDER BY created_at DESC, seq DESC",
            (hashes, since, since))
        # The reporter_id comparison guards against a (vanishingly unlikely) keyed-hash collision.
        return [r for r in found if r.reporter_id == reporter_id]

    def open_reports(self, limit: int | None = None, *, not_about: str | None = None) -> list[Report]:
        """Reports not yet resolved or closed, oldest first (ties in arrival order), at most `limit`, not about `not_about`."""
        about = self._rows.keyed_hashes("subject_id", not_about) if not_about is not None else []
        return self._many("reports", "SELECT id, doc, tag FROM reports WHERE is_open AND "
                          "(subject_hmac IS NULL OR NOT subject_hmac = ANY(%s)) ORDER BY created_at, seq LIMIT %s",
                          (about, limit))

    def open_report_count(self, *, not_about: str | None = None) -> int:
        """How many reports are open (leaving out those about `not_about`, if given)."""
        about = self._rows.keyed_hashes("subject_id", not_about) if not_about is not None else []
        [(count,)] = self._fetch("SELECT count(*) FROM reports WHERE is_open AND "
                                 "(subject_hmac IS NULL OR NOT subject_hmac = ANY(%s))", (about,))
        return int(count)

    def escalation_due(self, now: datetime, window: timedelta, limit: int = 100,
                       after: Report | None = None) -> list[Report]:
        """Open, unacknowledged reports whose next escalation window has ended by `now`; oldest first, ties by id."""
        # In exact seconds (numeric): a window times a count must not overflow a timestamp.
        seconds = Decimal(window // timedelta(microseconds=1)).scaleb(-6)
        start = (after.created_at, after.id) if after is not None else (None, "")
        return self._many(
            "reports", "SELECT id, doc, tag FROM reports WHERE is_open AND NOT acknowledged "
            "AND extract(epoch FROM created_at) + (escalations + 1) * %s::numeric <= extract(epoch FROM %s::timestamptz) "
            "AND (%s::timestamptz IS NULL OR (created_at, id) > (%s, %s)) ORDER BY created_at, id LIMIT %s",
            (seconds, now, start[0], start[0], start[1], limit))

    def reports_to_warn(self, closed_before: datetime, limit: int = 100) -> list[Report]:
        """Closed reports not on legal hold, not yet warned, closed at or before `closed_before`; earliest first."""
        return self._many("reports", "SELECT id, doc, tag FROM reports WHERE closed_since <= %s AND NOT legal_hold "
                          "AND retention_warned_at IS NULL ORDER BY closed_since, id LIMIT %s", (closed_before, limit))

    def reports_to_purge(self, closed_before: datetime, warned_before: datetime, limit: int = 100) -> list[Report]:
        """Closed reports not on legal hold, closed and warned at or before these times; earliest closed first."""
        return self._many("reports", "SELECT id, doc, tag FROM reports WHERE closed_since <= %s AND NOT legal_hold "
                          "AND retention_warned_at <= %s ORDER BY closed_since, id LIMIT %s",
                          (closed_before, warned_before, limit))

    def all_reports(self) -> list[Report]:
        """Every report, oldest first."""
        return self._many("reports", "SELECT id, doc, tag FROM reports ORDER BY created_at, seq")

    def notes(self, report_id: str) -> list[Note]:
        """A case's notes and relayed messages, oldest first."""
        return self._many("notes", "SELECT id, doc, tag FROM notes WHERE report_id = %s ORDER BY at, seq",
                          (report_id,))

    def evidence(self, report_id: str) -> list[Evidence]:
        """A case's uploaded files (no bytes are read), oldest first (received_at, then id)."""
        return self._many("evidence", "SELECT id, doc, tag FROM evidence WHERE report_id = %s ORDER BY received_at, id",
                          (report_id,))

    def audit(self, report_id: str) -> list[AuditEvent]:
        """A case's audit trail, oldest first."""
        return self._many("audit", "SELECT id, doc, tag FROM audit WHERE report_id = %s ORDER BY at, seq",
                          (report_id,))

    def outbox_item(self, item_id: str) -> OutboxItem | None:
        """One outbox item by id."""
        return self._one("outbox", "SELECT id, doc, tag FROM outbox WHERE id = %s", (item_id,))

    def outbox_of(self, report_id: str) -> list[OutboxItem]:
        """A case's outbox items, in the order they were first queued."""
        return self._many("outbox", "SELECT id, doc, tag FROM outbox WHERE report_id = %s AND report_id <> '' "
                          "ORDER BY seq", (report_id,))

    def outbox_of_run(self, run_id: str) -> list[OutboxItem]:
        """A reminder send's outbox items, in the order queued."""
        return self._many("outbox", "SELECT id, doc, tag FROM outbox WHERE run_id = %s AND run_id <> '' "
                          "ORDER BY seq", (run_id,))

    def due_outbox(self, now: datetime, limit: int = 50) -> list[OutboxItem]:
        """Undelivered outbox items due at or before `now`, in claim order."""
        return self._many("outbox", "SELECT id, doc, tag FROM outbox WHERE is_open AND due_at <= %s "
                          "ORDER BY rank, due_at, seq LIMIT %s", (now, limit))

    def delivered_outbox(self, kind: Delivery, before: datetime, limit: int = 500) -> list[OutboxItem]:
        """Delivered (or closed) items of one kind whose delivered_at is before `before`, oldest first."""
        return self._many("outbox", "SELECT id, doc, tag FROM outbox WHERE NOT is_open AND kind = %s "
                          "AND delivered_at < %s ORDER BY delivered_at, seq LIMIT %s", (kind.value, before, limit))

    def conversation(self, target: str) -> ConversationRef | None:
        """How to reach a platform-qualified user or channel unprompted, if the platform told us."""
        found: ConversationRef | None = self._one(
            "conversations", "SELECT id, doc, tag FROM conversations WHERE id = %s", (conversation_id_of(target),))
        return found if found is not None and found.target == target else None

    def conversations(self, platform: str) -> list[ConversationRef]:
        """Every stored conversation reference on one platform (uninstalled ones too), in no set order."""
        every: list[ConversationRef] = self._many("conversations", "SELECT id, doc, tag FROM conversations")
        return [c for c in every if c.platform == platform]

    def reminder(self, reminder_id: str) -> Reminder | None:
        """One reminder by id (deleted ones too)."""
        return self._one("reminders", "SELECT id, doc, tag FROM reminders WHERE id = %s", (reminder_id,))

    def reminders(self) -> list[Reminder]:
        """Every reminder, deleted ones too, oldest created first."""
        return self._many("reminders", "SELECT id, doc, tag FROM reminders ORDER BY created_at, seq")

    def due_reminders(self, now: datetime, limit: int = 100, after: Reminder | None = None) -> list[Reminder]:
        """Active reminders whose next run is at or before `now`, earliest first, ties by id, after `after`."""
        start = (after.next_run, after.id) if after is not None and after.next_run is not None else (None, "")
        return self._many("reminders", "SELECT id, doc, tag FROM reminders WHERE active AND next_run <= %s "
                          "AND (%s::timestamptz IS NULL OR (next_run, id) > (%s, %s)) ORDER BY next_run, id LIMIT %s",
                          (now, start[0], start[0], start[1], limit))

    def run_count(self, reminder_id: str) -> int:
        """How many sends of a reminder were claimed (scheduled and "send now")."""
        [(count,)] = self._fetch("SELECT count(*) FROM runs WHERE reminder_id = %s", (reminder_id,))
        return int(count)

    def reminder_run(self, run_id: str) -> ReminderRun | None:
        """One claimed send by id."""
        return self._one("runs", "SELECT id, doc, tag FROM runs WHERE id = %s", (run_id,))

    def runs_of(self, reminder_id: str) -> list[ReminderRun]:
        """A reminder's claimed sends, oldest claimed first."""
        return self._many("runs", "SELECT id, doc, tag FROM runs WHERE reminder_id = %s ORDER BY claimed_at, seq",
                          (reminder_id,))

    def press_counts(self, reminder_id: str) -> dict[PressKind, int]:
        """How many presses of each button a reminder's sends got (every button present, 0 if none)."""
        counted = dict(self._fetch("SELECT button, count(*) FROM presses WHERE reminder_id = %s GROUP BY button",
                                   (reminder_id,)))
        return {kind: int(counted.get(kind.value, 0)) for kind in PressKind}

    def purges(self) -> list[PurgeRecord]:
        """The purge records, oldest first."""
        return self._many("purges", "SELECT id, doc, tag FROM purges ORDER BY purged_at, seq")

    def holds_unrouted_items(self) -> bool:
        """Whether any outbox item has no platform (stored before items carried one; see store/upgrades.py)."""
        [(found,)] = self._fetch("SELECT EXISTS (SELECT 1 FROM outbox WHERE platform = '')")
        return bool(found)

    # --- keys, health, lifecycle

    def reencrypt(self, batch: int = 500) -> int:
        """Re-seal every record under the primary key and recompute keyed hashes and tags; the count.

        In batches of `batch` rows, each its own transaction, with the rows locked while resealed, so
        instances may keep running (every instance needs the new key in its keyring first).
        """
        self._check_open()
        count = 0
        for table in TABLES:
            after = 0
            while True:
                done, after = with_retries(lambda this: self._reseal(table, after, batch), policy=self._policy,
                                           health=self._health, what="re-encrypt the records")
                count += done
                if done < batch:
                    break
        start: tuple[str, int] = ("", -1)
        while True:  # then evidence bytes, a few chunks (of up to 1 MB) at a time
            done, start = with_retries(lambda this: self._reseal_chunks(start, CHUNK_BATCH), policy=self._policy,
                                       health=self._health, what="re-encrypt the evidence files")
            if done < CHUNK_BATCH:
                break
        with self._pool.connection() as conn, conn.transaction():
            _write_key_checks(conn, self._sealer.key_check())  # older keys are no longer needed
        return count

    def _reseal(self, table: str, after: int, batch: int) -> tuple[int, int]:
        with self._pool.connection() as conn, conn.transaction():
            found = conn.execute(f"SELECT id, doc, tag, seq FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s "
                                 "FOR UPDATE", (after, batch)).fetchall()
            with conn.cursor() as cur:
                for row in found:
                    encoded = self._rows.encode(self._decode(table, row[:-1]))
                    cur.execute(_rewrite_sql(table), (*encoded.columns, encoded.doc, encoded.tag, encoded.id))
        return len(found), (found[-1][-1] if found else after)

    def _reseal_chunks(self, after: tuple[str, int], batch: int) -> tuple[int, tuple[str, int]]:
        """Re-seal the next `batch` chunks of committed files under the primary key; how many, and where it stopped."""
        with self._pool.connection() as conn, conn.transaction():
            found = conn.execute(
                "SELECT c.evidence_id, c.n, c.data, e.report_id, "
                "c.n = (SELECT max(d.n) FROM evidence_chunks d WHERE d.evidence_id = c.evidence_id) "
                "FROM evidence_chunks c JOIN evidence e ON e.id = c.evidence_id WHERE (c.evidence_id, c.n) > (%s, %s) "
                "ORDER BY c.evidence_id, c.n LIMIT %s FOR UPDATE OF c", (*after, batch)).fetchall()
            with conn.cursor() as cur:
                for evidence_id, n, data, report_id, last in found:
                    piece = self._rows.open_chunk(report_id, evidence_id, n, last, bytes(data))
                    cur.execute("UPDATE evidence_chunks SET data = %s WHERE evidence_id = %s AND n = %s",
                                (self._rows.seal_chunk(report_id, evidence_id, n, last, piece), evidence_id, n))
        return len(found), ((found[-1][0], found[-1][1]) if found else after)

    def on_queued(self, callback: Wake) -> None:
        """Call `callback` whenever any instance on this database commits queued outbox items (LISTEN/NOTIFY)."""
        self._check_open()
        self._listener.on_queued(callback)

    @property
    def healthy(self) -> bool:
        """Whether the database answers now (the health check asks)."""
        if self._closed:
            return False
        try:
            with self._pool.connection(timeout=2) as conn:
                conn.execute("SELECT 1")
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._health.failed(exc)
            return False
        self._health.worked()
        return True

    def close(self) -> None:
        """Close the connections; later calls raise StoreError."""
        if self._closed:
            return
        self._closed = True
        self._listener.close()
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- helpers

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._check_open()

        def attempt(this: Attempt) -> list[tuple[Any, ...]]:
            with self._pool.connection(timeout=this.wait) as conn:
                return conn.execute(sql, params).fetchall()

        return with_retries(attempt, policy=self._policy, health=self._health, what="read")

    def _many(self, table: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return [self._decode(table, row) for row in self._fetch(sql, params)]

    def _one(self, table: str, sql: str, params: Sequence[Any]) -> Any:
        found = self._many(table, sql, params)
        return found[0] if found else None

    def _decode(self, table: str, row: Sequence[Any]) -> Any:
        return decode_row(self._rows, table, row)

    def _prune_markers(self) -> None:
        try:
            with self._pool.connection(timeout=1) as conn:  # best effort: never hold up the commit that ran it
                conn.execute("DELETE FROM commits WHERE at < now() - interval '1 day'")
        except psycopg.Error as exc:
            log.info("database: could not prune old commit markers (%s); will try later", reason(exc))

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")


def decode_row(rows: Rows, table: str, row: Sequence[Any]) -> Any:
    """The record of a selected row: (id, doc, tag)."""
    return rows.decode(table, *row)


def _sweep_orphan_chunks(conn: psycopg.Connection) -> int:
    """Delete chunks no record names, written long enough ago that no instance is about to commit them."""
    cur = conn.execute(f"DELETE FROM evidence_chunks c WHERE c.written_at < now() - interval '{ORPHANS_AFTER}' "
                       "AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.id = c.evidence_id)")
    return cur.rowcount


def _refuse_repeats(changes: Changes) -> None:
    """Conflict for anything given twice in one commit (the database would only see the second)."""
    keyed: Iterable[tuple[str, Iterable[Any]]] = (
        *((table, (r.id for r in records)) for table, records in by_table(changes)),
        ("report references", (r.reference for r in changes.reports)),
        ("evidence files", ((e.report_id, e.source_id) for e in changes.evidence)),
        ("presses", ((p.run_id, p.button, p.presser_id) for p in changes.presses)),
        ("purged reports", (r.id for r in changes.purge_reports)),
    )
    for kind, keys in keyed:
        seen: set[Any] = set()
        for key in keys:
            if key in seen:
                raise Conflict(f"{kind}: the same one appears twice in one commit")
            seen.add(key)


def _committed(conn: psycopg.Connection, marker: str) -> bool:
    return conn.execute("SELECT 1 FROM commits WHERE id = %s", (marker,)).fetchone() is not None


def _version(row: Row) -> int:
    return int(row.columns[COLUMNS[row.table].index("version")])


def _insert_sql(table: str, *, upsert: bool = False) -> str:
    columns = ("id", *COLUMNS[table], "doc", "tag")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    if upsert:  # seq is left alone: an item keeps its place in arrival order
        sql += " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    return sql


def _rewrite_sql(table: str) -> str:
    return f"UPDATE {table} SET {', '.join(f'{c} = %s' for c in (*COLUMNS[table], 'doc', 'tag'))} WHERE id = %s"


def _update_sql(table: str) -> str:
    return _rewrite_sql(table) + " AND version = %s"


def _record_key(conn: psycopg.Connection, sealer: Sealer, where: str) -> None:
    """Verify the configured keys open this database, and record the primary key's check if it is new."""
    checks = read_key_checks(conn)  # the migration's advisory lock keeps other starts out meanwhile
    if checks:
        verify_key_checks(sealer, checks, where)
    if sealer.primary_id not in checks:
        _write_key_checks(conn, checks | sealer.key_check())


def read_key_checks(conn: psycopg.Connection) -> dict[str, str]:
    """The key checks stored in the database ({} in a new one)."""
    row = conn.execute("SELECT value FROM meta WHERE name = %s", (KEY_CHECKS,)).fetchone()
    return json.loads(row[0]) if row else {}


def _write_key_checks(conn: psycopg.Connection, checks: dict[str, str]) -> None:
    conn.execute("INSERT INTO meta (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = "
                 "EXCLUDED.value", (KEY_CHECKS, json.dumps(checks, sort_keys=True)))


"""PostgresStore against a real server: the Store contract, migrations, sealing in the rows, keys."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import psycopg
import pytest

from bot.crypto import Keyring, key_id, new_key
from bot.domain.errors import Conflict, EvidenceUnreadable, KeyMismatch, StoreCorrupt, StoreError
from bot.domain.ports import Store
from bot.domain.reminder import PressKind
from bot.domain.ports import Changes
from bot.domain.report import NoteKind, Status
from bot.store.postgres.migrations import LATEST, MIGRATIONS
from bot.store.postgres.read_only import open_read_only
from bot.store.postgres.store import PostgresStore
from tests.store_contract import (StoreContract, alert, evidence, note, press, reminder, reminder_run, report,
                                  submission)

KEY = bytes(range(32))
SECRET_TEXT = "Zyxq secret words about Pat Doe"


class PostgresFactory:
    """Stores on one fresh database; reopening closes the store and connects again."""

    def __init__(self, *, url: str, keyring: Keyring) -> None:
        self.url = url
        self.keyring = keyring
        self.opened: list[PostgresStore] = []

    def open(self) -> Store:
        store = PostgresStore.open(self.url, self.keyring, pool_size=12)
        self.opened.append(store)
        return store

    def reopen(self, store: Store) -> Store:
        store.close()
        return self.open()


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def factory(self, database: str) -> Iterator[PostgresFactory]:
        factory = PostgresFactory(url=database, keyring=Keyring(keys=[KEY]))
        yield factory
        for store in factory.opened:
            store.close()


def _sql(url: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def _versions(url: str) -> list[int]:
    return [int(v) for (v,) in _sql(url, "SELECT version FROM schema_version ORDER BY version")]  # type: ignore[call-overload]


# --- versioned migrations


def test_a_start_creates_the_schema_by_versioned_migrations_and_the_next_applies_none(database: str) -> None:
    PostgresStore.open(database, Keyring(keys=[KEY])).close()
    assert _versions(database) == [m.version for m in MIGRATIONS] == list(range(1, LATEST + 1))
    applied_at = _sql(database, "SELECT applied_at FROM schema_version")
    PostgresStore.open(database, Keyring(keys=[KEY])).close()
    assert _sql(database, "SELECT applied_at FROM schema_version") == applied_at


def test_instances_starting_at_once_migrate_once(database: str) -> None:
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        start.wait()
        try:
            opened.append(PostgresStore.open(database, Keyring(keys=[KEY]), pool_size=2))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 4
    assert _versions(database) == list(range(1, LATEST + 1))
    r = report()
    opened[0].commit(submission(r))
    assert all(s.report(r.id) == r for s in opened)
    for s in opened:
        s.close()


def test_a_schema_newer_than_the_code_is_refused_by_a_start_and_by_the_check(database: str) -> None:
    PostgresStore.open(database, Keyring(keys=[KEY])).close()
    _sql(database, "INSERT INTO schema_version (version, name) VALUES (%s, 'from the future')", (LATEST + 1,))
    for opening in (PostgresStore.open, open_read_only):
        with pytest.raises(StoreError, match=f"schema version {LATEST + 1}, newer than this StaffSafe knows"):
            opening(database, Keyring(keys=[KEY]))


def test_the_read_only_open_writes_nothing_and_says_what_a_start_would_do(database: str) -> None:
    store = open_read_only(database, Keyring(keys=[KEY]))
    assert store.all_reports() == []
    [said] = store.next_start
    assert "holds no StaffSafe schema yet: the next start creates it" in said
    store.close()
    assert _sql(database, "SELECT to_regclass('schema_version')") == [(None,)]  # nothing created
    with PostgresStore.open(database, Keyring(keys=[KEY])) as started:
        r = report()
        started.commit(submission(r))
    checked = open_read_only(database, Keyring(keys=[KEY]))
    assert checked.next_start == () and checked.all_reports() == [r]
    with pytest.raises(StoreError):
        checked.commit(Changes(reports=(report(),)))
    rotated = open_read_only(database, Keyring(keys=[new_key(), KEY]))
    assert [line for line in rotated.next_start if "is new to the database" in line]


# --- sealing in the rows


def _everything_stored(url: str) -> str:
    tables = [t for (t,) in _sql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return "\n".join(str(row) for t in tables for row in _sql(url, f"SELECT * FROM {t}"))


def test_no_report_content_or_person_id_is_stored_in_clear(database: str) -> None:
    r = report(what_happened=SECRET_TEXT, reporter_id="slack:UREPORTER9", reporter_name="Sam Reporterson",
               subject_id="slack:USUBJECT9", subject_name="Pat Subjectson", urls=("https://example.org/zyxq-url",))
    rem = reminder()
    run = reminder_run(rem.id)
    with PostgresStore.open(database, Keyring(keys=[KEY])) as store:
        file = evidence(store, r.id, data=b"ZYXQ-FILE-BYTES" * 10, file_name="zyxq-screenshot.png",
                        source_id="FZYXQ1")
        store.commit(Changes(reports=(r,), evidence=(file,), notes=(note(r.id, text="zyxq note text"),),
                             reminders=(rem,), runs=(run,), presses=(press(run, "slack:UPRESSER9"),)))
        assert store.report(r.id) == r and store.evidence(r.id) == [file]
    stored = _everything_stored(database).lower()
    for secret in ("zyxq", "reporterson", "subjectson", "ureporter9", "usubject9", "upresser9", "pat doe",
                   "zyxq-file-bytes", "fzyxq1"):
        assert secret not in stored, secret


def test_a_row_edited_outside_staffsafe_is_refused(database: str) -> None:
    r = report()
    with PostgresStore.open(database, Keyring(keys=[KEY])) as store:
        store.commit(submission(r))
        _sql(database, """UPDATE reports SET doc = replace(doc, '"legal_hold":false', '"legal_hold":true')""")
        with pytest.raises(StoreCorrupt, match="does not match its authentication tag"):
            store.report(r.id)


def test_evidence_bytes_are_chunked_and_a_missing_or_moved_chunk_is_refused(database: str) -> None:
    r = report()
    data = bytes(range(256)) * 9000  # ~2.2 MB: three chunks
    with PostgresStore.open(database, Keyring(keys=[KEY])) as store:
        big, other = evidence(store, r.id, data=data), evidence(store, r.id, data=b"other file", minutes=1)
        store.commit(Changes(reports=(r,), evidence=(big, other)))
        assert _sql(database, "SELECT count(*) FROM evidence_chunks WHERE evidence_id = %s", (big.id,)) == [(3,)]
        assert store.evidence(r.id) == [big, other] and b"".join(store.open_evidence(r.id, big.id)) == data
        # Another file's chunk put in its place: nothing of it is given out.
        _sql(database, "UPDATE evidence_chunks SET data = (SELECT data FROM evidence_chunks WHERE evidence_id = %s "
             "AND n = 0) WHERE evidence_id = %s AND n = 0", (big.id, other.id))
        with pytest.raises(EvidenceUnreadable, match="chunk 0 does not authenticate"):
            list(store.open_evidence(r.id, other.id))
        _sql(database, "DELETE FROM evidence_chunks WHERE evidence_id = %s AND n = 2", (big.id,))
        received = b""
        with pytest.raises(EvidenceUnreadable, match="chunk 1 does not authenticate"):  # its last chunk is gone
            for chunk in store.open_evidence(r.id, big.id):
                received += chunk
        assert data.startswith(received) and len(received) < len(data)
        assert store.evidence(r.id) == [big, other]  # the records are fine: only the bytes are refused


def test_chunks_no_record_names_are_swept_once_old_enough(database: str) -> None:
    r = report()
    with PostgresStore.open(database, Keyring(keys=[KEY])) as store:
        store.commit(Changes(reports=(r,)))
        store.write_evidence_blob(r.id, "fresh", [b"an upload still on its way to its commit"])
        store.write_evidence_blob(r.id, "stale", [b"an upload whose instance died before its commit"])
    _sql(database, "UPDATE evidence_chunks SET written_at = now() - interval '2 hours' WHERE evidence_id = 'stale'")
    PostgresStore.open(database, Keyring(keys=[KEY])).close()
    assert _sql(database, "SELECT evidence_id FROM evidence_chunks") == [("fresh",)]


# --- keys


def test_another_key_cannot_open_the_database(database: str) -> None:
    PostgresStore.open(database, Keyring(keys=[KEY])).close()
    with pytest.raises(KeyMismatch, match="opens the database"):
        PostgresStore.open(database, Keyring(keys=[new_key()]))


def test_rotation_keeps_lookups_and_unique_keys_then_reencrypt_drops_the_old_key(database: str) -> None:
    old, fresh = KEY, new_key()
    r = report(reporter_id="slack:UROT")
    rem = reminder()
    run = reminder_run(rem.id)
    with PostgresStore.open(database, Keyring(keys=[old])) as store:
        file = evidence(store, r.id, source_id="FROT", data=b"rotated " * 300_000)  # 2.4 MB: three chunks
        store.commit(Changes(reports=(r,), evidence=(file,), notes=(note(r.id, kind=NoteKind.INTERNAL),),
                             reminders=(rem,), runs=(run,), presses=(press(run, "slack:UP"),)))
    with PostgresStore.open(database, Keyring(keys=[fresh, old])) as store:
        assert store.reports_by_reporter("slack:UROT") == [r]  # found by its hash under the old key
        with pytest.raises(Conflict):
            store.commit(Changes(evidence=(evidence(store, r.id, source_id="FROT"),)))
        with pytest.raises(Conflict):
            store.commit(Changes(presses=(press(run, "slack:UP"),)))
        moved = r.evolve(now=r.created_at, status=Status.ACKNOWLEDGED, handler_id="slack:ULEAD")
        store.commit(Changes(reports=(moved,)))
        assert store.reencrypt() == 6
        before = (store.all_reports(), store.evidence(r.id), store.notes(r.id), store.press_counts(rem.id))
    with PostgresStore.open(database, Keyring(keys=[fresh])) as store:
        assert (store.all_reports(), store.evidence(r.id), store.notes(r.id), store.press_counts(rem.id)) == before
        assert store.press_counts(rem.id)[PressKind.DONE] == 1
        assert store.reports_by_reporter("slack:UROT") == [moved]
        assert b"".join(store.open_evidence(r.id, file.id)) == b"rotated " * 300_000
    assert key_id(old) not in _everything_stored(database)  # no token, tag or hash under the old key is left
    with pytest.raises(KeyMismatch):
        PostgresStore.open(database, Keyring(keys=[old]))


def test_a_store_refuses_calls_once_closed_and_reports_health(database: str) -> None:
    store = PostgresStore.open(database, Keyring(keys=[KEY]))
    assert store.healthy
    store.close()
    assert not store.healthy
    with pytest.raises(StoreError):
        store.commit(Changes(reports=(replace(report(), version=1),)))


def test_items_from_before_platforms_are_found_without_reading_every_report(database: str) -> None:
    with PostgresStore.open(database, Keyring(keys=[KEY])) as store:
        r = report()
        store.commit(submission(r))
        assert not store.holds_unrouted_items()
        store.commit(Changes(outbox=(alert(r.id, platform=""),)))
        assert store.holds_unrouted_items()

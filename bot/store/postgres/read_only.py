"""A PostgreSQL database opened to read only (`staffsafe check`): what a start would load and change.

The session is read-only (`default_transaction_read_only`, and one READ ONLY, REPEATABLE READ
transaction for a consistent snapshot): no migration, key check or anything else is written. What a
start would change (create the schema, apply migrations, record a new key) is said in words, and a
schema newer than this code knows is refused as a start would refuse it. Evidence bytes are not read.
"""

from __future__ import annotations

from bot.crypto import Keyring
from bot.domain.ui import counted
from bot.store.codec import TABLES
from bot.store.postgres.migrations import LATEST, current_version, pending, refuse_newer
from bot.store.postgres.rows import Rows
from bot.store.blobs import NotRead
from bot.store.postgres.store import connect, decode_row, describe, read_key_checks, verify_key_checks
from bot.store.read_only import ReadOnlyStore
from bot.store.sealing import Sealer
from bot.store.tables import Tables


def open_read_only(url: str, keyring: Keyring) -> ReadOnlyStore:
    """The committed state of the database, read without writing; StoreError where a start would stop."""
    where = describe(url)
    sealer = Sealer(keyring=keyring)
    rows = Rows(sealer=sealer)
    tables = Tables(keyed_hash=sealer.keyed_hash)
    said: list[str] = []
    with connect(url, where, read_only=True) as conn:
        version = current_version(conn)
        refuse_newer(version, where)
        steps = pending(version)
        if not version:
            said.append(f"The database {where} holds no StaffSafe schema yet: the next start creates it "
                        f"({counted(len(steps), 'migration')}, to schema version {LATEST}).")
            return ReadOnlyStore(tables=tables, blobs=NotRead(), next_start=tuple(said), lock_fd=None)
        if steps:
            said.append(f"The database {where} has schema version {version}: the next start migrates it to "
                        f"version {LATEST} ({'; '.join(f'{s.version}: {s.name}' for s in steps)}).")
        checks = read_key_checks(conn)
        if checks:
            verify_key_checks(sealer, checks, where)
        if sealer.primary_id not in checks:
            said.append(f"The key {sealer.primary_id} is new to the database {where}: the next start records it.")
        for table in TABLES:
            for row in conn.execute(f"SELECT id, doc, tag FROM {table} ORDER BY seq"):
                tables.put(decode_row(rows, table, row))
    return ReadOnlyStore(tables=tables, blobs=NotRead(), next_start=tuple(said), lock_fd=None)

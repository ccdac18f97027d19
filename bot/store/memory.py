"""An in-memory Store for tests and the console: same semantics as the TinyDB store, no files."""

from __future__ import annotations

from bot.domain.ports import Changes
from bot.store.base import TablesStore
from bot.store.blobs import MemoryBlobs
from bot.store.tables import Tables


class MemoryStore(TablesStore):
    """Thread-safe, atomic, and gone when the process ends."""

    def __init__(self) -> None:
        super().__init__(tables=Tables(), blobs=MemoryBlobs())

    def commit(self, changes: Changes) -> None:
        """Store every record of `changes` atomically, in memory only: nothing of it outlives the process."""
        self._apply_in_memory(changes)
        self._queued.fire_for(changes)

    def close(self) -> None:
        """Refuse later calls."""
        with self._lock:
            self._closed = True

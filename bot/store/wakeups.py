"""`Store.on_queued`: who to wake when a commit queues outbox items, shared by every store.

In-process stores (memory, TinyDB) call the callbacks themselves right after such a commit; the
PostgreSQL store sends a NOTIFY in the commit's transaction and calls them from a listener thread
(`bot/store/postgres/notify.py`), so workers of every instance on the database are woken.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.domain.ports import Changes
from bot.domain.report import OutboxState
from bot.incidents import log_incident

log = logging.getLogger(__name__)

Wake = Callable[[], None]


def queues_work(changes: Changes) -> bool:
    """Whether `changes` gives a worker something new to try: an outbox item waiting, never tried.

    Retries are left out: they are due later, and the workers' polling finds them then.
    """
    return any(item.state is OutboxState.PENDING and item.attempts == 0 for item in changes.outbox)


class QueuedCallbacks:
    """The callbacks given to `on_queued`, called together; one failing never stops the others or the caller."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Wake] = []

    def add(self, callback: Wake) -> None:
        """Call `callback` on each later `fire`."""
        with self._lock:
            self._callbacks.append(callback)

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._callbacks)

    def fire(self) -> None:
        """Call every callback (they only set events: a commit must not wait on them)."""
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception as error:  # noqa: BLE001 - the commit is done; a wake-up is only a hint
                log_incident(log, "outbox wake-up", error)

    def fire_for(self, changes: Changes) -> None:
        """`fire` if `changes` queued work (after it is committed)."""
        if queues_work(changes):
            self.fire()

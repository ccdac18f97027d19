"""Waking outbox workers on every instance sharing a database: NOTIFY when work is queued, LISTEN for it.

The store sends `NOTIFY staffsafe_outbox` inside the transaction of each commit that queues outbox
items (`notify_if_queued`): PostgreSQL delivers it to every listening session when, and only if,
that transaction commits. Each instance keeps one `OutboxListener`: a thread with a connection of
its own (not the pool's: a pooled connection is returned between uses and would miss notifications)
that calls the `on_queued` callbacks, the workers' `wake`, on each notification. A dropped connection
is reconnected with backoff, and the callbacks are called once on reconnecting, for anything queued
meanwhile; polling stays the safety net throughout, so a missed wake-up only delays, never loses.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import psycopg

from bot.domain.ports import Changes
from bot.incidents import log_incident
from bot.store.wakeups import QueuedCallbacks, Wake, queues_work

log = logging.getLogger(__name__)

CHANNEL = "staffsafe_outbox"
NOTIFY_SQL = f"NOTIFY {CHANNEL}"
APPLICATION_NAME = "staffsafe-listener"  # how the listening session shows in pg_stat_activity
TICK_SECONDS = 0.5  # how soon `close` is noticed
IDLE_CHECK_SECONDS = 30.0  # a quiet connection is checked this often: a silently dead one must not stay
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0
CONNECT_OPTIONS: dict[str, Any] = {
    "autocommit": True,  # LISTEN takes effect at once; notifications arrive between statements
    "connect_timeout": 10,
    "application_name": APPLICATION_NAME,
    # The server may vanish without a FIN (a failover, a dropped route): TCP keepalives notice.
    "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
}


class Executes(Protocol):
    """A psycopg connection or cursor inside the commit's transaction."""

    def execute(self, query: Any, params: Any = None) -> Any:
        """Run one statement."""
        ...


def notify_if_queued(transaction: Executes, changes: Changes) -> None:
    """Within a commit's transaction: tell every listening instance if `changes` queues outbox items.

    PostgreSQL sends it only if the transaction commits, and folds repeats within one transaction.
    """
    if queues_work(changes):
        transaction.execute(NOTIFY_SQL)


class OutboxListener:
    """One thread and connection LISTENing on `staffsafe_outbox`, calling the `on_queued` callbacks on each notice.

    Started by the first `on_queued`; stopped by `close`. `connect` is psycopg.connect (tests give another).
    """

    def __init__(self, *, conninfo: str, connect: Callable[..., psycopg.Connection[Any]] = psycopg.connect,
                 idle_check_seconds: float = IDLE_CHECK_SECONDS) -> None:
        self._conninfo = conninfo  # may hold a password: never logged
        self._connect = connect
        self._idle_check = idle_check_seconds
        self._callbacks = QueuedCallbacks()
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def on_queued(self, callback: Wake) -> None:
        """Call `callback` whenever any instance commits queued work; starts listening if not yet."""
        self._callbacks.add(callback)
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="staffsafe-listen", daemon=True)
                self._thread.start()

    @property
    def listening(self) -> bool:
        """Whether the LISTEN is in place now (False while reconnecting)."""
        return self._listening.is_set()

    def wait_listening(self, timeout: float) -> bool:
        """Block until the LISTEN is in place (or `timeout` seconds pass); whether it is."""
        return self._listening.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening and close the connection (within a tick, or a connect's timeout)."""
        self._stop.set()
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        lost = False
        while not self._stop.is_set():
            try:
                with self._connect(self._conninfo, **CONNECT_OPTIONS) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    if lost:
                        log.warning("outbox wake-ups from other instances work again")
                    lost, delay = False, FIRST_RETRY_SECONDS
                    self._callbacks.fire()  # work queued while nobody here listened is not left to the poll
                    self._listen(connection)
            except Exception as error:  # noqa: BLE001 - the thread must outlive any outage
                self._listening.clear()
                if not lost and not self._stop.is_set():
                    if isinstance(error, psycopg.Error):
                        # Only the class: a connection error's text can quote the connection string.
                        log.warning("outbox wake-ups from other instances stopped (%s); reconnecting, and the "
                                    "workers' polling goes on meanwhile", type(error).__name__)
                    else:
                        log_incident(log, "outbox listener", error)
                lost = True
                self._stop.wait(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
        self._listening.clear()

    def _listen(self, connection: psycopg.Connection[Any]) -> None:
        """Wake on every notice until closed; a quiet connection is checked now and then (raises once it is gone)."""
        quiet = 0.0
        while not self._stop.is_set():
            heard = False
            for _ in connection.notifies(timeout=TICK_SECONDS):
                heard = True
                self._callbacks.fire()
            quiet = 0.0 if heard else quiet + TICK_SECONDS
            if quiet >= self._idle_check:
                connection.execute("SELECT 1")
                quiet = 0.0

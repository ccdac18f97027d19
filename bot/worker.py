"""Background threads: the outbox worker delivers due items, woken after each commit; the scheduler runs due work."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.incidents import log_incident

log = logging.getLogger(__name__)


class Worker:
    """A thread that runs `deliver` (do what is due; return how much was handled) until stopped, woken early on demand."""

    def __init__(self, *, deliver: Callable[[], int], poll_seconds: float = 1.0, gather_seconds: float = 0.02,
                 name: str = "staffsafe-outbox") -> None:
        self._deliver = deliver
        self._name = name
        self._poll = poll_seconds
        self._gather = gather_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Worker:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        """Whether the delivery thread is running (the health check reports it)."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Deliver now rather than at the next poll: something was just queued."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current delivery and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> int:
        """One pass over the due items (also used by tests and the console)."""
        try:
            return self._deliver()
        except Exception as error:  # noqa: BLE001 - the worker must outlive any one failure
            log_incident(log, self._name, error)
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            handled = self.run_once()
            if handled:
                continue  # more may be due: a batch is capped
            if self._wake.wait(self._poll):
                # Woken by a commit: let a burst of reports gather, so a batch costs two commits
                # for many deliveries rather than for one (a human will not notice 20 ms).
                self._stop.wait(self._gather)


class OutboxWorker(Worker):
    """Delivers the outbox: `deliver` sends everything due.

    Only this thread posts to the platform, so a listener thread that is retried or killed can
    never post twice; the store's outbox is the single record of what has been sent.
    """


class Scheduler(Worker):
    """The scheduler thread: reminders, escalations and retention due, a pass every `poll_seconds`.

    It only queues work in the outbox, and wakes the outbox worker when a pass queued something.
    """

    def __init__(self, *, run_pass: Callable[[], bool], wake_outbox: Callable[[], None],
                 poll_seconds: float = 15.0) -> None:
        def one_pass() -> int:
            if run_pass():
                wake_outbox()
            return 0  # then sleep until the next pass
        super().__init__(deliver=one_pass, poll_seconds=poll_seconds, name="staffsafe-scheduler")

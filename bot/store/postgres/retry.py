"""Transient database failures, retried where that is safe; otherwise the core's StoreError.

Transient: the connection lost or refused, the server shutting down or failing over (57P01, 57P03),
a serialization failure (40001) or deadlock (40P01), no pooled connection in time. Anything else (a
constraint, a syntax error) is not retried. The work given is a whole transaction: it is rolled back
by the server when it fails, so a retry starts from nothing half written. Commits are made safe to
retry by the store (its commit marker), not here.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg_pool import PoolTimeout

from bot.domain.errors import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

# OperationalError covers lost and refused connections, admin shutdown, serialization failures and
# deadlocks; InterfaceError a connection found closed on use; PoolTimeout a pool that could not connect.
TRANSIENT: tuple[type[Exception], ...] = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same transaction again may succeed."""
    return isinstance(exc, TRANSIENT)


def reason(exc: BaseException) -> str:
    """A failure's class and SQLSTATE, never its text (which may quote values)."""
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or getattr(exc, "sqlstate", None)
    return f"{type(exc).__name__}{f' {state}' if state else ''}"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How long to keep trying: a budget short enough to answer a user in time (Slack waits 3 s)."""

    attempts: int = 4
    first_delay: float = 0.05  # seconds; doubled after each failure, with jitter
    budget: float = 2.5  # seconds in all, waits included

    def delays(self) -> list[float]:
        """The waits between attempts."""
        return [self.first_delay * 2 ** n * random.uniform(0.5, 1.0) for n in range(self.attempts - 1)]


class Health:
    """Whether the database answered the last time it was asked; the change is logged once each way."""

    def __init__(self, *, where: str) -> None:
        self._where = where
        self._failing: str | None = None
        self._lock = threading.Lock()

    @property
    def failing(self) -> str | None:
        """Why the database fails, while it does."""
        return self._failing

    def failed(self, exc: BaseException) -> None:
        """Note a failure (logged when it starts)."""
        with self._lock:
            if self._failing is None:
                log.error("the database %s cannot be used (%s); reports are refused until it is back",
                          self._where, reason(exc))
            self._failing = reason(exc)

    def worked(self) -> None:
        """Note a success (logged when it ends a failure)."""
        if self._failing is None:
            return
        with self._lock:
            if self._failing is not None:
                log.warning("the database %s works again (it failed with %s)", self._where, self._failing)
                self._failing = None


@dataclass(frozen=True)
class Attempt:
    """One try of a piece of work: its number (1, 2 ...) and when the whole budget ends (time.monotonic)."""

    number: int
    deadline: float

    @property
    def wait(self) -> float:
        """How long this try may wait for a connection: what is left of the budget (at least a moment)."""
        return max(0.1, self.deadline - time.monotonic())


def with_retries(work: Callable[[Attempt], T], *, policy: RetryPolicy, health: Health, what: str,
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """`work(attempt)`, again after each transient failure while the budget lasts.

    Raises StoreError (the user is asked to try again) once it is spent; other errors at once.
    """
    deadline = time.monotonic() + policy.budget
    delays = policy.delays()
    for attempt in range(1, policy.attempts + 1):
        try:
            result = work(Attempt(number=attempt, deadline=deadline))
        except TRANSIENT as exc:
            health.failed(exc)
            delay = delays[attempt - 1] if attempt <= len(delays) else None
            if delay is None or time.monotonic() + delay > deadline:
                raise StoreError(f"the database could not {what} ({reason(exc)}, {attempt} "
                                 f"attempt{'s' if attempt > 1 else ''})") from exc
            log.info("database: %s failed (%s); trying again", what, reason(exc))
            sleep(delay)
        else:
            health.worked()
            return result
    raise AssertionError("unreachable")  # the loop returns or raises

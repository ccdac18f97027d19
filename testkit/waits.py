"""Waiting on what another thread or process does: poll a condition until it holds, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

# Generous: a wait returns as soon as its condition holds, so only a failing test ever waits this long,
# and a loaded 2-core CI runner can take seconds to schedule a worker thread.
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02

T = TypeVar("T")


def wait_until(check: Callable[[], T], timeout: float = WAIT_SECONDS) -> T:
    """Poll until `check()` is truthy and return its value (the outbox worker and lazy listeners run in other threads)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting")
        time.sleep(POLL_SECONDS)


def wait_ticking(clock, check: Callable[[], object]) -> None:
    """Wait, moving a fake clock on a second at a time (the outbox's paced retries follow it, not real time)."""
    def ticked() -> bool:
        clock.advance(seconds=1)
        return bool(check())
    wait_until(ticked)

"""A clock for benchmarks: real time, moved to read a chosen moment."""

from __future__ import annotations

import time
from datetime import datetime, timedelta


class ShiftedClock:
    """Real time moved to read `start` now: the claim happens at the due time, and Retry-After waits still pass."""

    def __init__(self, start: datetime) -> None:
        self.jump(start)

    def jump(self, start: datetime) -> None:
        """Read `start` from now on, moving at real speed."""
        self._start, self._began = start, time.monotonic()

    def now(self) -> datetime:
        """The shifted time, UTC."""
        return self._start + timedelta(seconds=time.monotonic() - self._began)

"""A rate-limited log of refused requests, for any platform's front door.

Unauthenticated traffic is free to send, so each refusal is one short, content-free line, and at
most `per_minute` of them are written a minute; the rest are counted and summed up in one line when
the next minute starts, so a flood cannot fill the disk but is never invisible.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable


class RejectionLog:
    """Log why requests were refused (fixed wording, never what they carried), at most `per_minute` lines."""

    def __init__(self, *, logger: logging.Logger, per_minute: int = 20,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._written = 0
        self._withheld = 0

    def refused(self, status: int, why: str) -> None:
        """Note one refused request; `why` must be fixed wording with nothing from the request in it."""
        with self._lock:
            window = int(self._clock() // 60)
            if window != self._window:
                if self._withheld:
                    self._log.warning("%d more refused requests in the last minute were not logged one by one",
                                      self._withheld)
                self._window, self._written, self._withheld = window, 0, 0
            if self._written >= self._per_minute:
                self._withheld += 1
                return
            self._written += 1
        self._log.warning("refused a request (%d): %s", status, why)

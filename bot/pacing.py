"""Pacing deliveries within a platform's rate limits: a pause after a 429, and a minimum gap per channel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Shared by the outbox worker's passes; real (monotonic) time, because the limits are the platform's."""

    def __init__(self, *, channel_gap: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._gap = channel_gap  # Slack: about one message per second per channel
        self._clock = clock
        self._paused_until = 0.0
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Seconds until anything may be sent (0 if now)."""
        with self._lock:
            return max(0.0, self._paused_until - self._clock())

    def pause(self, seconds: float) -> None:
        """Stop sending for `seconds` (the platform's Retry-After): the limit is workspace-wide."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def channel_wait(self, channel: str) -> float:
        """Seconds until this channel may get another post."""
        with self._lock:
            last = self._last_post.get(channel)
            return 0.0 if last is None else max(0.0, last + self._gap - self._clock())

    def posted(self, channel: str) -> None:
        """Record a post in this channel."""
        with self._lock:
            now = self._clock()
            self._last_post[channel] = now
            if len(self._last_post) > 10_000:  # forget channels long quiet, so memory stays flat
                self._last_post = {c: t for c, t in self._last_post.items() if t + self._gap > now}

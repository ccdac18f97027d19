"""Pacing deliveries within a platform's rate limits: a gap per channel, and a workspace pace learnt from 429s.

Slack does not publish its workspace-wide limit for posting, and answers excess with 429 and
Retry-After. Sending flat out until refused, then pausing, delivers about one burst per Retry-After
(the bench measured 25 posts/s against a 200/s limit). So after a 429 the pacer spaces posts at the
rate Slack had just accepted, and shortens the gap a little after each post that goes through:
the pace settles just under the limit, with an occasional 429 to re-learn it.

Platforms that publish their limits are paced by `RateWindows` instead: the adapter names the limits
and their keys (the core knows no platform's figures), and every request waits for a slot first.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

EASE = 0.99  # each accepted post shortens the workspace gap by 1%
MARGIN = 1.1  # after a 429, space posts 10% wider than the rate just accepted
MAX_SLEEP = 2.0  # a longer wait ends the batch instead: the worker comes back to it


class Pacer:
    """Shared by the outbox worker's passes; real (monotonic) time, because the limits are the platform's."""

    def __init__(self, *, channel_gap: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._channel_gap = channel_gap  # Slack: about one message per second per channel
        self._clock = clock
        self._sleep = sleep
        self._paused_until = 0.0
        self._gap = 0.0  # between any two posts; 0 until a 429 teaches otherwise
        self._last_sent = float("-inf")
        self._recent: deque[float] = deque()  # when posts went out in the last second
        self._last_post: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def gap(self) -> float:
        """The current spacing between posts, in seconds."""
        return self._gap

    def wait(self) -> float:
        """Seconds until anything may be sent (0 if now)."""
        with self._lock:
            now = self._clock()
            return max(0.0, self._paused_until - now, self._last_sent + self._gap - now)

    def pace(self) -> bool:
        """Wait out a short gap and return True, or return False while paused longer (the batch stops)."""
        wait = self.wait()
        if wait > MAX_SLEEP:
            return False
        if wait > 0:
            self._sleep(wait)
        return True

    def limited(self, retry_after: float) -> None:
        """A 429: stop for Retry-After (the limit is workspace-wide), then go at the rate just accepted."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + retry_after)
            accepted = sum(1 for t in self._recent if t > now - 1.0)
            self._gap = max(self._gap, MARGIN / max(accepted, 1))

    def sent(self, channel: str = "") -> None:
        """Record a post (in a channel, for its own gap)."""
        with self._lock:
            now = self._clock()
            self._last_sent = now
            self._gap *= EASE
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if channel:
                self._last_post[channel] = now
                if len(self._last_post) > 10_000:  # forget channels long quiet, so memory stays flat
                    self._last_post = {c: t for c, t in self._last_post.items() if t + self._channel_gap > now}

    def channel_wait(self, channel: str) -> float:
        """Seconds until this channel may get another post."""
        with self._lock:
            last = self._last_post.get(channel)
            return 0.0 if last is None else max(0.0, last + self._channel_gap - self._clock())


@dataclass(frozen=True)
class Limit:
    """At most `count` requests in any `seconds` under one key (an adapter names its platform's limits)."""

    key: str
    count: int
    seconds: float


class RateWindows:
    """Published rate limits honoured before sending, across every thread of the process.

    A platform that documents its limits (Teams: 7 sends a second per conversation, 50 requests a
    second per app and tenant) is paced here rather than by collecting 429s. `take` reserves a slot
    under every limit at once, in arrival order per key, so threads sharing a key queue up instead of
    racing; a wait longer than `max_wait` reserves nothing and is returned, for the caller to hand the
    item back to the outbox (which decides durably when to try again).
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = MAX_SLEEP) -> None:
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._sent: dict[tuple[str, float], deque[float]] = {}  # (key, window) -> reserved send times, ascending
        self._lock = threading.Lock()

    def take(self, *limits: Limit) -> float:
        """0.0 once a slot is taken under every limit (after sleeping a short wait); else the wait, nothing taken."""
        with self._lock:
            now = self._clock()
            at = now
            for limit in limits:
                times = self._times(limit, now)
                if times:
                    at = max(at, times[-1])  # first come, first served: times stay in order
                if len(times) >= limit.count:
                    at = max(at, times[-limit.count] + limit.seconds)
            wait = at - now
            if wait > self._max_wait:
                return wait
            for limit in limits:
                self._sent.setdefault((limit.key, limit.seconds), deque()).append(at)
            if len(self._sent) > 10_000:  # forget keys long quiet, so memory stays flat
                self._sent = {k: t for k, t in self._sent.items() if t and t[-1] > now - k[1]}
        if wait > 0:
            self._sleep(wait)
        return 0.0

    def _times(self, limit: Limit, now: float) -> deque[float]:
        times = self._sent.get((limit.key, limit.seconds), deque())
        while times and times[0] <= now - limit.seconds:
            times.popleft()
        return times

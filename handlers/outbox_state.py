"""An outbox item's next state after a try: sent, closed for good, or rescheduled with backoff."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.ports import PermanentFailure, Store, TemporaryFailure, UncertainDelivery
from bot.domain.report import OutboxItem, OutboxState

log = logging.getLogger("handlers.delivery")

MAX_BACKOFF = timedelta(minutes=15)
MAX_REFUSAL = 80  # characters of a platform's refusal code kept on the item
WAITING_SCAN = 10_000  # due items counted for health and checks: enough to see a platform is not served


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """How long to wait before the next try: the platform's Retry-After, else exponential, capped."""
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after))
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 10)))


# What one try leaves behind: the item's new state to commit (None if already committed), and
# whether it was delivered.
Outcome = tuple[OutboxItem | None, bool]


def _unclaimed(item: OutboxItem, state: OutboxState, **changes: object) -> OutboxItem:
    return replace(item, state=state, claimed_by="", claimed_until=None, **changes)  # type: ignore[arg-type]


def delivered(item: OutboxItem, now: datetime, receipt: str = "") -> OutboxItem:
    """Sent now, with the platform's reference for what was sent."""
    return _unclaimed(item, OutboxState.SENT, delivered_at=now, receipt=receipt or item.receipt, error="",
                      uncertain=False, attempts=item.attempts + 1)


def closed(item: OutboxItem, now: datetime, state: OutboxState) -> OutboxItem:
    """Closed without delivery: nothing can ever be sent (cancelled or undeliverable)."""
    log.warning("outbox item %s (%s) closed without delivery: %s", item.id, item.kind.value, state.value)
    return _unclaimed(item, state, delivered_at=now)


def refused(item: OutboxItem, now: datetime, error: PermanentFailure) -> OutboxItem:
    """Closed because the platform refused for good; its error code (never content) is kept."""
    log.warning("outbox item %s (%s) refused by the platform: %s", item.id, item.kind.value, error)
    return _unclaimed(item, OutboxState.REFUSED, delivered_at=now, error=type(error).__name__,
                      refusal=str(error)[:MAX_REFUSAL], attempts=item.attempts + 1)


def retried(item: OutboxItem, now: datetime, error: Exception) -> OutboxItem:
    """Rescheduled after a failure, honouring the platform's Retry-After; an uncertain one is looked up next."""
    retry_after = error.retry_after if isinstance(error, TemporaryFailure) else None
    attempts = item.attempts + 1
    level = logging.INFO if isinstance(error, TemporaryFailure) else logging.ERROR
    # A refusal's text is the platform's error code (e.g. not_in_channel: invite the bot), never content.
    why = f"{type(error).__name__} ({error})" if isinstance(error, PermanentFailure) else type(error).__name__
    log.log(level, "outbox item %s deferred after %s (attempt %d)", item.id, why, attempts)
    return _unclaimed(item, OutboxState.PENDING, attempts=attempts, error=type(error).__name__,
                      uncertain=item.uncertain or isinstance(error, UncertainDelivery),
                      due_at=now + backoff(attempts, retry_after))


def waiting_by_platform(store: Store, now: datetime, *, running: Collection[str] = ()) -> dict[str, int]:
    """Due, undelivered items per platform that does not run here (all platforms if none is named)."""
    waiting = Counter(o.platform or "unknown" for o in store.due_outbox(now, limit=WAITING_SCAN)
                      if o.platform not in running)
    return dict(sorted(waiting.items()))


def waiting_words(waiting: Mapping[str, int]) -> str:
    """What `waiting_by_platform` found, for people ("" if nothing waits)."""
    return ", ".join(f"{count} for {platform}" for platform, count in waiting.items())

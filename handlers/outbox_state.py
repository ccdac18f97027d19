"""An outbox item's next state after a try: delivered, closed for good, or rescheduled with backoff."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.ports import PermanentFailure, TemporaryFailure, UncertainDelivery
from bot.domain.report import OutboxItem

log = logging.getLogger("handlers.delivery")

MAX_BACKOFF = timedelta(minutes=15)
SENDING = "sending"  # recorded before each try: if the process dies mid-send, the next try looks first
MAYBE_SENT = {SENDING, UncertainDelivery.__name__}


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """How long to wait before the next try: the platform's Retry-After, else exponential, capped."""
    if retry_after is not None:
        return timedelta(seconds=max(0.0, retry_after))
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 10)))


# What one try leaves behind: the item's new state to commit (None if already committed), and
# whether it was delivered.
Outcome = tuple[OutboxItem | None, bool]


def delivered(item: OutboxItem, now: datetime, receipt: str = "") -> OutboxItem:
    """Delivered now, with the platform's id for what was sent."""
    return replace(item, delivered_at=now, receipt=receipt or item.receipt, last_error="", attempts=item.attempts + 1)


def closed(item: OutboxItem, now: datetime, why: str) -> OutboxItem:
    """Closed without delivery: nothing can ever be sent (the reason is logged, without content)."""
    log.warning("outbox item %s (%s) closed without delivery: %s", item.id, item.kind.value, why.split(":")[0])
    return replace(item, delivered_at=now, last_error=why)


def retried(item: OutboxItem, now: datetime, error: Exception) -> OutboxItem:
    """Rescheduled after a failure, honouring the platform's Retry-After."""
    retry_after = error.retry_after if isinstance(error, TemporaryFailure) else None
    attempts = item.attempts + 1
    level = logging.INFO if isinstance(error, TemporaryFailure) else logging.ERROR
    # A refusal's text is the platform's error code (e.g. not_in_channel: invite the bot), never content.
    why = f"{type(error).__name__} ({error})" if isinstance(error, PermanentFailure) else type(error).__name__
    log.log(level, "outbox item %s deferred after %s (attempt %d)", item.id, why, attempts)
    return replace(item, attempts=attempts, last_error=type(error).__name__, due_at=now + backoff(attempts, retry_after))

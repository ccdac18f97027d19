"""Outbox items stored before item states and platforms still load, meaning what they meant."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.domain.ports import Changes
from bot.domain.report import Delivery, OutboxItem, OutboxState
from bot.store.codec import from_doc, to_doc
from bot.store.memory import MemoryStore
from bot.store.upgrades import adopt_unrouted
from testkit.builders import a_report

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def old_doc(kind: Delivery, *, detail: str = "", last_error: str = "", delivered: bool = False) -> dict:
    """An outbox document as the version before item states wrote it."""
    return {"id": "o1", "kind": kind.value, "report_id": "r1", "due_at": T0.isoformat(), "note_id": None,
            "run_id": "", "detail": detail, "attempts": 1, "delivered_at": T0.isoformat() if delivered else None,
            "receipt": "", "last_error": last_error}


@pytest.mark.parametrize(("doc", "expected"), [
    (old_doc(Delivery.LEAD_ALERT), dict(state=OutboxState.PENDING, recipient="")),
    (old_doc(Delivery.LEAD_ALERT, detail="lead:0123456789abcdef"), dict(recipient="lead:0123456789abcdef")),
    (old_doc(Delivery.EVIDENCE, detail="F0123"), dict(file_ref="F0123", recipient="")),
    (old_doc(Delivery.REMINDER, detail="slack:C01"), dict(channel="slack:C01", platform="slack")),
    (old_doc(Delivery.REPORTER_UPDATE, detail="acknowledged"), dict(update="acknowledged")),
    (old_doc(Delivery.REMINDER_NOTICE, detail="admin:0a"), dict(recipient="admin:0a")),
    (old_doc(Delivery.LEAD_ALERT, last_error="sending"), dict(state=OutboxState.SENDING, uncertain=True,
                                                               claimed_until=None)),
    (old_doc(Delivery.LEAD_ALERT, last_error="UncertainDelivery"), dict(state=OutboxState.PENDING, uncertain=True,
                                                                         error="UncertainDelivery")),
    (old_doc(Delivery.LEAD_ALERT, last_error="RateLimited"), dict(state=OutboxState.PENDING, uncertain=False,
                                                                   error="RateLimited")),
    (old_doc(Delivery.LEAD_ALERT, delivered=True), dict(state=OutboxState.SENT)),
    (old_doc(Delivery.REMINDER, detail="slack:C01", delivered=True, last_error="refused: not_in_channel"),
     dict(state=OutboxState.REFUSED, refusal="not_in_channel", error="PermanentFailure")),
    (old_doc(Delivery.REMINDER, delivered=True, last_error="cancelled"), dict(state=OutboxState.CANCELLED)),
    (old_doc(Delivery.RECEIPT, delivered=True, last_error="undeliverable"), dict(state=OutboxState.UNDELIVERABLE)),
])
def test_old_outbox_documents_are_read_as_states_and_typed_fields(doc: dict, expected: dict) -> None:
    item = from_doc(OutboxItem, doc)
    assert {name: getattr(item, name) for name in expected} == expected
    assert from_doc(OutboxItem, to_doc(item)) == item  # and written back in today's form


def test_a_lapsed_old_try_is_claimed_at_once_and_looked_up_first() -> None:
    store = MemoryStore()
    store.commit(Changes(outbox=(from_doc(OutboxItem, old_doc(Delivery.REMINDER, detail="slack:C01",
                                                              last_error="sending")),)))
    [claimed] = store.claim_due(T0, 10, "w", timedelta(minutes=1), {"slack"})
    assert claimed.uncertain


def test_items_without_a_platform_take_their_reporters_platform_once() -> None:
    store = MemoryStore()
    report = a_report(id="r1", reporter_id="console:sam")
    unrouted = from_doc(OutboxItem, old_doc(Delivery.LEAD_ALERT))
    store.commit(Changes(reports=(report,), outbox=(unrouted,)))
    assert adopt_unrouted(store) == 1
    assert store.outbox_item("o1").platform == "console"
    assert adopt_unrouted(store) == 0

"""bot.store.codec: domain records <-> plain JSON documents."""

from __future__ import annotations

import json

import pytest

from bot.domain.report import Note, OutboxItem, Report, Status
from bot.store.codec import from_doc, to_doc
from tests.store_contract import T0, alert, note, report


def test_records_round_trip_through_json() -> None:
    for record in (
        report(subject_id="slack:U9", status=Status.ESCALATED, updated_at=T0),
        note("r1"),
        alert("r1", delivered_at=T0, receipt="123.456"),
    ):
        doc = json.loads(json.dumps(to_doc(record)))
        assert from_doc(type(record), doc) == record


def test_documents_are_plain_values() -> None:
    doc = to_doc(report(natures=frozenset(), urls=("b", "a")))
    assert doc["created_at"] == "2026-11-24T09:00:00+00:00"
    assert doc["first_seen"] == "2026-11-20"
    assert doc["status"] == "new" and doc["perpetrator"] == "linked"
    assert doc["natures"] == [] and doc["urls"] == ["b", "a"] and doc["wants"] == ["removed", "support"]


def test_missing_optional_fields_take_their_defaults() -> None:
    doc = to_doc(alert("r1"))
    for optional in ("note_id", "detail", "attempts", "delivered_at", "receipt", "last_error"):
        del doc[optional]
    assert from_doc(OutboxItem, doc) == alert("r1", id=doc["id"], due_at=T0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("occasions", "2"), ("evidence_saved", 1), ("status", "lost"), ("created_at", "yesterday"), ("urls", "x")],
)
def test_wrong_types_are_refused_without_quoting_the_value(field: str, value: object) -> None:
    doc = to_doc(report())
    doc[field] = value
    with pytest.raises(ValueError, match=field) as caught:
        from_doc(Report, doc)
    assert str(value) not in str(caught.value)


def test_a_missing_required_field_is_refused() -> None:
    doc = to_doc(note("r1"))
    del doc["text"]
    with pytest.raises(ValueError, match="text"):
        from_doc(Note, doc)

"""bot.store.codec: domain records <-> plain JSON documents."""

from __future__ import annotations

import base64
import json
from dataclasses import fields
from datetime import date

import pytest

from bot.domain.reminder import Frequency, Reminder, Schedule
from bot.domain.report import Evidence, Note, OutboxItem, Report, Status
from bot.store.codec import TABLES, from_doc, to_doc
from testkit.builders import a_reminder, an_evidence
from tests.store_contract import T0, alert, note, report


def test_records_round_trip_through_json() -> None:
    for record in (
        report(subject_id="slack:U9", status=Status.ESCALATED, updated_at=T0),
        note("r1"),
        an_evidence(report_id="r1", data=bytes(range(256))),
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
    for optional in ("note_id", "recipient", "update", "attempts", "delivered_at", "receipt", "error", "state"):
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


def test_evidence_documents_hold_no_bytes_and_old_ones_are_read_without_theirs() -> None:
    record = an_evidence(report_id="r1", data=b"\x00\xffscreenshot", received_at=T0)
    doc = to_doc(record)
    assert "data" not in doc
    assert doc["size"] == 12 and doc["received_at"] == "2026-11-24T09:00:00+00:00"
    old = doc | {"data": base64.b64encode(b"\x00\xffscreenshot").decode()}  # inline, as versions before blobs kept it
    assert from_doc(Evidence, old) == record


def test_a_reminder_round_trips_with_its_schedule() -> None:
    weekly = Schedule(frequency=Frequency.WEEKDAYS, start=date(2026, 11, 2), weekdays=frozenset({4, 0}),
                      end=date(2027, 1, 1))
    record = a_reminder(schedule=weekly, channels=("slack:C1", "slack:C2"), updated_at=T0)
    doc = json.loads(json.dumps(to_doc(record)))
    assert doc["schedule"] == {
        "frequency": "weekdays", "start": "2026-11-02", "time": "09:00", "timezone": "Europe/London",
        "weekdays": [0, 4], "day_of_month": 0, "cron": "", "end": "2027-01-01",
    }
    assert from_doc(Reminder, doc) == record


@pytest.mark.parametrize(
    "schedule",
    [
        "daily",  # not an object
        {"frequency": "hourly", "start": "2026-11-01"},
        {"frequency": "daily", "start": "2026-11-01", "weekdays": ["0"]},  # text, not a day number
        {"frequency": "daily"},  # no start
    ],
)
def test_a_damaged_schedule_is_refused(schedule: object) -> None:
    doc = to_doc(a_reminder())
    doc["schedule"] = schedule
    with pytest.raises(ValueError, match="schedule"):
        from_doc(Reminder, doc)


def test_a_commit_puts_what_a_record_names_before_it() -> None:
    # The order of application documented on Changes: a database with foreign keys needs it.
    named_by = {"report_id": "reports", "note_id": "notes", "reminder_id": "reminders", "run_id": "runs"}
    order = list(TABLES)
    for table, record in TABLES.items():
        for field in fields(record):
            named = named_by.get(field.name)
            if named is not None:
                assert order.index(named) < order.index(table), f"{table} names {named}: it must come after"

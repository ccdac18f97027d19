"""Builders of test records and form answers, with sensible defaults to override."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

from bot.domain.ports import Store
from bot.domain.reminder import ROTATION, Frequency, Reminder, Schedule
from bot.domain.report import Adult, Evidence, Nature, Perpetrator, Report, Want, new_id, new_reference


def a_report(**overrides: object) -> Report:
    """A valid report; override any field."""
    values = dict(
        id=new_id(),
        reference=new_reference(),
        reporter_id="console:sam",
        reporter_name="Sam Jones",
        named_to_leads=True,
        what_happened="A parent posted my photo with insults.",
        where="facebook",
        urls=("https://facebook.com/post/1",),
        first_seen=date(2026, 11, 20),
        occasions=1,
        perpetrator=Perpetrator.LINKED,
        adult=Adult.YES,
        natures=frozenset({Nature.ABUSIVE}),
        evidence_saved=True,
        wants=frozenset({Want.REMOVED}),
        created_at=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc),
    )
    values.update(overrides)
    return Report(**values)


SCREENSHOT = b"\x89PNG\r\n\x1a\nnot really a screenshot"


def an_evidence(**overrides: object) -> Evidence:
    """A valid evidence record whose size and sha256 are those of `data` (not kept); override any other field."""
    data = overrides.pop("data", SCREENSHOT)
    assert isinstance(data, bytes)
    values: dict[str, object] = dict(
        id=new_id(),
        report_id=new_id(),
        file_name="Screenshot 2026-11-24 at 09.01.png",
        media_type="image/png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        received_at=datetime(2026, 11, 24, 9, 5, tzinfo=timezone.utc),
        source_id=f"F{new_id()[:10].upper()}",
    )
    values.update(overrides)
    return Evidence(**values)  # type: ignore[arg-type]


def evidence_in(store: Store, **overrides: object) -> Evidence:
    """`an_evidence(**overrides)` with its bytes (`data`) already written to `store`: ready to commit."""
    data = overrides.get("data", SCREENSHOT)
    assert isinstance(data, bytes)
    record = an_evidence(**overrides)
    store.write_evidence_blob(record.report_id, record.id, (data,))
    return record


def a_reminder(**overrides: object) -> Reminder:
    """A valid daily reminder at 09:00 from 2026-11-01; override any field."""
    values: dict[str, object] = dict(
        id=new_id(),
        name="Check your privacy settings",
        channels=("slack:C0123ABCD",),
        schedule=Schedule(frequency=Frequency.DAILY, start=date(2026, 11, 1), time="09:00"),
        topic=ROTATION,
        created_by="slack:UADMIN",
        created_at=datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc),
        next_run=datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc),
    )
    values.update(overrides)
    return Reminder(**values)  # type: ignore[arg-type]


def report_answers(**overrides: object) -> dict[str, object]:
    """Raw answers to the report form, as an adapter would pass them."""
    answers: dict[str, object] = {
        "what_happened": "A parent posted my photo with insults.",
        "where": "facebook",
        "urls": ["https://facebook.com/post/1"],
        "first_seen": "2026-11-20",
        "occasions": "2",
        "perpetrator": "linked",
        "adult": "yes",
        "subject": "",
        "natures": ["abusive"],
        "evidence_saved": "yes",
        "wants": ["removed"],
        "named": "named",
    }
    answers.update(overrides)
    return answers

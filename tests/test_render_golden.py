"""Console rendering of the main cards, against golden files (UPDATE_GOLDEN=1 rewrites them)."""

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.console.render import render_card
from bot.domain.guidance import GuidanceEngine
from bot.domain.report import Note, NoteKind
from handlers.cards import case_card, lead_alert_card, receipt_card
from handlers.info import provider_card
from testkit.builders import a_report

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
REPORT = a_report(id="0" * 32, reference="SS-ABCDE-FGHJK", what_happened="Posted <!channel> \x1b[2J and more", occasions=3)


def cards(content):
    note = Note(id="n1", report_id=REPORT.id, kind=NoteKind.INTERNAL, author_id="console:lee", text="Rang the parent", at=NOW)
    return {
        "lead_alert": lead_alert_card(REPORT, content),
        "receipt": receipt_card(REPORT, GuidanceEngine(content=content).steps(REPORT)),
        "case": case_card(REPORT, [note], content, now=NOW),
        "hotline_orange": provider_card(content, content.provider("orange")),
    }


@pytest.mark.parametrize("name", ["lead_alert", "receipt", "case", "hotline_orange"])
def test_console_rendering_matches_golden(content, name):
    text = render_card(cards(content)[name]) + "\n"
    path = GOLDEN / f"console_{name}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")

"""The case export lists the uploaded files (name, type, size, SHA-256, time received), never their bytes."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

from bot.domain.ports import Changes
from bot.domain.report import Report
from handlers import reports
from handlers.export import export_case
from handlers.services import Services
from testkit.builders import evidence_in, report_answers
from tests.conftest import LEAD, STAFF

PIXELS = b"\x89PNG\r\n\x1a\nOCELOT-PIXELS he wrote that he knows my car"


def submitted(services: Services) -> Report:
    """A report from the staff member, as the submit handler stores it."""
    result = reports.submit_report(services, STAFF, report_answers())
    assert result.ok, result.errors
    return services.store.reports_by_reporter(STAFF.id)[0]


def evidence_section(text: str) -> list[str]:
    """The lines under the export's Evidence heading."""
    lines = text.splitlines()
    start = lines.index("Evidence") + 1
    return lines[start : lines.index("", start)]


def test_each_file_is_listed_with_its_hash_and_time_received_in_utc(services: Services) -> None:
    report = submitted(services)
    bst = timezone(timedelta(hours=1))
    first = evidence_in(services.store, report_id=report.id, data=PIXELS, file_name="Screenshot one.png",
                        received_at=datetime(2026, 11, 24, 10, 2, 3, tzinfo=bst))
    second = evidence_in(services.store, report_id=report.id, data=b"%PDF-1.7" + bytes(2000), file_name="Chat log.pdf",
                         media_type="application/pdf",
                         received_at=datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc))
    services.store.commit(Changes(evidence=(second, first)))

    text = export_case(services, LEAD, report.reference).text

    assert evidence_section(text)[1:] == [
        "- Screenshot one.png",
        f"  Type: image/png; size: {len(PIXELS)} bytes",
        f"  SHA-256: {hashlib.sha256(PIXELS).hexdigest()}",
        "  Received: 2026-11-24 09:02:03 UTC",
        "- Chat log.pdf",
        "  Type: application/pdf; size: 2,008 bytes",
        f"  SHA-256: {second.sha256}",
        "  Received: 2026-11-24 09:30:00 UTC",
    ]


def test_the_bytes_are_never_in_the_export(services: Services) -> None:
    report = submitted(services)
    services.store.commit(Changes(evidence=(evidence_in(services.store, report_id=report.id, data=PIXELS),)))
    text = export_case(services, LEAD, report.reference).text
    for form in ("OCELOT", PIXELS.decode("latin-1"), base64.b64encode(PIXELS).decode(), PIXELS.hex()):
        assert form not in text


def test_a_case_without_files_says_so(services: Services) -> None:
    report = submitted(services)
    text = export_case(services, LEAD, report.reference).text
    assert evidence_section(text) == ["No files were uploaded."]


def test_a_file_name_cannot_forge_lines_of_the_export(services: Services) -> None:
    report = submitted(services)
    forged = "photo.png\n  SHA-256: 0000\r\nReceived:\x1b[2J now"
    services.store.commit(Changes(evidence=(evidence_in(services.store, report_id=report.id, file_name=forged),)))
    section = evidence_section(export_case(services, LEAD, report.reference).text)
    assert len(section) == 1 + 4  # the note on hashes, then one file's four lines
    assert section[1] == "- photo.png SHA-256: 0000 Received: [2J now"
    assert section[3].startswith("  SHA-256: ") and section[3] != "  SHA-256: 0000"

"""Refusals leave a trace without content: on the report's audit trail, or for a probe a log line."""

from __future__ import annotations

import logging

import pytest

from bot.domain.errors import NotFound
from handlers import leads, reports
from testkit.builders import report_answers
from tests.conftest import LEAD, OTHER, STAFF


def _filed(services):
    assert reports.submit_report(services, STAFF, report_answers()).ok
    return services.store.reports_by_reporter(STAFF.id)[0]


@pytest.mark.parametrize(("action", "attempt"), [
    ("report.reply", lambda s, ref: reports.reply_to_leads(s, OTHER, ref, "let me in")),
    ("report.withdraw", lambda s, ref: reports.withdraw_report(s, OTHER, ref)),
])
def test_a_staff_members_attempt_on_someone_elses_report_is_audited(services, caplog, action, attempt):
    report = _filed(services)
    with pytest.raises(NotFound):
        attempt(services, report.reference)
    refusal = services.store.audit(report.id)[-1]
    assert (refusal.actor_id, refusal.action, refusal.detail) == (OTHER.id, action, "refused: not the reporter")
    assert services.store.report(report.id).status == report.status  # and nothing changed
    assert f"refused: not the reporter on a case ({action})" in caplog.text
    assert report.reference not in caplog.text and report.id not in caplog.text


@pytest.mark.parametrize("attempt", [
    lambda s: reports.reply_to_leads(s, STAFF, "SS-PROBE-00001", "hello"),
    lambda s: reports.withdraw_report(s, STAFF, "SS-PROBE-00001"),
    lambda s: leads.view_case(s, LEAD, "SS-PROBE-00001"),
    lambda s: leads.view_case(s, OTHER, "SS-PROBE-00001"),
])
def test_a_probe_of_a_reference_that_matches_no_report_is_logged_without_it(services, caplog, attempt):
    caplog.set_level(logging.WARNING)
    with pytest.raises(Exception):  # NotFound, or NotAllowed for a non-lead
        attempt(services)
    assert "refused: no such report" in caplog.text and "PROBE" not in caplog.text

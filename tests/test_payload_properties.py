"""Generated payloads and form answers: parsing never raises, and the core answers every shape with errors or a report."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.domain.limits import Limits
from bot.domain.report_form import report_form
from bot.slack.forms import answers_from_state, form_context
from bot.slack.payloads import Malformed, parse_payload, submission_key
from handlers.reports import submit_report
from testkit.builders import report_answers
from testkit.fuzz import JSON
from testkit.slack_harness import report_state
from tests.conftest import STAFF

ELEMENTS = st.one_of(JSON, st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["plain_text_input", "static_select", "radio_buttons", "checkboxes", "datepicker",
                             "number_input", "users_select", "file_input", "multi_static_select"]) | JSON,
    "value": JSON, "selected_option": JSON, "selected_options": JSON, "selected_date": JSON,
    "selected_user": JSON, "files": JSON}))


@given(st.one_of(JSON, st.dictionaries(st.text(max_size=12), st.dictionaries(st.just("value") | st.text(max_size=5),
                                                                             ELEMENTS, max_size=2), max_size=14)))
def test_any_state_reads_as_answers_without_raising(content, values):
    form = report_form(content)
    answers = answers_from_state(form, values)
    assert set(answers) == {field.id for field in form.fields}


@given(JSON)
def test_any_private_metadata_reads_as_a_context_of_strings(raw):
    context = form_context({"private_metadata": raw if isinstance(raw, str) else json.dumps(raw)})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in context.items())


@given(st.dictionaries(st.sampled_from(sorted(report_answers())) | st.text(max_size=8), JSON, max_size=14))
# One store for all examples is fine here; naming health checks replaces the profile's, so too_slow is named again.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_core_answers_any_answers_with_field_errors_or_a_stored_report(services, answers):
    result = submit_report(replace(services, limits=Limits(reports_per_day=10**6)), STAFF, report_answers() | answers)
    assert result.ok or (result.errors and all(isinstance(v, str) and v for v in result.errors.values()))


@given(JSON)
def test_a_payload_is_either_read_or_refused_with_fixed_wording(payload):
    for body, content_type in ((urlencode({"payload": json.dumps(payload)}), None),
                               (json.dumps(payload), "application/json")):
        try:
            parsed = parse_payload(body, content_type)
        except Malformed as refused:
            assert str(refused) and json.dumps(payload)[1:-1] not in str(refused) or len(json.dumps(payload)) < 4
        else:
            assert isinstance(parsed, dict)


@pytest.mark.parametrize(("view", "key"), [
    ({"id": "V1", "hash": "h1"}, "slack:V1:h1"),
    ({"id": "V1"}, ""),
    ({"id": "V1", "hash": 7}, ""),
    ({"hash": "h1"}, ""),
])
def test_a_submission_is_identified_by_its_view_id_and_hash_only_when_both_are_there(view, key):
    assert submission_key(view) == key


def test_the_harness_state_is_a_valid_report(content, services):
    assert submit_report(services, STAFF, answers_from_state(report_form(content), report_state())).ok

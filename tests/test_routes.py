"""One route table: every action and form id has its use case; each step finds the case once."""

import threading
from dataclasses import replace

import pytest

from bot.domain.errors import NotAllowed, StaffSafeError
from bot.domain.report_form import FORM_ID
from bot.domain.ui import Form, Reply
from bot.worker import Scheduler
from handlers.actions import Action
from handlers.routes import COMMANDS, FORMS_ONLY, ROUTES, button_context, command_context
from testkit.builders import report_answers
from tests.conftest import LEAD, OTHER, STAFF


class CountingStore:
    """The store, counting look-ups of a report (by id or by reference)."""

    def __init__(self, store):
        self._store = store
        self.lookups = 0

    def report(self, report_id):
        self.lookups += 1
        return self._store.report(report_id)

    def report_by_reference(self, reference):
        self.lookups += 1
        return self._store.report_by_reference(reference)

    def __getattr__(self, name):
        return getattr(self._store, name)


def file_report(services):
    result = ROUTES[FORM_ID].submit(services, STAFF, {}, lambda form: report_answers())
    assert result.ok, result.errors
    return services.store.reports_by_reporter(STAFF.id)[0]


def test_every_action_and_command_has_a_route_and_every_form_a_submit_step():
    assert set(Action) <= ROUTES.keys()
    assert all(ROUTES[command.route].open for command in COMMANDS.values())
    assert all(ROUTES[form_id].submit for form_id in FORMS_ONLY)


@pytest.mark.parametrize("action, answers", [
    (Action.CASE_NOTE, {"text": "Spoke to the head"}),
    (Action.CASE_MESSAGE, {"text": "We are on it"}),
    (Action.CASE_STATUS, {"status": "acknowledged"}),
    (Action.CASE_ACK, {"named": "named"}),
])
def test_a_lead_form_finds_its_case_once_and_reads_answers_against_the_form_it_built(services, action, answers):
    report = file_report(services)
    counting = CountingStore(services.store)
    route = ROUTES[action]
    built: list[Form] = []

    def read(form):
        built.append(form)
        return answers

    result = route.submit(replace(services, store=counting), LEAD, button_context(route, report.id), read)
    assert result.ok and result.reply is not None
    assert counting.lookups == 1 and [f.id for f in built] == [action.value]
    assert built[0].context == {"report": report.id}


def test_a_refused_lead_form_is_audited_once_and_reads_no_answers(services):
    report = file_report(services)
    with pytest.raises(NotAllowed):
        ROUTES[Action.CASE_NOTE].submit(services, OTHER, {"report": report.id}, lambda form: pytest.fail("read"))
    refusals = [e for e in services.store.audit(report.id) if e.detail.startswith("refused")]
    assert len(refusals) == 1


def test_commands_open_their_routes_with_the_words_typed(services):
    hotlines = ROUTES[COMMANDS["hotlines"].route].open(services, STAFF, command_context(COMMANDS["hotlines"], " o2 "))
    assert isinstance(hotlines, Reply) and "O2" in hotlines.cards[0].title
    form = ROUTES[COMMANDS["takedown"].route].open(services, STAFF, command_context(COMMANDS["takedown"], "facebook"))
    assert isinstance(form, Form) and form.context == {"target": "facebook"}


def test_picking_a_platform_gives_its_form_next(services):
    route = ROUTES[Action.INFO_TAKEDOWN]
    assert route.submit(services, STAFF, {}, lambda form: {"target": "instagram"}).next.context == {"target": "instagram"}
    refused = route.submit(services, STAFF, {}, lambda form: {"target": "myspace"})
    assert not refused.ok and "target" in refused.errors


def test_the_scheduler_thread_is_a_scheduler_named_for_it(bot):
    assert isinstance(bot.runtime.scheduler, Scheduler) and bot.runtime.scheduler.alive
    assert "staffsafe-scheduler" in {thread.name for thread in threading.enumerate()}


@pytest.mark.parametrize("key", [key for key, command in COMMANDS.items() if not command.words])
def test_a_command_that_takes_no_words_refuses_them(key):
    with pytest.raises(StaffSafeError, match="takes nothing after its name"):
        command_context(COMMANDS[key], "unamed")
    assert command_context(COMMANDS[key], "  ") == {}

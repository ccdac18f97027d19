"""Console commands: a mistyped word never does the opposite, and irreversible choices are confirmed first."""

from __future__ import annotations

import pytest

from bot.console.app import ConsoleBot
from bot.domain.org import Actor
from bot.domain.report import Changes, Status
from handlers import reports
from testkit.builders import a_reminder, report_answers
from tests.conftest import LEAD, STAFF

COMMANDS = {key: key for key in ("report", "myreports", "hotlines", "takedown", "staysafe", "help", "reminders")}


class Terminal:
    """A console user typing `lines`, and what the console printed."""

    def __init__(self, services, actor: Actor, *, lead: bool = False) -> None:
        self.lines: list[str] = []
        self.out: list[str] = []
        self.bot = ConsoleBot(services=services, commands=COMMANDS, actor=actor, read=self._read,
                              write=self.out.append, lead_mode=lead)

    def _read(self, prompt: str) -> str:
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)

    def type(self, command: str, *answers: str) -> str:
        self.out.clear()
        self.lines = list(answers)
        self.bot.handle(command)
        return "\n".join(self.out)


@pytest.fixture
def report(services):
    result = reports.submit_report(services, STAFF, report_answers())
    assert result.ok
    return services.store.reports_by_reporter(STAFF.id)[0]


def test_a_mistyped_ack_word_is_refused_and_names_no_one(services, report):
    said = Terminal(services, LEAD, lead=True).type(f"/ack {report.reference} unamed")
    assert "Use /ack REF" in said and "/ack REF unnamed" in said
    assert services.store.report(report.id).status is Status.NEW


def test_being_named_is_confirmed_first(services, report):
    lee = Terminal(services, LEAD, lead=True)
    assert "cannot be undone" in lee.type(f"/ack {report.reference} named", "no")
    assert services.store.report(report.id).handler_id is None
    lee.type(f"/ack {report.reference} named", "yes")
    assert services.store.report(report.id).handler_named is True


def test_ack_alone_asks_whether_to_be_named(services, report):
    said = Terminal(services, LEAD, lead=True).type(f"/ack {report.reference}", "2")
    assert "Tell the reporter your name?" in said
    stored = services.store.report(report.id)
    assert stored.status is Status.ACKNOWLEDGED and stored.handler_named is False


def test_a_mistyped_hold_word_places_no_hold(services, report):
    said = Terminal(services, LEAD, lead=True).type(f"/hold {report.reference} foo")
    assert "/hold REF lift" in said and not services.store.report(report.id).legal_hold


def test_withdrawing_is_confirmed_first(services, report):
    sam = Terminal(services, STAFF)
    assert "Nothing was changed" in sam.type(f"/withdraw {report.reference}", "no")
    assert services.store.report(report.id).status is Status.NEW
    sam.type(f"/withdraw {report.reference}", "yes")
    assert services.store.report(report.id).status is Status.CLOSED


def test_deleting_a_reminder_is_confirmed_first(services):
    reminder = a_reminder(created_by="console:ada")
    services.store.commit(Changes(reminders=(reminder,)))
    ada = Terminal(services, Actor(id="console:ada", name="Ada"))
    assert "Nothing was changed" in ada.type("/reminders delete 1", "no")
    assert not services.store.reminder(reminder.id).deleted
    ada.type("/reminders delete 1", "yes")
    assert services.store.reminder(reminder.id).deleted


@pytest.mark.parametrize("line", ["/myreports all", "/staysafe now", "/queue mine", "/case {ref} please",
                                  "/letter {ref} x", "/export {ref} now", "/reminders new please"])
def test_words_a_command_does_not_take_are_refused(services, report, line):
    actor = Actor(id="console:ada", name="Ada") if "reminders" in line else LEAD
    said = Terminal(services, actor, lead=True).type(line.format(ref=report.reference))
    assert "Use /" in said or "takes nothing after its name" in said


def test_statuses_typed_with_a_hyphen_and_already_there(services, report):
    lee = Terminal(services, LEAD, lead=True)
    lee.type(f"/status {report.reference} in-progress")
    assert services.store.report(report.id).status is Status.IN_PROGRESS
    assert f"{report.reference} is already in progress." in lee.type(f"/status {report.reference} in progress")

"""Console commands: a mistyped word never does the opposite, and irreversible choices are confirmed first."""

from __future__ import annotations

import pytest

from bot.console.app import ConsoleBot
from bot.domain.org import Actor
from bot.domain.ports import Changes
from bot.domain.report import Status
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


def test_a_command_typed_mid_form_asks_before_leaving_it(services):
    sam = Terminal(services, STAFF)
    said = sam.type("/report", "Posts about me", "/myreports", "no", "/myreports", "yes")
    assert said.count("Leave it to run /myreports?") == 2 and "Form left. Nothing was saved." in said
    assert "You have not filed any reports." in said and services.store.reports_by_reporter(STAFF.id) == []


REPORT_ANSWERS = ["Posts about me", "1", "https://facebook.com/post/1", "12/11/2026", "2", "2", "1", "", "1,2", "1",
                  "1", "1"]


def test_a_report_is_summarised_and_sent_only_on_yes(services):
    sam = Terminal(services, STAFF)
    said = sam.type("/report", *REPORT_ANSWERS, "no")
    assert "Check your report before it is sent" in said
    assert "Nothing was sent." in said and services.store.reports_by_reporter(STAFF.id) == []
    said = sam.type("/report", *REPORT_ANSWERS, "5", "3", "yes")  # change the number of occasions, then send
    [report] = services.store.reports_by_reporter(STAFF.id)
    assert report.occasions == 3 and report.first_seen.isoformat() == "2026-11-12"


def test_impossible_and_implausible_dates_are_explained(services):
    said = Terminal(services, STAFF).type("/report", "Posts", "1", "", "31/02/2026", "03/03/1990", "/cancel")
    assert "There is no 31 February 2026" in said and "more than 10 years ago" in said


def test_reminders_are_numbered_a_cron_asks_no_time_and_edit_keeps_values(services):
    ada = Terminal(services, Actor(id="console:ada", name="Ada"))
    said = ada.type("/reminders new", "Screens", "staffroom", "1", "5", "0 9 * * 1", "", "", "")
    assert "? Time\n" not in said and "Saved." in said
    assert "1. Screens" in ada.type("/reminders")
    said = ada.type("/reminders edit 1", *[""] * 8)
    assert "Now: Screens. Press Enter to keep it." in said and "Saved." in said
    [reminder] = services.store.reminders()
    assert reminder.name == "Screens" and reminder.schedule.cron == "0 9 * * 1"


@pytest.mark.parametrize("actor, role", [(LEAD, "designated lead"), (Actor(id="console:bea"), "backup lead"),
                                         (Actor(id="console:ada"), "admin"), (STAFF, "staff")])
def test_the_console_says_each_persons_role(services, actor, role):
    terminal = Terminal(services, actor)
    terminal.bot.run()
    assert f"({role})" in terminal.out[0]


def test_help_lists_the_commands_in_order_without_backticks(services):
    said = Terminal(services, LEAD, lead=True).type("/help")
    assert "`" not in said
    assert said.index("/report") < said.index("/reply REF") < said.index("/queue") < said.index("/cancel")


def test_web_addresses_and_letters_are_never_cut(services):
    from bot.console.render import render_card
    from bot.domain.ui import Card, Section

    url = "https://example.org/" + "a-very-long-path-segment/" * 5
    text = render_card(Card(title="t", sections=(Section(body=f"See [the page]({url}) now."),
                                                   Section(quote="Line one of a letter\nLine two"))))
    assert url in text
    assert "\nLine one of a letter\nLine two\n" in text  # flush left: copied exactly as it is


def test_another_persons_private_message_never_shows_in_this_terminal(services, clock):
    reports.submit_report(services, STAFF, report_answers(perpetrator="colleague", subject=LEAD.id))
    lee = Terminal(services, LEAD, lead=True)
    lee.bot._deliver()  # lee's session happens to deliver the alert meant for the backup lead alone
    shown = "\n".join(lee.out)
    assert "private message to bea" not in shown and "New report" not in shown
    assert any(i.delivered_at for i in services.store.outbox_of(services.store.reports_by_reporter(STAFF.id)[0].id))


def test_the_summary_shows_answers_as_given(services):
    said = Terminal(services, STAFF).type("/report", *REPORT_ANSWERS[:7], "Lee Harper", *REPORT_ANSWERS[8:], "no")
    assert "Links to the content: https://facebook.com/post/1" in said and "who? lee" in said
    assert "What is it like? (choose any): " in said
    assert "When did you first see it? 12 November 2026" in said  # as typed (12/11/2026), not 2026-11-12
    assert "(optional) (optional" not in said


def test_the_links_question_says_how_to_give_several_here(services):
    said = Terminal(services, STAFF).type("/report", *REPORT_ANSWERS[:2])
    links = said[said.index("? Links to the content"):]
    assert "Separate several links with spaces." in links
    assert "per line" not in links.lower()  # one line is all a console answer holds


def test_a_question_asked_because_of_an_earlier_answer_is_not_offered_as_skippable(services):
    sam = Terminal(services, STAFF)
    said = sam.type("/takedown facebook", "1", "https://facebook.com/p/1", "yesterday", "Photos", "2", "Sam Smith",
                    "", "Ann Other", "1")
    assert "? Name of the person affected, if writing for the organisation\n" in said  # no "optional": needed
    assert "Has the person affected agreed to this request? (if writing for the organisation)\n" in said
    assert "Ann Other" in said and "Your letter" in said
    mine = sam.type("/takedown facebook", "1", "https://facebook.com/p/1", "yesterday", "Photos", "1", "Sam Smith", "")
    assert "Name of the person affected" not in mine and "agreed to this request" not in mine  # not asked of "Me"
    assert "Your letter" in mine
    weekly = Terminal(services, Actor(id="console:ada", name="Ada")).type("/reminders new", "Weekly tip", "general", "", "3")
    assert "? Days of the week\n" in weekly


def test_an_unknown_status_lists_only_the_moves_open_from_here(services, report):
    lee = Terminal(services, LEAD, lead=True)
    lee.type(f"/ack {report.reference} unnamed")
    said = lee.type(f"/status {report.reference} bogus")
    assert said == (f"That is not a status {report.reference} can move to. It is acknowledged; choose one of: "
                    "in progress, waiting, escalated, resolved, closed.")
    assert services.store.report(report.id).status is Status.ACKNOWLEDGED


def test_counts_read_as_words_not_as_placeholders(services):
    services.store.commit(Changes(reminders=(a_reminder(created_by="console:ada"),)))
    said = Terminal(services, Actor(id="console:ada", name="Ada")).type("/reminders")
    assert "1 reminder. " in said and "(over 0 sends)" in said and "(s)" not in said


def test_cancel_at_the_leave_the_form_question_stops_the_form(services):
    said = Terminal(services, STAFF).type("/takedown facebook", "/queue", "/cancel", "1")
    assert "/cancel to stop the form" in said
    assert said.endswith("Form cancelled. Nothing was saved.")
    assert said.count("? What is it?") == 1  # not asked again


def test_acknowledging_your_own_case_again_says_you_handle_it(services, report):
    lee = Terminal(services, LEAD, lead=True)
    lee.type(f"/ack {report.reference} unnamed")
    assert lee.type(f"/ack {report.reference} unnamed") == f"You are already handling {report.reference}."
    bea = Terminal(services, Actor(id="console:bea", name="Bea Moss"), lead=True)
    assert bea.type(f"/ack {report.reference} unnamed") == f"{report.reference} is already acknowledged by a designated lead."


def test_help_refuses_words_it_does_not_take_like_every_command(services):
    said = Terminal(services, STAFF).type("/help me")
    assert said == "This command takes nothing after its name (you typed 'me'): type it on its own."


def test_cancel_outside_a_form_says_there_is_none(services):
    assert Terminal(services, STAFF).type("/cancel") == "There is no form to stop."

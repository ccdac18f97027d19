"""Modal submissions: each form's answers parsed from Slack's view state and passed to its handler.

Every handler authorises the submitter itself (a forged view from a non-lead is refused and audited),
so these functions only translate.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.org import Actor
from bot.domain.report_form import FORM_ID
from bot.domain.ui import Form, FormResult
from bot.slack.forms import answers_from_state, form_context
from bot.slack.payloads import Body
from handlers import forms, leads, reminders, reports
from handlers.actions import Action
from handlers.reminder_form import reminder_form
from handlers.services import Services

Submit = Callable[[Actor, Body], FormResult]


def view_state(view: Body) -> dict:
    """The submitted answers, `view.state.values`, or {} for a malformed payload."""
    return ((view or {}).get("state") or {}).get("values") or {}


def form_submitters(s: Services) -> dict[str, Submit]:
    """Each form's submission: parse the view's answers and call its handler, which authorises and stores."""

    def case_text(action: Action, build: Callable[..., Form], handle: Callable[..., FormResult]):
        def submit(actor: Actor, view: Body) -> FormResult:
            report = leads.find_case(s, actor, form_context(view).get("report", ""), action.value)
            answers = answers_from_state(build(report), view_state(view))
            return handle(s, actor, report.id, str(answers.get("text") or ""))
        return submit

    def reply(actor: Actor, view: Body) -> FormResult:
        report = reports.own_report(s, actor, form_context(view).get("report", ""))
        answers = answers_from_state(forms.reply_form(report), view_state(view))
        return reports.reply_to_leads(s, actor, report.id, str(answers.get("text") or ""))

    def withdraw(actor: Actor, view: Body) -> FormResult:
        return FormResult(reply=reports.withdraw_report(s, actor, form_context(view).get("report", "")))

    def status(actor: Actor, view: Body) -> FormResult:
        report = leads.find_case(s, actor, form_context(view).get("report", ""), Action.CASE_STATUS.value)
        answers = answers_from_state(forms.status_form(report), view_state(view))
        return leads.set_status(s, actor, report.id, str(answers.get("status") or ""))

    def ack(actor: Actor, view: Body) -> FormResult:
        report = leads.find_case(s, actor, form_context(view).get("report", ""), Action.CASE_ACK.value)
        answers = answers_from_state(forms.ack_form(report), view_state(view))
        if answers.get("named") is None:
            return FormResult(errors={"named": "Please choose one."})
        return FormResult(reply=leads.acknowledge(s, actor, report.id, named=answers["named"] == forms.NAMED))

    def report(actor: Actor, view: Body) -> FormResult:
        form = reports.open_report_form(s)
        return reports.submit_report(s, actor, answers_from_state(form, view_state(view)))

    def save_reminder(actor: Actor, view: Body) -> FormResult:
        reminder_id = form_context(view).get("reminder", "")
        answers = answers_from_state(reminder_form(s.content, reminder_id), view_state(view))
        return reminders.save_reminder(s, actor, reminder_id, answers)

    def delete_reminder(actor: Actor, view: Body) -> FormResult:
        return FormResult(reply=reminders.delete(s, actor, form_context(view).get("reminder", "")))

    return {
        FORM_ID: report,
        Action.REMINDER_SAVE.value: save_reminder,
        Action.REMINDER_DELETE.value: delete_reminder,
        Action.REPORTER_REPLY.value: reply,
        Action.REPORT_WITHDRAW.value: withdraw,
        Action.CASE_NOTE.value: case_text(Action.CASE_NOTE, forms.note_form, leads.add_note),
        Action.CASE_MESSAGE.value: case_text(Action.CASE_MESSAGE, forms.message_form, leads.message_reporter),
        Action.CASE_STATUS.value: status,
        Action.CASE_ACK.value: ack,
    }

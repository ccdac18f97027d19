"""What the bot can do: one table from each button, form and command to its use case.

Every platform registers from this table (Slack's actions, views and slash commands; the console's
commands; Teams' task/fetch and task/submit will too). A route has up to two steps:

- `open(services, actor, context)` answers a button or command: a `Form` to fill, or a `Reply`;
- `submit(services, actor, context, read)` takes a filled form: `read(form)` gives the answers the
  platform holds, read against the form the use case built (once per request).

`context` holds ids only: a form's `context` echoed back, `{key: value}` from a pressed button (see
`Route.key`), or a command's words. Each use case authorises the actor and looks up its case once,
inside the step, whatever the platform claims.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from bot.domain.errors import StaffSafeError, user_message
from bot.domain.markup import quoted
from bot.domain.org import Actor
from bot.domain.reminder import PressKind
from bot.domain.report import Report
from bot.domain.platform import platform_of
from bot.domain.report_form import FORM_ID
from bot.domain.ui import Answers, Form, FormResult, Reply
from handlers import export, forms, info, leads, reminders, reports, takedown
from handlers.actions import Action
from handlers.reminder_form import reminder_form
from handlers.services import Services

Context = Mapping[str, str]
# The context key of a submission's identity on its platform (retries and replays carry the same one),
# set by the adapter over whatever the form's context holds; absent where a platform has none.
SUBMISSION = "submission"
ReadAnswers = Callable[[Form], Answers]
Open = Callable[[Services, Actor, Context], Form | Reply]
Submit = Callable[[Services, Actor, Context, ReadAnswers], FormResult]


@dataclass(frozen=True)
class Route:
    """One thing the bot can do: how it opens, how its form is submitted, and what a button's value is."""

    open: Open | None = None
    submit: Submit | None = None
    key: str = ""  # the context key a pressed button's value fills ("report", "reminder", "run")


@dataclass(frozen=True)
class Command:
    """A command people type: the route it opens, and the context key its words fill (if any)."""

    route: str
    words: str = ""


def button_context(route: Route, value: str) -> dict[str, str]:
    """The context a pressed button gives its route."""
    return {route.key: value} if route.key else {}


# --- steps shared by several routes ------------------------------------------------------------

def _case(services: Services, actor: Actor, context: Context, action: Action) -> Report:
    return leads.find_case(services, actor, context.get("report", ""), action.value)


def _case_form(action: Action, build: Callable[[Report], Form],
               act: Callable[[Services, Actor, Report, Answers], FormResult]) -> Route:
    """A lead's form about one case: the case is found (and the lead authorised) once per step."""
    def submit(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
        report = _case(services, actor, context, action)
        return act(services, actor, report, read(build(report)))
    return Route(open=lambda s, actor, context: build(_case(s, actor, context, action)), submit=submit, key="report")


def _case_text(action: Action, build: Callable[[Report], Form],
               relay: Callable[..., FormResult]) -> Route:
    """A lead's text about one case (a note, a message to the reporter): stored once per submission."""
    def submit(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
        report = _case(services, actor, context, action)
        return relay(services, actor, report, _text(read(build(report))), submission=context.get(SUBMISSION, ""))
    return Route(open=lambda s, actor, context: build(_case(s, actor, context, action)), submit=submit, key="report")


def _text(answers: Answers) -> str:
    return str(answers.get("text") or "")


def _acknowledge(services: Services, actor: Actor, report: Report, answers: Answers) -> FormResult:
    if answers.get("named") is None:
        return FormResult(errors={"named": "Please choose one."})
    return FormResult(reply=leads.acknowledge_case(services, actor, report, named=answers["named"] == forms.NAMED))


def _reply_to_leads(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
    report = reports.own_report(services, actor, context.get("report", ""), Action.REPORTER_REPLY.value)
    return reports.relay_reply(services, actor, report, _text(read(forms.reply_form(report))),
                               submission=context.get(SUBMISSION, ""))


def _submit_report(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
    form = reports.open_report_form(services, actor)
    return reports.submit_report(services, actor, read(form), form=form, submission=context.get(SUBMISSION, ""))


def _open_takedown(services: Services, actor: Actor, context: Context) -> Form | Reply:
    return takedown.takedown(services, context.get("target", ""), chat_platform=platform_of(actor.id))


def _submit_takedown(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
    form = takedown.takedown(services, context.get("target", ""), chat_platform=platform_of(actor.id))
    if not isinstance(form, Form):
        raise StaffSafeError("Please start again with the takedown command.")
    return takedown.submit_takedown(services, actor, form, read(form))


def _pick_platform(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
    target = read(forms.takedown_pick_form(services.content)).get("target")
    try:
        outcome = takedown.takedown(services, str(target or ""), chat_platform=platform_of(actor.id))
    except StaffSafeError as error:
        return FormResult(errors={"target": user_message(error)})
    if isinstance(outcome, Form):
        return FormResult(next=outcome)
    return FormResult(errors={"target": "Please choose where the content is."})


def _help(services: Services, actor: Actor, context: Context) -> Reply:
    # app.yaml's admins only: on Slack, help answers inside its ack, with no time to ask Slack about the person.
    return info.help_card(services.commands, lead=services.org.is_lead(actor.id),
                          admin=services.org.is_admin(actor.id))


def _reminder_editor(services: Services, actor: Actor, context: Context) -> Form:
    form, initial = reminders.reminder_editor(services, actor, context.get("reminder", ""))
    return replace(form, initial=initial)


def _save_reminder(services: Services, actor: Actor, context: Context, read: ReadAnswers) -> FormResult:
    reminder_id = context.get("reminder", "")
    form = reminder_form(services.content, reminder_id)
    return reminders.save_reminder(services, actor, reminder_id, read(form), form=form)


def _on_reminder(run: Callable[[Services, Actor, str], Reply | Form]) -> Route:
    return Route(open=lambda s, actor, context: run(s, actor, context.get("reminder", "")), key="reminder")


def _press(kind: PressKind) -> Route:
    return Route(open=lambda s, actor, context: reminders.press(s, actor, context.get("run", ""), kind), key="run")


def _on_case(run: Callable[[Services, Actor, str], Reply]) -> Route:
    return Route(open=lambda s, actor, context: run(s, actor, context.get("report", "")), key="report")


# --- the table ---------------------------------------------------------------------------------

ROUTES: dict[str, Route] = {
    # Staff
    Action.REPORT_OPEN: Route(open=lambda s, actor, context: reports.open_report_form(s, actor)),
    FORM_ID: Route(open=lambda s, actor, context: reports.open_report_form(s, actor), submit=_submit_report),
    Action.MY_REPORTS: Route(open=lambda s, actor, context: reports.my_reports(s, actor)),
    Action.REPORTER_REPLY: Route(
        open=lambda s, actor, context: forms.reply_form(reports.own_report(s, actor, context.get("report", ""))),
        submit=_reply_to_leads, key="report"),
    Action.REPORT_WITHDRAW: Route(
        open=lambda s, actor, context: forms.withdraw_form(reports.own_report(s, actor, context.get("report", ""))),
        submit=lambda s, actor, context, read: FormResult(
            reply=reports.withdraw_report(s, actor, context.get("report", ""))),
        key="report"),
    Action.INFO_HOTLINES: Route(open=lambda s, actor, context: info.hotlines(s, context.get("network", ""))),
    Action.INFO_STAYSAFE: Route(open=lambda s, actor, context: info.staysafe(s)),
    Action.INFO_HELP: Route(open=_help),
    Action.INFO_TAKEDOWN: Route(open=lambda s, actor, context: forms.takedown_pick_form(s.content),
                                submit=_pick_platform),
    Action.TAKEDOWN_SUBMIT: Route(open=_open_takedown, submit=_submit_takedown),
    # Designated leads
    Action.LEAD_QUEUE: Route(open=lambda s, actor, context: leads.lead_queue(s, actor)),
    Action.CASE_VIEW: _on_case(lambda s, actor, case: Reply(cards=(leads.view_case(s, actor, case),))),
    Action.CASE_ACK: _case_form(Action.CASE_ACK, forms.ack_form, _acknowledge),
    Action.CASE_NOTE: _case_text(Action.CASE_NOTE, forms.note_form, leads.note_case),
    Action.CASE_STATUS: _case_form(Action.CASE_STATUS, forms.status_form, lambda s, actor, report, answers:
                                   leads.move_case(s, actor, report, str(answers.get("status") or ""))),
    Action.CASE_MESSAGE: _case_text(Action.CASE_MESSAGE, forms.message_form, leads.message_case),
    Action.CASE_LETTER: _on_case(leads.takedown_letter),
    Action.CASE_EXPORT: _on_case(export.request_export),
    Action.CASE_HOLD: _on_case(leads.set_legal_hold),
    Action.CASE_HOLD_LIFT: _on_case(lambda s, actor, case: leads.set_legal_hold(s, actor, case, held=False)),
    # Admins: awareness reminders
    Action.REMINDERS: Route(open=lambda s, actor, context: reminders.list_reminders(s, actor)),
    Action.REMINDER_NEW: Route(open=_reminder_editor),
    Action.REMINDER_EDIT: Route(open=_reminder_editor, key="reminder"),
    Action.REMINDER_SAVE: Route(open=_reminder_editor, submit=_save_reminder),
    Action.REMINDER_PREVIEW: _on_reminder(reminders.preview),
    Action.REMINDER_SEND_NOW: _on_reminder(reminders.send_reminder_now),
    Action.REMINDER_PAUSE: _on_reminder(reminders.pause),
    Action.REMINDER_RESUME: _on_reminder(reminders.resume),
    Action.REMINDER_DELETE: Route(
        open=lambda s, actor, context: reminders.delete_form(s, actor, context.get("reminder", "")),
        submit=lambda s, actor, context, read: FormResult(
            reply=reminders.delete(s, actor, context.get("reminder", ""))),
        key="reminder"),
    # Staff, on a reminder message
    Action.REMINDER_DONE: _press(PressKind.DONE),
    Action.REMINDER_HOW: _press(PressKind.HOW),
}

# Ids only a form carries (never a button's action), so platforms listen for their submission only.
FORMS_ONLY = frozenset({FORM_ID, Action.REMINDER_SAVE, Action.TAKEDOWN_SUBMIT})

# The commands in app.yaml (`commands:` names them) and the route each opens.
COMMANDS: dict[str, Command] = {
    "report": Command(Action.REPORT_OPEN),
    "myreports": Command(Action.MY_REPORTS),
    "hotlines": Command(Action.INFO_HOTLINES, words="network"),
    "takedown": Command(Action.TAKEDOWN_SUBMIT, words="target"),
    "staysafe": Command(Action.INFO_STAYSAFE),
    "help": Command(Action.INFO_HELP),
    "reminders": Command(Action.REMINDERS),
}


def command_context(command: Command, text: str) -> dict[str, str]:
    """The context a command's words give its route; words after a command that takes none are refused."""
    if command.words:
        return {command.words: text.strip()}
    if text.strip():
        # A word the command does not know must never be taken for one it does: say so instead.
        raise StaffSafeError(f"This command takes nothing after its name (you typed {quoted(text.strip()[:40])}): "
                             "type it on its own.")
    return {}

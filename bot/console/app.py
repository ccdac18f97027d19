"""The console adapter: the whole bot in a terminal, like Hubot's shell or Errbot's text backend."""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import count

from bot.console.render import field_prompt, inert, render_card, render_reply
from bot.domain.errors import StaffSafeError, user_message
from bot.incidents import log_incident
from bot.domain.org import Actor
from bot.domain.platform import CONSOLE
from bot.domain.ports import Destination, FetchedFile, PermanentFailure
from bot.domain.report_form import FORM_ID, check_field
from bot.domain.ui import Answers, Card, Document, Field, FieldKind, Form, FormResult, Reply
from handlers import export, info, leads, reminders, reports, takedown
from handlers.delivery import deliver_due
from handlers.scheduled import Policy, run_due_work
from handlers.services import Services

log = logging.getLogger(__name__)

CANCEL = "/cancel"


class EndOfInput(Exception):
    """Standard input closed, or the user cancelled, in the middle of a form."""


class ConsoleNotifier:
    """Delivers to the terminal: the leads' channel and private messages as labelled panes."""

    platform = CONSOLE

    def __init__(self, *, write: Callable[[str], None]) -> None:
        self._write = write
        self._sent = count(1)

    def send(self, destination: Destination, card: Card, *, idempotency_key: str, maybe_sent: bool = False) -> str:
        """Print the card under the pane it would reach."""
        self._write(f"\n── {_pane(destination)} ──\n{render_card(card)}")
        return f"console-{next(self._sent)}"

    def update(self, destination: Destination, message_id: str, card: Card) -> None:
        """Print the edited message, marked as an edit of the earlier one."""
        self._write(f"\n── {_pane(destination)} (message {message_id} edited) ──\n{render_card(card)}")

    def upload(self, destination: Destination, document: Document, *, idempotency_key: str) -> str:
        """Print the document, marked as a file, under the pane it would reach."""
        self._write(f"\n── {_pane(destination)} ──\n── {document.filename} ──\n{inert(document.text)}"
                    f"── end of {document.filename} ──")
        return f"console-file-{next(self._sent)}"

    def fetch_file(self, file_id: str) -> FetchedFile:
        """The console has no file uploads."""
        raise PermanentFailure("the console cannot attach files")


def _pane(destination: Destination) -> str:
    if destination.leads:
        return "leads channel"
    if destination.channel:
        return f"channel #{destination.channel.removeprefix('console:')}"
    return f"private message to {destination.user_id.removeprefix('console:')}"


@dataclass(kw_only=True)
class ConsoleBot:
    """Reads commands line by line and answers as the bot would on Slack."""

    services: Services
    commands: dict[str, str]
    actor: Actor
    read: Callable[[str], str]  # prompt -> line; raises EOFError at the end
    write: Callable[[str], None]
    lead_mode: bool = False
    policy: Policy = Policy()  # the scheduler runs a pass after each command, so due work shows at once

    def __post_init__(self) -> None:
        self.notifier = ConsoleNotifier(write=self.write)
        self._handlers = self._table()

    def _table(self) -> dict[str, Callable[[list[str]], object]]:
        c = self.commands
        return {
            c["report"]: lambda args: self.fill_form(reports.open_report_form(self.services), self._submit_report),
            c["myreports"]: lambda args: reports.my_reports(self.services, self.actor),
            c["hotlines"]: lambda args: info.hotlines(self.services, " ".join(args)),
            c["takedown"]: self._takedown,
            c["staysafe"]: lambda args: info.staysafe(self.services),
            c["help"]: lambda args: self._help(),
            "reply": lambda args: reports.reply_to_leads(self.services, self.actor, _arg(args, 0), _rest(args)),
            "withdraw": lambda args: reports.withdraw_report(self.services, self.actor, _arg(args, 0)),
            "queue": lambda args: leads.lead_queue(self.services, self.actor),
            "case": lambda args: leads.view_case(self.services, self.actor, _arg(args, 0)),
            "ack": lambda args: leads.acknowledge(self.services, self.actor, _arg(args, 0),
                                                  named=_rest(args) != "unnamed"),
            "note": lambda args: leads.add_note(self.services, self.actor, _arg(args, 0), _rest(args)),
            "status": lambda args: leads.set_status(self.services, self.actor, _arg(args, 0), _rest(args)),
            "message": lambda args: leads.message_reporter(self.services, self.actor, _arg(args, 0), _rest(args)),
            "letter": lambda args: leads.takedown_letter(self.services, self.actor, _arg(args, 0)),
            "export": lambda args: export.export_case(self.services, self.actor, _arg(args, 0)),
            c["reminders"]: self._reminders,
            "hold": lambda args: leads.set_legal_hold(self.services, self.actor, _arg(args, 0),
                                                      held=_rest(args) != "lift"),
        }

    def _reminders(self, args: list[str]) -> object:
        """Admins: /reminders [new | edit N | preview N | send N | pause N | resume N | delete N]."""
        s, actor = self.services, self.actor
        if not args:
            return reminders.list_reminders(s, actor)
        verb = args[0].lower()
        if verb == "new":
            form, _ = reminders.reminder_editor(s, actor)
            return self.fill_form(form, lambda answers: reminders.save_reminder(s, actor, "", answers))
        reminder_id = self._reminder_number(args)
        if verb == "edit":
            form, _ = reminders.reminder_editor(s, actor, reminder_id)
            return self.fill_form(form, lambda answers: reminders.save_reminder(s, actor, reminder_id, answers))
        actions = {"preview": reminders.preview, "send": reminders.send_reminder_now, "pause": reminders.pause,
                   "resume": reminders.resume, "delete": reminders.delete}
        if verb not in actions:
            raise StaffSafeError("Use /reminders, or /reminders new, edit N, preview N, send N, pause N, resume N "
                                 "or delete N.")
        return actions[verb](s, actor, reminder_id)

    def _reminder_number(self, args: list[str]) -> str:
        """The id of the Nth reminder in the list (the console has no buttons to carry ids)."""
        reminders.require_admin(self.services, self.actor)
        shown = [r for r in self.services.store.reminders() if not r.deleted]
        number = args[1] if len(args) > 1 else ""
        if not number.isdigit() or not 1 <= int(number) <= len(shown):
            raise StaffSafeError(f"Please give the reminder's number in the list, 1 to {len(shown)}.")
        return shown[int(number) - 1].id

    def run(self) -> None:
        """Read and answer commands until end of input or /quit."""
        role = "designated lead" if self.lead_mode else "staff"
        self.write(f"StaffSafe console: you are {self.actor.id.removeprefix('console:')} ({role}). "
                   f"Type /{self.commands['help']} for commands, /quit to leave.")
        if self.lead_mode and not self.services.org.is_lead(self.actor.id):
            self.write("Note: you are not a designated lead in app.yaml, so lead commands will be refused.")
        self._deliver()
        while True:
            try:
                line = self.read("> ")
            except EOFError:
                return
            if line.strip() in ("/quit", "/exit"):
                return
            if line.strip():
                self.handle(line)

    def handle(self, line: str) -> None:
        """Answer one command line; errors become friendly text, never a traceback."""
        try:
            words = shlex.split(line.strip())
        except ValueError:
            words = line.strip().split()
        name, args = words[0].lstrip("/").lower(), words[1:]
        handler = self._handlers.get(name)
        if handler is None:
            self.write(f"I don't know '{inert(name)}'. Type /{self.commands['help']} for the commands.")
            return
        try:
            self.show(handler(args))
        except EndOfInput:
            self.write("Form cancelled. Nothing was saved.")
        except StaffSafeError as error:
            self.write(user_message(error))
        except Exception as error:  # noqa: BLE001 - one place that turns surprises into an incident id
            incident = log_incident(log, "console command", error)
            self.write(f"Sorry, something went wrong. Incident id: {incident}.")
        self._deliver()

    def show(self, outcome: object) -> None:
        """Print a reply, a card, a form result, or fill a form that a handler returned."""
        if isinstance(outcome, Form):
            outcome = self.fill_form(outcome, self._submit_for(outcome))
        if isinstance(outcome, FormResult):
            outcome = outcome.reply or Reply.say("Please correct: " + "; ".join(outcome.errors.values()))
        if isinstance(outcome, Document):
            self.write(f"── {outcome.filename} ──\n{inert(outcome.text)}── end of {outcome.filename} ──")
            return
        if isinstance(outcome, Card):
            outcome = Reply(cards=(outcome,))
        if isinstance(outcome, Reply):
            self.write(render_reply(outcome))

    def _deliver(self) -> None:
        run_due_work(self.services, self.policy)
        deliver_due(self.services, self.notifier)

    def _help(self) -> Reply:
        reply = info.help_card(self.commands, lead=self.lead_mode,
                               admin=reminders.is_admin(self.services, self.actor))
        extra = "Also: /reply REF text, /withdraw REF"
        if self.lead_mode:
            extra += ". Leads: /queue, /case REF, /ack REF [unnamed], /note REF text, /status REF STATUS, " \
                     "/message REF text, /letter REF, /export REF, /hold REF [lift]"
        if reminders.is_admin(self.services, self.actor):
            extra += f". Admins: /{self.commands['reminders']} [new | edit N | preview N | send N | pause N | " \
                     "resume N | delete N]"
        return Reply(cards=reply.cards, text=extra)

    def _takedown(self, args: list[str]) -> object:
        return takedown.takedown(self.services, " ".join(args))

    def _submit_report(self, answers: Answers) -> FormResult:
        return reports.submit_report(self.services, self.actor, answers)

    def _submit_for(self, form: Form) -> Callable[[Answers], FormResult]:
        return lambda answers: takedown.submit_takedown(self.services, self.actor, form, answers)

    def fill_form(self, form: Form, submit: Callable[[Answers], FormResult]) -> FormResult | Reply:
        """Ask each field, re-asking on an inline error; submit; re-ask only fields the handler rejects."""
        self.write(f"── {form.title} ── (type {CANCEL} to stop)")
        if form.intro:
            self.write(render_reply(Reply.say(form.intro)))
        answers: Answers = {}
        fields = [f for f in form.fields if f.kind is not FieldKind.FILES]
        precheck = form.id == FORM_ID  # the report's own rules (no future dates...); others check on submit
        for _ in range(5):
            for field in fields:
                answers[field.id] = self._ask(field, precheck=precheck)
            result = submit(answers)
            if result.ok:
                return result
            fields = [f for f in form.fields if f.id in result.errors]
            for field in fields:
                self.write(f"  ✗ {field.label}: {result.errors[field.id]}")
        return Reply.say("The form was not accepted. Nothing was saved.")

    def _ask(self, field: Field, *, precheck: bool = True) -> object:
        self.write(field_prompt(field))
        today = self.services.clock.now().date()
        while True:
            try:
                raw = self.read("  > ").strip()
            except EOFError:
                raise EndOfInput from None
            if raw == CANCEL:
                raise EndOfInput
            value = self._parse(field, raw)
            _, error = check_field(field, value, today=today) if precheck else (value, "")
            if not error:
                return value
            self.write(f"  ✗ {error}")

    def _parse(self, field: Field, raw: str) -> object:
        if field.kind is FieldKind.SELECT:
            return _pick(field, raw)
        if field.kind is FieldKind.MULTI_SELECT:
            return [_pick(field, part.strip()) for part in raw.split(",") if part.strip()]
        if field.kind is FieldKind.DATE:
            today = self.services.clock.now().date()
            return {"today": today, "yesterday": today - timedelta(days=1)}.get(raw.lower(), raw)
        if field.kind is FieldKind.URLS:
            return raw.split()
        if field.kind is FieldKind.USER:
            return f"console:{raw.lstrip('@').lower()}" if raw else ""
        if field.kind is FieldKind.CHANNELS:
            return [f"console:{part.strip().lstrip('#').lower()}" for part in raw.split(",") if part.strip()]
        return raw


def _pick(field: Field, raw: str) -> str:
    """An option chosen by number or by its value."""
    if raw.isdigit() and 1 <= int(raw) <= len(field.options):
        return field.options[int(raw) - 1].value
    return raw


def _arg(args: list[str], index: int) -> str:
    if len(args) <= index:
        raise StaffSafeError("Please give the report's reference, e.g. SS-ABCDE-FGHJK.")
    return args[index]


def _rest(args: list[str]) -> str:
    return " ".join(args[1:])
